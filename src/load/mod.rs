//! Loading programs: the options, the one per-program path ([`engine`]), how many load at
//! once ([`schedule`]), and the report of what happened.

pub(crate) mod engine;
pub(crate) mod report;
pub(crate) mod schedule;
pub(crate) mod set;

pub use report::{
    write_misses, CacheEvent, CacheEventKind, CacheReport, CacheState, LoadPath, LoadReport, Miss, MissReason, ProgramReport,
};
pub use schedule::{binary_threads, MIN_BINARY_THREADS};
pub use set::KernelSet;

use crate::Error;
use clbake_core::env;
use std::path::PathBuf;

/// Load policy.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Try embedded binaries (default true; `CLBAKE_EMBEDDED=off` turns it off).
    pub embedded: bool,
    /// Threads loading programs (`CLBAKE_JOBS`): embedded binaries (0 = as
    /// [`binary_threads`] says), and programs that must come from the disk cache or source
    /// (0 = one at a time).
    pub jobs: usize,
    /// The disk cache directory; `None` = no disk cache. [`LoadOptions::default`] has none
    /// (a library default writes nothing to disk); [`LoadOptions::from_env`] (what the
    /// generated `Kernels::load` uses) takes `CLBAKE_CACHE_DIR` or the platform cache
    /// directory.
    pub cache_dir: Option<PathBuf>,
    /// Replay known answers the first time a binary is served on a device (default true;
    /// `CLBAKE_CHECK=off` turns it off).
    pub checks: bool,
    /// How large and how old the disk cache may grow (`CLBAKE_CACHE_MAX_BYTES`,
    /// `CLBAKE_CACHE_MAX_AGE_DAYS`); pruned after each write.
    pub cache_limits: crate::cache::Limits,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { embedded: true, jobs: 0, cache_dir: None, checks: true, cache_limits: crate::cache::Limits::default() }
    }
}

impl LoadOptions {
    /// Defaults overridden by `CLBAKE_EMBEDDED`, `CLBAKE_JOBS`, `CLBAKE_CHECK` and the cache
    /// limits (`CLBAKE_CACHE_MAX_BYTES`, `CLBAKE_CACHE_MAX_AGE_DAYS`), with the
    /// disk cache in `CLBAKE_CACHE_DIR` (`off` disables it), else `$XDG_CACHE_HOME/clbake/<exe>`
    /// or `~/.cache/clbake/<exe>`. A value that cannot be parsed is an error naming the
    /// variable.
    pub fn from_env() -> Result<Self, Error> {
        Ok(LoadOptions {
            embedded: env::flag(env::EMBEDDED)?.unwrap_or(true),
            jobs: env::number(env::JOBS)?.unwrap_or(0),
            cache_dir: crate::cache::from_env(),
            checks: env::flag(env::CHECK)?.unwrap_or(true),
            cache_limits: crate::cache::Limits::from_env()?,
        })
    }

    /// Sets the disk cache directory (`None`: no disk cache).
    pub fn with_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// Sets whether embedded binaries are tried.
    pub fn with_embedded(mut self, on: bool) -> Self {
        self.embedded = on;
        self
    }

    /// Sets the number of loading threads (0 = the default, see [`LoadOptions::jobs`]).
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// Sets whether known answers are replayed.
    pub fn with_checks(mut self, on: bool) -> Self {
        self.checks = on;
        self
    }
}
