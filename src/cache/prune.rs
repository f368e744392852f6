//! Keeping the disk cache small: every driver update adds a fingerprint directory, and its
//! old entries are never served again.
//!
//! [`prune`] removes entries not served for longer than [`Limits::max_age`] (an entry's
//! modification time is when it was last served), then the least recently served ones
//! until the cache holds at most [`Limits::max_bytes`], then device directories left empty.
//! The loader prunes after writing an entry; `clbake cache prune` does it on demand.

use super::sentinel::{classify, Kind};
use super::CacheError;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How large and how old the cache may grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of entries (`CLBAKE_CACHE_MAX_BYTES`, default 256 MiB).
    pub max_bytes: u64,
    /// Longest time an entry may go unserved (`CLBAKE_CACHE_MAX_AGE_DAYS`, default 30 days).
    pub max_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 256 << 20, max_age: Duration::from_secs(30 * 86_400) }
    }
}

impl Limits {
    /// The defaults overridden by `CLBAKE_CACHE_MAX_BYTES` and `CLBAKE_CACHE_MAX_AGE_DAYS`;
    /// a value that cannot be parsed is an error naming the variable.
    pub fn from_env() -> Result<Self, clbake_core::env::EnvError> {
        use clbake_core::env;
        let d = Limits::default();
        let max_bytes = env::size(env::CACHE_MAX_BYTES)?.unwrap_or(d.max_bytes);
        let days: Option<u64> = env::number(env::CACHE_MAX_AGE_DAYS)?;
        Ok(Limits { max_bytes, max_age: days.map_or(d.max_age, |n| Duration::from_secs(n.saturating_mul(86_400))) })
    }
}

/// What a prune removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Entries removed.
    pub removed: usize,
    /// Their bytes.
    pub freed: u64,
    /// Device directories removed because they were empty afterwards.
    pub dirs: usize,
    /// Bytes of entries kept.
    pub kept: u64,
}

impl fmt::Display for Pruned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entr{} removed ({} bytes), {} empty device director{} removed, {} bytes kept",
            self.removed,
            if self.removed == 1 { "y" } else { "ies" },
            self.freed,
            self.dirs,
            if self.dirs == 1 { "y" } else { "ies" },
            self.kept
        )
    }
}

/// Prunes the cache at `root` to `limits`. Files that are not entries (locks, markers) are
/// left alone, except in device directories that hold nothing else.
pub fn prune(root: &Path, limits: &Limits) -> Result<Pruned, CacheError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CacheError::Io { op: "read", path, source }
    };
    let now = SystemTime::now();
    let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
    let mut dirs = Vec::new();
    for d in std::fs::read_dir(root).map_err(io(root))?.flatten() {
        let dir = d.path();
        if !d.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        dirs.push(dir.clone());
        for e in std::fs::read_dir(&dir).map_err(io(&dir))?.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if !matches!(classify(name), Kind::Entry(_)) {
                continue;
            }
            if let Ok(m) = e.metadata() {
                entries.push((m.modified().unwrap_or(now), m.len(), e.path()));
            }
        }
    }
    // Oldest first.
    entries.sort();
    let mut total: u64 = entries.iter().map(|e| e.1).sum();
    let mut out = Pruned::default();
    for (served, bytes, path) in &entries {
        let old = now.duration_since(*served).is_ok_and(|age| age > limits.max_age);
        if !old && total <= limits.max_bytes {
            continue;
        }
        if std::fs::remove_file(path).is_ok() {
            out.removed += 1;
            out.freed += bytes;
            total -= bytes;
        }
    }
    out.kept = total;
    for dir in dirs {
        let left: Vec<_> = std::fs::read_dir(&dir).map(|r| r.flatten().collect()).unwrap_or_default();
        let only_ours =
            left.iter().all(|e| e.file_name().to_str().is_some_and(|n| matches!(classify(n), Kind::Lock(_) | Kind::Checked(_))));
        if only_ours && std::fs::remove_dir_all(&dir).is_ok() {
            out.dirs += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn entry(dir: &Path, name: &str, bytes: usize, age_days: u64) {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, vec![0u8; bytes]).unwrap();
        let t = SystemTime::now() - Duration::from_secs(age_days * 86_400);
        File::options().write(true).open(&p).unwrap().set_modified(t).unwrap();
    }

    #[test]
    fn old_entries_then_the_least_recent_go_and_empty_directories_with_them() {
        let root = tempfile::tempdir().unwrap();
        let (a, b) = (root.path().join("aaaa0000"), root.path().join("bbbb1111"));
        entry(&a, "old-11111111.bin", 100, 40);
        entry(&a, "old-11111111.lock", 0, 40);
        entry(&b, "x-22222222.bin", 300, 3);
        entry(&b, "y-33333333.bin", 300, 2);
        entry(&b, "z-44444444.bin", 300, 1);
        entry(&b, "serial.marker", 10, 1);
        let p = prune(root.path(), &Limits { max_bytes: 700, max_age: Duration::from_secs(30 * 86_400) }).unwrap();
        assert_eq!((p.removed, p.freed, p.dirs, p.kept), (2, 400, 1, 600), "{p}");
        assert!(!a.exists(), "the old device directory is gone");
        assert!(!b.join("x-22222222.bin").exists() && b.join("z-44444444.bin").exists());
        assert!(b.join("serial.marker").exists(), "markers stay");
    }
}
