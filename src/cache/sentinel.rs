//! Crash sentinels: a marker file written before a cached or embedded binary is handed to
//! the driver and removed right after, so that the next start can tell that a binary took
//! the previous process down with it.
//!
//! Names, in the cache's device directory:
//! - `<stem>.<source>.<pid>.sentinel` — process `<pid>` is loading the `<source>`
//!   (`embedded` or `cache`) binary of the program `<stem>` names, or compiling it from
//!   `source`. Found at start-up with `<pid>` no longer alive (or equal to ours, but not
//!   written by us: a reused pid), it is evidence of a crash.
//! - `all.parallel.<pid>.sentinel` — process `<pid>` is loading or compiling several
//!   programs at once. Found dead, it makes the device load one program at a time from then
//!   on (`serial.marker`): drivers that are not safe under concurrency (Oclgrind crashes on
//!   concurrent builds) then work, at the price of speed.
//! - `<stem>.embedded.quarantine` — an embedded binary crashed a process, or its known
//!   answer differed: it is skipped for this device from then on (the program is served from
//!   the cache instead). `clbake cache clear` removes it. Binaries load on several threads on
//!   CPU devices, so a crash leaves the sentinels of every binary in flight and all of them
//!   are quarantined: a few innocent programs are compiled once and served from the cache,
//!   rather than a bad binary getting a second chance to crash the process.
//! - `<stem>.checked` — the known answers of the binary whose checksum it holds were
//!   replayed on this device and matched: they are not replayed again.
//! - `<stem>.<pid>.<seq>.tmp` — a cache entry being written; left behind by a killed
//!   process, it is never read and is removed by the next start.
//!
//! Test hook: `CLBAKE_TEST_ABORT_AFTER_SENTINEL=embedded|cache|any` aborts the process right
//! after a sentinel of that source is written, as a driver crash would.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Which driver call a sentinel guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// Loading the embedded binary.
    Embedded,
    /// Loading the disk cache entry.
    Cache,
    /// Compiling from source.
    Compile,
    /// Several loads or compiles at once (stem `all`).
    Parallel,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Embedded => "embedded",
            Source::Cache => "cache",
            Source::Compile => "source",
            Source::Parallel => "parallel",
        }
    }

    fn parse(s: &str) -> Option<Source> {
        match s {
            "embedded" => Some(Source::Embedded),
            "cache" => Some(Source::Cache),
            "source" => Some(Source::Compile),
            "parallel" => Some(Source::Parallel),
            _ => None,
        }
    }
}

/// The stem of the parallel sentinel.
pub(crate) const ALL: &str = "all";
/// The file marking a device that loads one program at a time.
pub(crate) const SERIAL_MARKER: &str = "serial.marker";

/// Sentinels this process wrote and has not removed yet.
static OURS: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn ours<R>(f: impl FnOnce(&mut HashSet<PathBuf>) -> R) -> R {
    let mut g = OURS.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashSet::new))
}

/// Whether process `pid` is alive (or exists under another user).
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// What a scan of the device directory found.
#[derive(Debug, Default)]
pub(crate) struct Crashes {
    /// Sentinels of dead processes, by (stem, source).
    dead: HashMap<(String, Source), Vec<(PathBuf, u32)>>,
    /// Stems whose embedded binary is quarantined.
    quarantined: HashSet<String>,
    /// Whether the device loads one program at a time.
    pub(crate) serial: bool,
    /// Temporary files of dead processes.
    pub(crate) stale_temps: Vec<PathBuf>,
}

impl Crashes {
    /// Pids of dead processes that were loading the `source` binary of `stem`, with their
    /// sentinel files; removed from the scan result.
    pub(crate) fn take_dead(&mut self, stem: &str, source: Source) -> Vec<(PathBuf, u32)> {
        self.dead.remove(&(stem.to_string(), source)).unwrap_or_default()
    }

    /// Whether the embedded binary of `stem` is quarantined.
    pub(crate) fn is_quarantined(&self, stem: &str) -> bool {
        self.quarantined.contains(stem)
    }
}

