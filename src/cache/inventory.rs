//! What a cache directory holds, verified entry by entry (`clbake cache ls|verify`), and
//! clearing it (`clbake cache clear`).

use super::sentinel::{self, Kind};
use super::store::{read_file, remove_path, ReadError};
use super::{dir, stem, CacheError};
use clbake_core::cache_entry;
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};

/// Everything found in a cache directory.
#[derive(Debug, Serialize)]
pub struct Inventory {
    /// The cache directory.
    pub dir: PathBuf,
    /// Why the directory itself is not trusted, if it is not.
    pub problem: Option<String>,
    /// Every entry file, verified.
    pub entries: Vec<EntryStatus>,
    /// Lock files, sentinels, temporary and unknown files.
    pub other: Vec<OtherFile>,
}

/// One entry file and whether the loader would use it.
#[derive(Debug, Serialize)]
pub struct EntryStatus {
    /// The file.
    pub path: PathBuf,
    /// Program name stored in it, when readable.
    pub program: Option<String>,
    /// Device it was built for, when readable.
    pub device: Option<String>,
    /// File size.
    pub bytes: u64,
    /// Trusted, intact, and stored where its fingerprint and program key say.
    pub ok: bool,
    /// Why not.
    pub problem: Option<String>,
}

/// What a file that is not an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherKind {
    /// An advisory lock file.
    Lock,
    /// A crash sentinel.
    Sentinel,
    /// A quarantined embedded binary's marker.
    Quarantine,
    /// An entry being written, or left by a killed writer (never read).
    Temp,
    /// A record that a binary's known answers matched on this device.
    Checked,
    /// The marker of a device that loads one program at a time (after a crash during
    /// parallel loads).
    Serial,
    /// Not a file clbake writes.
    Unknown,
}

impl std::fmt::Display for OtherKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OtherKind::Lock => "lock",
            OtherKind::Sentinel => "crash sentinel",
            OtherKind::Quarantine => "quarantine marker",
            OtherKind::Temp => "temporary file",
            OtherKind::Checked => "known answers checked",
            OtherKind::Serial => "serial-load marker",
            OtherKind::Unknown => "unknown file",
        })
    }
}

/// A file that is not an entry.
#[derive(Debug, Serialize)]
pub struct OtherFile {
    /// The file.
    pub path: PathBuf,
    /// What it is.
    pub kind: OtherKind,
    /// For sentinels: whether their process is still alive.
    pub note: Option<String>,
}

impl Inventory {
    /// Number of entries the loader would not use, plus one if the directory is not trusted.
    pub fn problems(&self) -> usize {
        self.entries.iter().filter(|e| !e.ok).count() + usize::from(self.problem.is_some())
    }
}

/// Whether `name` is a device directory name (8 lower-case hex digits).
fn is_device_dir(name: &str) -> bool {
    name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn sorted(dir: &Path) -> Result<Vec<(String, PathBuf)>, CacheError> {
    let rd = fs::read_dir(dir).map_err(|source| CacheError::Io { op: "list", path: dir.to_path_buf(), source })?;
    let mut v: Vec<(String, PathBuf)> = rd.flatten().map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())).collect();
    v.sort();
    Ok(v)
}

