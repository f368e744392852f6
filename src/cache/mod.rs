//! The on-disk cache of compiled programs: one entry per (device fingerprint, program).
//!
//! When a program had to be compiled from source (no embedded binary for this device, a
//! driver update, a corrupt blob), its binary is stored here so the next start loads it in
//! milliseconds. Layout of a cache directory:
//!
//! ```text
//! <cache dir>/                         0700, CLBAKE_CACHE_DIR or ~/.cache/clbake/<exe>
//!   <fingerprint hash, 8 hex>/         0700, one per device + driver
//!     <program>-<program key, 8 hex>.bin   an entry (format: clbake_core::cache_entry), 0600
//!     <program>-<key>.lock                 advisory lock held while the program is compiled
//!     <program>-<key>.<pid>.<seq>.tmp      an entry being written (never read)
//!     <program>-<key>.<source>.<pid>.sentinel, .embedded.quarantine   crash sentinels
//! ```
//!
//! # Trust and failure
//! An entry is native code for the driver, so it is used only when the file and its
//! directories belong to this user and are not writable by group or others, when its
//! checksums match, and when its full fingerprint and program key equal the current ones.
//! Anything else is a miss with a reason in the [`LoadReport`](crate::LoadReport); a bad
//! entry is removed and replaced. Entries are written to a temporary file, fsynced and
//! renamed into place (then the directory is fsynced), so readers never see a torn entry.
//! Every I/O failure (read-only directory, full disk, file size limit) degrades to running
//! without the cache: it is reported, never an error.
//!
//! Unix only (ownership checks, `flock`, `O_NOFOLLOW`).

pub mod dir;
pub mod inventory;
pub(crate) mod lock;
mod prune;
pub(crate) mod sentinel;
mod store;

use clbake_core::{Fingerprint, Hash128};
use std::path::{Path, PathBuf};

pub use dir::{default_for, exe_name, from_env};
pub use prune::{prune, Limits, Pruned};

/// Why the cache, or one operation on it, could not be used. Never fatal: the loader
/// reports it and goes on without the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A file system operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was attempted (`"create directory"`, `"write"`, `"rename"`...).
        op: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A directory or file that may not be trusted (owner, permissions, type).
    #[error("{} is not trusted: {reason}", path.display())]
    Untrusted {
        /// The path concerned.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An entry could not be encoded (a length beyond the format's limits).
    #[error("cannot encode a cache entry: {0}")]
    Encode(#[from] clbake_core::format::FormatError),
}

/// The cache directory of one device, opened for a load.
#[derive(Debug)]
pub(crate) struct DiskCache {
    root: PathBuf,
    dir: PathBuf,
    fingerprint: Fingerprint,
    crashes: std::sync::Mutex<sentinel::Crashes>,
    limits: Limits,
}

impl DiskCache {
    /// Opens (creating owner-only) `root` and its directory for `fingerprint`, checks both
    /// may be trusted, and looks for sentinels of crashed processes and stale temporary
    /// files (which it removes).
    pub fn open(root: &Path, fingerprint: &Fingerprint) -> Result<DiskCache, CacheError> {
        dir::ensure_dir(root, true)?;
        let device_dir = root.join(fingerprint.hash().short());
        dir::ensure_dir(&device_dir, false)?;
        let crashes = sentinel::scan(&device_dir);
        for t in &crashes.stale_temps {
            match std::fs::remove_file(t) {
                Ok(()) => log::info!("removed {} left by a process that died while writing it", t.display()),
                Err(e) => log::debug!("cannot remove stale {}: {e}", t.display()),
            }
        }
        Ok(DiskCache {
            root: root.to_path_buf(),
            dir: device_dir,
            fingerprint: fingerprint.clone(),
            crashes: std::sync::Mutex::new(crashes),
            limits: Limits::default(),
        })
    }

    /// Sets the size and age the cache is pruned to after each write.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The directory of this device's entries.
    pub fn device_dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the entry for program `name` with key `key`.
    pub fn entry_path(&self, name: &str, key: &Hash128) -> PathBuf {
        self.dir.join(format!("{}.bin", stem(name, key)))
    }

    pub(crate) fn crashes(&self) -> std::sync::MutexGuard<'_, sentinel::Crashes> {
        self.crashes.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The file stem of a program's entry, lock and sentinels: `<sanitized name>-<key, 8 hex>`.
pub fn stem(name: &str, key: &Hash128) -> String {
    format!("{}-{}", dir::sanitize(name), key.short())
}