/// What a file name in the device directory is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    /// A cache entry of `stem`.
    Entry(&'a str),
    /// The lock file of `stem`.
    Lock(&'a str),
    /// A sentinel.
    Sentinel { stem: &'a str, source: Source, pid: u32 },
    /// A quarantine marker of `stem`'s embedded binary.
    Quarantine(&'a str),
    /// A known-answer marker of `stem`.
    Checked(&'a str),
    /// The one-at-a-time marker.
    Serial,
    /// A temporary file of process `pid`.
    Temp { pid: u32 },
    /// Not one of ours.
    Unknown,
}

/// Classifies a file name of the device directory.
pub(crate) fn classify(name: &str) -> Kind<'_> {
    if let Some(rest) = name.strip_suffix(".sentinel") {
        let mut it = rest.rsplitn(3, '.');
        if let (Some(pid), Some(source), Some(stem)) = (it.next(), it.next(), it.next()) {
            if let (Ok(pid), Some(source)) = (pid.parse(), Source::parse(source)) {
                return Kind::Sentinel { stem, source, pid };
            }
        }
    } else if let Some(stem) = name.strip_suffix(".embedded.quarantine") {
        return Kind::Quarantine(stem);
    } else if let Some(stem) = name.strip_suffix(".checked") {
        return Kind::Checked(stem);
    } else if name == SERIAL_MARKER {
        return Kind::Serial;
    } else if let Some(rest) = name.strip_suffix(".tmp") {
        let mut it = rest.rsplitn(3, '.');
        if let (Some(seq), Some(pid), Some(_stem)) = (it.next(), it.next(), it.next()) {
            if let (Ok(_), Ok(pid)) = (seq.parse::<u64>(), pid.parse()) {
                return Kind::Temp { pid };
            }
        }
    } else if let Some(stem) = name.strip_suffix(".bin") {
        return Kind::Entry(stem);
    } else if let Some(stem) = name.strip_suffix(".lock") {
        return Kind::Lock(stem);
    }
    Kind::Unknown
}

/// Whether a file left by process `pid` belongs to a process that is gone.
pub(crate) fn left_by_dead(path: &Path, pid: u32) -> bool {
    if pid == std::process::id() {
        !ours(|s| s.contains(path))
    } else {
        !pid_alive(pid)
    }
}

/// Scans `dir` for sentinels, quarantine markers and stale temporary files.
pub(crate) fn scan(dir: &Path) -> Crashes {
    let mut c = Crashes::default();
    let Ok(rd) = fs::read_dir(dir) else { return c };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = e.path();
        match classify(name) {
            Kind::Sentinel { stem, source, pid } if left_by_dead(&path, pid) => {
                c.dead.entry((stem.to_string(), source)).or_default().push((path, pid));
            }
            Kind::Quarantine(stem) => {
                c.quarantined.insert(stem.to_string());
            }
            Kind::Serial => c.serial = true,
            Kind::Temp { pid } if pid != std::process::id() && !pid_alive(pid) => c.stale_temps.push(path),
            _ => {}
        }
    }
    c
}

/// A written sentinel; removed when dropped (after the driver returned).
#[derive(Debug)]
pub(crate) struct Sentinel {
    path: PathBuf,
}

impl Sentinel {
    /// Writes the sentinel for the `source` binary of `stem` in `dir`. `None` when it cannot
    /// be written (the load goes on without one). Honours [`ABORT_ENV`].
    pub(crate) fn arm(dir: &Path, stem: &str, source: Source) -> Option<Sentinel> {
        let path = dir.join(format!("{stem}.{}.{}.sentinel", source.as_str(), std::process::id()));
        ours(|s| s.insert(path.clone()));
        let written = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path);
        if let Err(e) = written {
            ours(|s| s.remove(&path));
            log::debug!("cannot write crash sentinel {}: {e}", path.display());
            return None;
        }
        crate::hooks::abort_after_sentinel(source.as_str(), &path);
        Some(Sentinel { path })
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.path) {
            log::warn!("cannot remove crash sentinel {}: {e}", self.path.display());
        }
        ours(|s| s.remove(&self.path));
    }
}

