//! The one atomic file writer of clbake: bundles written by bakes, and disk-cache entries.
//!
//! A reader sees the old file or the whole new one, never a torn one, even if the process
//! or the machine dies mid-write: the bytes go to a new temporary file in the same
//! directory (created exclusively, not following symlinks), are fsynced, renamed over the
//! destination, and the directory is fsynced. On failure the temporary file is removed and
//! the destination is untouched. The directory must exist: a missing one is an error, not
//! created behind the caller's back.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A failed atomic write: what was being done, to which path.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {}: {source}", path.display())]
pub struct WriteError {
    /// The step that failed (`create`, `write`, `fsync`, `rename into place`).
    pub op: &'static str,
    /// The path concerned.
    pub path: PathBuf,
    /// The OS error.
    pub source: std::io::Error,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// The temporary file next to `dst` that [`write()`] writes first: `.NAME.PID.SEQ.tmp`.
pub fn temp_path(dst: &Path) -> PathBuf {
    let dir = dst.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = dst.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)))
}

/// Writes `bytes` to `dst` atomically, the new file having permission bits `mode` (Unix).
pub fn write(dst: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let dir = dst.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = temp_path(dst);
    let io = |op: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError { op, path, source }
    };
    if !dir.is_dir() {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "the directory does not exist");
        return Err(WriteError { op: "write into", path: dir.to_path_buf(), source });
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = options.open(&tmp).map_err(io("create", &tmp))?;
    let r = f
        .write_all(bytes)
        .map_err(io("write", &tmp))
        .and_then(|()| f.sync_all().map_err(io("fsync", &tmp)))
        .and_then(|()| fs::rename(&tmp, dst).map_err(io("rename into place", dst)));
    drop(f);
    if let Err(e) = r {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Make the rename itself durable; not every file system allows it.
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_refuses_a_missing_directory() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("b.clbk");
        write(&p, b"one", 0o644).unwrap();
        write(&p, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temporary file left");
        let err = write(&d.path().join("missing/x.clbk"), b"x", 0o644).unwrap_err();
        assert!(err.to_string().contains("missing") && err.to_string().contains("does not exist"), "{err}");
        // The destination is a non-empty directory: the rename fails after the write.
        std::fs::create_dir(d.path().join("dir")).unwrap();
        std::fs::write(d.path().join("dir/f"), b"").unwrap();
        let err = write(&d.path().join("dir"), b"x", 0o644).unwrap_err();
        assert_eq!(err.op, "rename into place");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 2, "the temporary file was removed");
    }
}