/// Lists and verifies every entry under `root` (nothing is changed). A missing directory is
/// an empty inventory.
pub fn scan(root: &Path) -> Result<Inventory, CacheError> {
    let mut inv = Inventory { dir: root.to_path_buf(), problem: None, entries: Vec::new(), other: Vec::new() };
    match fs::metadata(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(inv),
        Err(source) => return Err(CacheError::Io { op: "stat", path: root.to_path_buf(), source }),
        Ok(m) => inv.problem = dir::untrusted_reason(&m),
    }
    for (name, path) in sorted(root)? {
        let meta = fs::symlink_metadata(&path).map_err(|source| CacheError::Io { op: "stat", path: path.clone(), source })?;
        if !meta.is_dir() || !is_device_dir(&name) {
            inv.other.push(OtherFile { path, kind: OtherKind::Unknown, note: None });
            continue;
        }
        let dir_problem = dir::untrusted_reason(&meta).map(|r| format!("its directory is not trusted: {r}"));
        for (file, fpath) in sorted(&path)? {
            let (kind, note) = match sentinel::classify(&file) {
                Kind::Entry(s) => {
                    inv.entries.push(verify(&fpath, &name, s, dir_problem.clone()));
                    continue;
                }
                Kind::Lock(_) => (OtherKind::Lock, None),
                Kind::Sentinel { pid, .. } => {
                    let alive = if sentinel::left_by_dead(&fpath, pid) { "dead: crash evidence" } else { "alive: loading now" };
                    (OtherKind::Sentinel, Some(format!("process {pid} {alive}")))
                }
                Kind::Quarantine(_) => (OtherKind::Quarantine, fs::read_to_string(&fpath).ok().map(|s| s.trim().to_string())),
                Kind::Temp { pid } => (OtherKind::Temp, Some(format!("written by process {pid}"))),
                Kind::Checked(_) => (OtherKind::Checked, None),
                Kind::Serial => (OtherKind::Serial, fs::read_to_string(&fpath).ok().map(|s| s.trim().to_string())),
                Kind::Unknown => (OtherKind::Unknown, None),
            };
            inv.other.push(OtherFile { path: fpath, kind, note });
        }
    }
    Ok(inv)
}

/// Verifies one entry file found in device directory `dir_name` under file stem `file_stem`.
fn verify(path: &Path, dir_name: &str, file_stem: &str, dir_problem: Option<String>) -> EntryStatus {
    let mut st = EntryStatus { path: path.to_path_buf(), program: None, device: None, bytes: 0, ok: false, problem: dir_problem };
    st.bytes = fs::symlink_metadata(path).map(|m| m.len()).unwrap_or(0);
    let bytes = match read_file(path) {
        Ok(b) => b,
        Err(e) => {
            let why = match e {
                ReadError::NotFound => "vanished while listing".to_string(),
                ReadError::NotRegular(w) | ReadError::Untrusted(w) => w,
                ReadError::TooLarge(n) => format!("{n} bytes, larger than any entry"),
                ReadError::Io(e) => e.to_string(),
            };
            st.problem.get_or_insert(why);
            return st;
        }
    };
    match cache_entry::parse(&bytes) {
        Err(e) => {
            st.problem.get_or_insert(e.to_string());
        }
        Ok(entry) => {
            st.program = Some(entry.name.to_string());
            st.device = Some(entry.fingerprint.describe());
            let want_stem = stem(entry.name, &entry.program_key);
            if entry.fingerprint_hash.short() != dir_name || want_stem != file_stem {
                st.problem.get_or_insert(format!("misplaced: belongs in {}/{want_stem}.bin", entry.fingerprint_hash.short()));
            }
        }
    }
    st.ok = st.problem.is_none();
    st
}

/// What [`clear`] removed.
#[derive(Debug, Serialize)]
pub struct Cleared {
    /// The cache directory.
    pub dir: PathBuf,
    /// Files and directories removed.
    pub removed: usize,
    /// Files left in place (not written by clbake).
    pub kept: Vec<PathBuf>,
}

/// Removes every entry, lock, sentinel, quarantine marker and temporary file under `root`,
/// and the device directories they leave empty. Files clbake does not write are kept.
pub fn clear(root: &Path) -> Result<Cleared, CacheError> {
    let mut out = Cleared { dir: root.to_path_buf(), removed: 0, kept: Vec::new() };
    if !root.exists() {
        return Ok(out);
    }
    for (name, path) in sorted(root)? {
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir || !is_device_dir(&name) {
            out.kept.push(path);
            continue;
        }
        for (file, fpath) in sorted(&path)? {
            if sentinel::classify(&file) == Kind::Unknown {
                out.kept.push(fpath);
                continue;
            }
            remove_path(&fpath).map_err(|source| CacheError::Io { op: "remove", path: fpath.clone(), source })?;
            out.removed += 1;
        }
        if fs::remove_dir(&path).is_ok() {
            out.removed += 1;
        }
    }
    Ok(out)
}