/// Turns the dead sentinels of an embedded binary into a quarantine marker.
pub(crate) fn quarantine(dir: &Path, stem: &str, dead: &[(PathBuf, u32)]) -> std::io::Result<()> {
    let pids: Vec<String> = dead.iter().map(|(_, p)| p.to_string()).collect();
    quarantine_because(dir, stem, &format!("crashed while loading: pid {}", pids.join(", ")))?;
    for (path, _) in dead {
        fs::remove_file(path)?;
    }
    Ok(())
}

/// Quarantines the embedded binary of `stem` for this device, recording `why`.
pub(crate) fn quarantine_because(dir: &Path, stem: &str, why: &str) -> std::io::Result<()> {
    write_marker(&dir.join(format!("{stem}.embedded.quarantine")), why)
}

/// Writes a small marker file (owner-only).
pub(crate) fn write_marker(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(path)?;
    std::io::Write::write_all(&mut f, format!("{text}\n").as_bytes())
}

/// Marks the device directory so that loads run one at a time from now on, and removes
/// the dead parallel sentinels that caused it.
pub(crate) fn serialize(dir: &Path, dead: &[(PathBuf, u32)]) -> std::io::Result<()> {
    let pids: Vec<String> = dead.iter().map(|(_, p)| p.to_string()).collect();
    write_marker(
        &dir.join(SERIAL_MARKER),
        &format!("process {} died while loading or compiling several programs at once", pids.join(", ")),
    )?;
    for (path, _) in dead {
        fs::remove_file(path)?;
    }
    Ok(())
}

/// Whether the known answers of the binary with `checksum` were already replayed and
/// matched for `stem` on this device.
pub(crate) fn checked(dir: &Path, stem: &str, checksum: &str) -> bool {
    fs::read_to_string(dir.join(format!("{stem}.checked"))).is_ok_and(|s| s.trim() == checksum)
}

/// Remembers that the known answers of the binary with `checksum` matched.
pub(crate) fn mark_checked(dir: &Path, stem: &str, checksum: &str) {
    if let Err(e) = write_marker(&dir.join(format!("{stem}.checked")), checksum) {
        log::debug!("cannot remember a known-answer check for {stem}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        assert_eq!(classify("conv-0123abcd.bin"), Kind::Entry("conv-0123abcd"));
        assert_eq!(classify("conv-0123abcd.lock"), Kind::Lock("conv-0123abcd"));
        assert_eq!(classify("a.b-0123abcd.cache.42.sentinel"), Kind::Sentinel { stem: "a.b-0123abcd", source: Source::Cache, pid: 42 });
        assert_eq!(classify("a-1.embedded.quarantine"), Kind::Quarantine("a-1"));
        assert_eq!(classify("a-1.77.3.tmp"), Kind::Temp { pid: 77 });
        assert_eq!(classify("a-1.x.42.sentinel"), Kind::Unknown);
        assert_eq!(classify("notes.txt"), Kind::Unknown);
    }

    #[test]
    fn our_own_sentinel_is_not_a_crash_until_a_reused_pid_finds_it() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Sentinel::arm(tmp.path(), "p-1", Source::Cache).unwrap();
        assert!(scan(tmp.path()).take_dead("p-1", Source::Cache).is_empty());
        // Same pid, not written by this process any more: a previous holder of the pid.
        let path = s.path.clone();
        drop(s);
        fs::write(&path, b"").unwrap();
        assert_eq!(scan(tmp.path()).take_dead("p-1", Source::Cache).len(), 1);
    }

    #[test]
    fn a_dead_process_sentinel_is_found_and_quarantined() {
        let tmp = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        fs::write(tmp.path().join(format!("p-1.embedded.{pid}.sentinel")), b"").unwrap();
        let mut c = scan(tmp.path());
        let dead = c.take_dead("p-1", Source::Embedded);
        assert_eq!(dead.len(), 1);
        quarantine(tmp.path(), "p-1", &dead).unwrap();
        let c = scan(tmp.path());
        assert!(c.is_quarantined("p-1"));
        assert!(c.dead.is_empty());
    }
}
