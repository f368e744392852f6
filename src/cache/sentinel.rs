//! Crash sentinels: a marker file written before a cached or embedded binary is handed to
//! the driver and removed right after, so that the next start can tell that a binary took
//! the previous process down with it.
//!
//! Names, in the cache's device directory:
//! - `<stem>.<source>.<pid>.sentinel` — process `<pid>` is loading the `<source>`
//!   (`embedded` or `cache`) binary of the program `<stem>` names. Found at start-up with
//!   `<pid>` no longer alive (or equal to ours, but not written by us: a reused pid), it is
//!   evidence of a crash.
//! - `<stem>.embedded.quarantine` — an embedded binary crashed a process: it is skipped for
//!   this device from then on (the program is served from the cache instead).
//!   `clbake cache clear` removes it. Binaries load on several threads on CPU devices, so a
//!   crash leaves the sentinels of every binary in flight and all of them are quarantined:
//!   a few innocent programs are compiled once and served from the cache, rather than a bad
//!   binary getting a second chance to crash the process.
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

/// Test hook: abort right after writing a sentinel of this source.
pub const ABORT_ENV: &str = "CLBAKE_TEST_ABORT_AFTER_SENTINEL";

/// Which binary a sentinel guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// The embedded binary.
    Embedded,
    /// The disk cache entry.
    Cache,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Embedded => "embedded",
            Source::Cache => "cache",
        }
    }

    fn parse(s: &str) -> Option<Source> {
        match s {
            "embedded" => Some(Source::Embedded),
            "cache" => Some(Source::Cache),
            _ => None,
        }
    }
}

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
        if std::env::var(ABORT_ENV).is_ok_and(|v| v == source.as_str() || v == "any" || v == "1") {
            eprintln!("clbake: {ABORT_ENV}: aborting after writing {}", path.display());
            std::process::abort();
        }
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
    let marker = dir.join(format!("{stem}.embedded.quarantine"));
    let pids: Vec<String> = dead.iter().map(|(_, p)| p.to_string()).collect();
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&marker)?;
    std::io::Write::write_all(&mut f, format!("crashed while loading: pid {}\n", pids.join(", ")).as_bytes())?;
    for (path, _) in dead {
        fs::remove_file(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified() {
        assert_eq!(classify("conv-0123abcd.bin"), Kind::Entry("conv-0123abcd"));
        assert_eq!(classify("conv-0123abcd.lock"), Kind::Lock("conv-0123abcd"));
        assert_eq!(
            classify("a.b-0123abcd.cache.42.sentinel"),
            Kind::Sentinel { stem: "a.b-0123abcd", source: Source::Cache, pid: 42 }
        );
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
