//! Per-entry advisory locks (`flock(2)` through `std::fs::File::lock`), so that processes
//! starting together compile each program once: the first takes the lock and compiles, the
//! others wait and then read its entry.
//!
//! Lock files (`<stem>.lock`) are never removed while in use (removing a locked file would
//! let a second process lock a new inode). A lock is released when its file is closed, also
//! when the process is killed. A lock is only an optimisation: when it cannot be taken
//! (read-only directory, a holder that takes too long) the load goes on without it, and
//! entries stay consistent because they are only ever replaced by an atomic rename.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a process waits for another one compiling the same program before it compiles
/// the program itself.
pub(crate) const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// Pause between two attempts while waiting.
const POLL: Duration = Duration::from_millis(5);

/// A held lock; released when dropped.
#[derive(Debug)]
pub(crate) struct EntryLock {
    _file: File,
}

/// Outcome of a non-blocking attempt.
#[derive(Debug)]
pub(crate) enum TryLock {
    /// The lock is ours.
    Held(EntryLock),
    /// Another process holds it.
    Busy,
    /// No lock can be had here (the reason); go on without.
    Unavailable(String),
}

fn open(path: &Path) -> std::io::Result<File> {
    let flags = libc::O_NOFOLLOW | libc::O_CLOEXEC;
    match OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).custom_flags(flags).open(path) {
        Ok(f) => Ok(f),
        // A read-only directory: an existing lock file can still be locked for reading.
        Err(_) => OpenOptions::new().read(true).custom_flags(flags).open(path),
    }
}

/// The lock file of `stem` in `dir`.
pub(crate) fn lock_path(dir: &Path, stem: &str) -> PathBuf {
    dir.join(format!("{stem}.lock"))
}

/// Tries to take the lock of `stem` without waiting.
pub(crate) fn try_lock(dir: &Path, stem: &str) -> TryLock {
    let path = lock_path(dir, stem);
    let file = match open(&path) {
        Ok(f) => f,
        Err(e) => return TryLock::Unavailable(format!("cannot open {}: {e}", path.display())),
    };
    match file.try_lock() {
        Ok(()) => TryLock::Held(EntryLock { _file: file }),
        Err(TryLockError::WouldBlock) => TryLock::Busy,
        Err(TryLockError::Error(e)) => TryLock::Unavailable(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Takes the lock of `stem`, waiting up to `limit` for its holder. `Err` says why the load
/// goes on without the lock.
pub(crate) fn lock(dir: &Path, stem: &str, limit: Duration) -> Result<EntryLock, String> {
    let deadline = Instant::now() + limit;
    loop {
        match try_lock(dir, stem) {
            TryLock::Held(l) => return Ok(l),
            TryLock::Unavailable(why) => return Err(why),
            TryLock::Busy if Instant::now() >= deadline => {
                return Err(format!("lock {} still held after {} s", lock_path(dir, stem).display(), limit.as_secs()))
            }
            TryLock::Busy => std::thread::sleep(POLL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_busy_until_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let held = match try_lock(tmp.path(), "p-1") {
            TryLock::Held(l) => l,
            other => panic!("{other:?}"),
        };
        assert!(matches!(try_lock(tmp.path(), "p-1"), TryLock::Busy));
        assert!(lock(tmp.path(), "p-1", Duration::from_millis(20)).unwrap_err().contains("still held"));
        drop(held);
        assert!(matches!(try_lock(tmp.path(), "p-1"), TryLock::Held(_)));
    }

    #[test]
    fn no_directory_means_no_lock() {
        assert!(matches!(try_lock(Path::new("/nonexistent/clbake"), "p"), TryLock::Unavailable(_)));
    }
}
