//! Reading, verifying, writing and removing entries.

use super::{stem, CacheError, DiskCache};
use crate::load::{CacheEvent, CacheEventKind, MissReason};
use clbake_core::cache_entry::{self, HEADER_LEN, MAX_META, MAX_PAYLOAD};
use clbake_core::Hash128;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Largest entry file read.
const MAX_FILE: u64 = HEADER_LEN as u64 + MAX_META as u64 + MAX_PAYLOAD;

/// Why an entry file could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// No such file.
    NotFound,
    /// Not a regular file (a directory, a FIFO ...): to be removed.
    NotRegular(String),
    /// Not owned by this user, writable by others, or a symbolic link: ignored.
    Untrusted(String),
    /// Larger than any valid entry: to be removed.
    TooLarge(u64),
    /// Another I/O error.
    Io(std::io::Error),
}

/// Reads an entry file without following symbolic links, without blocking on special
/// files, and only when this user may trust it.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ReadError> {
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    let mut f = match OpenOptions::new().read(true).custom_flags(flags).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::NotFound),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(ReadError::Untrusted("a symbolic link".into())),
        Err(e) => return Err(ReadError::Io(e)),
    };
    let meta = f.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        let what = if meta.is_dir() { "a directory" } else { "not a regular file" };
        return Err(ReadError::NotRegular(what.into()));
    }
    if let Some(reason) = super::dir::untrusted_reason(&meta) {
        return Err(ReadError::Untrusted(reason));
    }
    if meta.len() > MAX_FILE {
        return Err(ReadError::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.read_to_end(&mut bytes).map_err(ReadError::Io)?;
    Ok(bytes)
}

/// Removes a file or directory at `path` (never following a link).
pub(crate) fn remove_path(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A miss, and whether (why) the entry is to be removed.
struct Bad {
    reason: MissReason,
    remove: Option<String>,
}

impl DiskCache {
    /// Reads the entry of program `name` (key `key`) and returns its binary when it is
    /// trusted, intact and made for this device and program. A bad entry is removed (an
    /// event says so) and the miss says why.
    pub(crate) fn lookup(&self, name: &str, key: &Hash128, events: &mut Vec<CacheEvent>) -> Result<Vec<u8>, MissReason> {
        self.check(name, key).map_err(|bad| {
            if let Some(why) = &bad.remove {
                self.remove(name, &self.entry_path(name, key), why, CacheEventKind::Removed, events);
            }
            bad.reason
        })
    }

    /// [`lookup`](Self::lookup) without removing anything (used without the entry's lock).
    pub(crate) fn peek(&self, name: &str, key: &Hash128) -> Result<Vec<u8>, MissReason> {
        self.check(name, key).map_err(|bad| bad.reason)
    }

    fn check(&self, name: &str, key: &Hash128) -> Result<Vec<u8>, Bad> {
        let path = self.entry_path(name, key);
        let show = path.display();
        let keep = |reason| Bad { reason, remove: None };
        let corrupt = |why: String| Bad { reason: MissReason::Corrupt { detail: why.clone() }, remove: Some(why) };
        let bytes = match read_file(&path) {
            Ok(b) => b,
            Err(ReadError::NotFound) => return Err(keep(MissReason::NotCached)),
            Err(ReadError::Untrusted(why)) => return Err(keep(MissReason::Insecure { detail: format!("{show}: {why}") })),
            Err(ReadError::Io(e)) => return Err(keep(MissReason::Unavailable { detail: format!("cannot read {show}: {e}") })),
            Err(ReadError::NotRegular(what)) => return Err(corrupt(format!("{show} is {what}"))),
            Err(ReadError::TooLarge(n)) => return Err(corrupt(format!("{show} is {n} bytes, larger than any entry"))),
        };
        let entry = cache_entry::parse(&bytes).map_err(|e| corrupt(format!("{show}: {e}")))?;
        if entry.fingerprint != self.fingerprint {
            let diff = entry.fingerprint.diff(&self.fingerprint);
            return Err(Bad {
                reason: MissReason::FingerprintMismatch { diff },
                remove: Some(format!("{show} was built for another device")),
            });
        }
        if entry.program_key != *key || entry.name != name {
            let why = format!("{show} holds program `{}` key {}", entry.name, entry.program_key);
            return Err(Bad { reason: MissReason::Stale, remove: Some(why) });
        }
        // The entry's modification time is when it was last served: pruning by age keeps
        // what is used.
        let _ = File::open(&path).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        Ok(entry.payload.to_vec())
    }

    /// Removes the entry at `path`, recording `kind` (or a failure) in `events`.
    pub(crate) fn remove(&self, name: &str, path: &Path, why: &str, kind: CacheEventKind, events: &mut Vec<CacheEvent>) {
        let (kind, detail) = match remove_path(path) {
            Ok(()) => (kind, why.to_string()),
            Err(e) => (CacheEventKind::RemoveFailed, format!("{why}; cannot remove it: {e}")),
        };
        log::info!("{name}: cache entry {kind}: {detail}");
        events.push(CacheEvent { program: name.to_string(), kind, detail });
    }

    /// Stores `binary` as the entry of program `name` (key `key`), atomically (see
    /// [`clbake_core::atomic`]), then prunes the cache to its limits; returns the entry's
    /// path and what the prune removed (nothing when it could not run).
    pub(crate) fn store(&self, name: &str, key: &Hash128, binary: &[u8]) -> Result<(PathBuf, super::Pruned), CacheError> {
        let bytes = cache_entry::encode(name, &self.fingerprint, key, binary)?;
        let dst = self.dir.join(format!("{}.bin", stem(name, key)));
        clbake_core::atomic::write(&dst, &bytes, 0o600).map_err(|e| CacheError::Io { op: e.op, path: e.path, source: e.source })?;
        let pruned = match super::prune(&self.root, &self.limits) {
            Ok(p) => p,
            Err(e) => {
                log::warn!("disk cache not pruned: {e}");
                super::Pruned::default()
            }
        };
        if pruned.removed > 0 {
            log::info!("disk cache pruned: {pruned}");
        }
        Ok((dst, pruned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clbake_core::Fingerprint;
    use std::os::unix::fs::PermissionsExt;

    fn cache(root: &Path) -> DiskCache {
        DiskCache::open(root, &Fingerprint { device_name: "dev".into(), address_bits: 64, ..Default::default() }).unwrap()
    }

    #[test]
    fn stored_entry_is_found_and_bad_ones_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path());
        let key = Hash128::of(b"k");
        let mut ev = Vec::new();
        assert_eq!(c.lookup("p", &key, &mut ev), Err(MissReason::NotCached));
        let (path, _) = c.store("p", &key, b"binary").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(c.lookup("p", &key, &mut ev).unwrap(), b"binary");
        // Another key: stale, removed.
        let other = Hash128::of(b"other");
        fs::copy(&path, c.entry_path("p", &other)).unwrap();
        assert_eq!(c.lookup("p", &other, &mut ev), Err(MissReason::Stale));
        assert!(!c.entry_path("p", &other).exists());
        // Truncated: corrupt, removed.
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 1).unwrap();
        assert!(matches!(c.lookup("p", &key, &mut ev), Err(MissReason::Corrupt { .. })));
        assert!(!path.exists());
        // A directory in its place: removed.
        fs::create_dir_all(path.join("x")).unwrap();
        assert!(matches!(c.lookup("p", &key, &mut ev), Err(MissReason::Corrupt { .. })));
        assert!(!path.exists());
        assert_eq!(ev.iter().filter(|e| e.kind == CacheEventKind::Removed).count(), 3);
        assert!(fs::read_dir(c.device_dir()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().ends_with(".tmp")));
    }

    #[test]
    fn open_entries_and_links_are_ignored_not_read() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cache(tmp.path());
        let key = Hash128::of(b"k");
        let (path, _) = c.store("p", &key, b"binary").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(c.lookup("p", &key, &mut Vec::new()), Err(MissReason::Insecure { .. })));
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &path).unwrap();
        assert!(matches!(c.lookup("p", &key, &mut Vec::new()), Err(MissReason::Insecure { .. })));
        // A new store replaces the link itself.
        c.store("p", &key, b"binary").unwrap();
        assert_eq!(c.lookup("p", &key, &mut Vec::new()).unwrap(), b"binary");
    }

    /// EFBIG part-way through a write (RLIMIT_FSIZE) leaves nothing behind. The limit holds
    /// for a whole process, so the work runs in a child: this test binary, re-run with only
    /// `efbig_child`.
    #[test]
    fn efbig_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "cache::store::tests::efbig_child", "--ignored", "--nocapture", "--test-threads=1"])
            .env("CLBAKE_TEST_EFBIG_DIR", tmp.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("1 passed"), "{text}{}", String::from_utf8_lossy(&out.stderr));
        let left: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(left, ["small.bin"]);
    }

    #[test]
    #[ignore = "run by efbig_leaves_nothing_behind in a child process"]
    fn efbig_child() {
        let Some(dir) = std::env::var_os("CLBAKE_TEST_EFBIG_DIR").map(PathBuf::from) else { return };
        // SAFETY: plain libc calls; this process runs only this test.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit { rlim_cur: 10_000, rlim_max: 10_000 };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
        }
        let err = clbake_core::atomic::write(&dir.join("big.bin"), &[7u8; 50_000], 0o600).unwrap_err();
        assert!(err.to_string().contains("File too large"), "{err}");
        clbake_core::atomic::write(&dir.join("small.bin"), &[7u8; 5_000], 0o600).unwrap();
    }
}
