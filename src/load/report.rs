//! The load report: which path served each program, why earlier paths missed, how long it took.

use clbake_core::fingerprint::FieldDiff;
use clbake_core::Fingerprint;
use serde::Serialize;
use std::fmt;

/// Where a program came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadPath {
    /// A binary embedded in the executable.
    Embedded,
    /// A binary from the on-disk cache.
    Cache,
    /// Compiled from the embedded source.
    Source,
}

impl fmt::Display for LoadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LoadPath::Embedded => "embedded",
            LoadPath::Cache => "cache",
            LoadPath::Source => "source",
        })
    }
}

/// Why a binary path did not serve a program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum MissReason {
    /// The path is turned off (`CLBAKE_EMBEDDED=off`, `CLBAKE_CACHE_DIR=off`).
    Disabled,
    /// The bundle holds no binary at all for this program (built without a device).
    NoBinaries,
    /// Binaries exist, none for this device; `diff` lists the fields of the closest one
    /// that differ (`driver_library`: the driver's library file was replaced although its
    /// version strings are the same; `host_abi`: a binary for a 32-bit process on a 64-bit
    /// one or the reverse).
    FingerprintMismatch {
        /// Differing fields of the closest fingerprint.
        diff: Vec<FieldDiff>,
    },
    /// The bundle's binary table is damaged (bit rot): no embedded binary is used.
    TableDamaged {
        /// What was wrong.
        detail: String,
    },
    /// The driver accepted the binary but its known answer differs: replaying a declared
    /// launch gave other results than at bake time (a stale binary after a driver update).
    /// The binary is quarantined for this device.
    WrongResults {
        /// Which launch and what differed.
        detail: String,
    },
    /// A binary for this device exists but was built from other sources or options.
    Stale,
    /// The stored bytes failed verification (checksum, length, decompression, header); the
    /// driver never saw them. A cache entry that fails is removed and replaced.
    Corrupt {
        /// What failed.
        detail: String,
    },
    /// The driver rejected a verified binary.
    DriverRejected {
        /// The OpenCL error.
        detail: String,
    },
    /// The disk cache holds no entry for this program and device yet.
    NotCached,
    /// The cache directory or entry cannot be used (I/O error, directory cannot be
    /// created); the load goes on without the cache.
    Unavailable {
        /// Why.
        detail: String,
    },
    /// A cache entry (or directory) is not owned by this user or is writable by group or
    /// others: it is native code from an untrusted writer, so it is ignored.
    Insecure {
        /// Path and owner or mode found.
        detail: String,
    },
    /// A previous process died while the driver was loading this binary (its crash sentinel
    /// was found): the binary is skipped. An embedded binary stays skipped for this device
    /// (quarantined); a cache entry is evicted and rebuilt from source.
    CrashSentinel {
        /// Which process, and what happens to the binary now.
        detail: String,
    },
    /// The embedded binary was quarantined for this device by an earlier start (it crashed
    /// a process, or gave wrong results): skipped without trying it again.
    Quarantined {
        /// Why, and where the marker is (`clbake cache clear` lifts it).
        detail: String,
    },
    /// A kernel of the program failed to run from this binary and the program was rebuilt
    /// from source ([`KernelSet::recover`](crate::KernelSet::recover)).
    ExecutionFailed {
        /// The failure.
        detail: String,
    },
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissReason::Disabled => f.write_str("disabled"),
            MissReason::NoBinaries => f.write_str("no binary in the bundle (built without an OpenCL device)"),
            MissReason::FingerprintMismatch { diff } => {
                // A headline only for the same device under another library or ABI; another
                // device is just another device.
                let same_device = !diff.iter().any(|d| matches!(d.field, "platform_name" | "device_name"));
                match diff.iter().find(|d| same_device && matches!(d.field, "driver_library" | "host_abi")) {
                    Some(d) => write!(f, "no binary for this device: {}; ", d.meaning())?,
                    None => f.write_str("no binary for this device; ")?,
                }
                f.write_str("closest differs in ")?;
                let parts: Vec<String> = diff.iter().map(|d| d.to_string()).collect();
                f.write_str(&parts.join(", "))
            }
            MissReason::TableDamaged { detail } => write!(f, "the embedded binary table is damaged, no binary used ({detail})"),
            MissReason::WrongResults { detail } => write!(f, "binary gave wrong results ({detail}); quarantined for this device"),
            MissReason::Stale => f.write_str("binary is stale (sources or options changed)"),
            MissReason::Corrupt { detail } => write!(f, "binary rejected before the driver: {detail}"),
            MissReason::DriverRejected { detail } => write!(f, "driver rejected the binary: {detail}"),
            MissReason::NotCached => f.write_str("no cache entry yet"),
            MissReason::Unavailable { detail } => write!(f, "cache unavailable: {detail}"),
            MissReason::Insecure { detail } => write!(f, "cache entry ignored, not trusted: {detail}"),
            MissReason::CrashSentinel { detail } => write!(f, "a previous process crashed loading this binary: {detail}"),
            MissReason::Quarantined { detail } => write!(f, "quarantined for this device: {detail}"),
            MissReason::ExecutionFailed { detail } => write!(f, "a kernel failed to run from this binary: {detail}"),
        }
    }
}

/// One miss on the way to loading a program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Miss {
    /// The path that missed.
    pub path: LoadPath,
    /// Why.
    #[serde(flatten)]
    pub reason: MissReason,
}

/// How one program was loaded. Times are in milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct ProgramReport {
    /// Program name.
    pub name: String,
    /// The path that served it.
    pub path: LoadPath,
    /// Earlier paths that missed, in order.
    pub misses: Vec<Miss>,
    /// Time spent decompressing and verifying binaries.
    pub verify_ms: f64,
    /// Time spent in the driver (create + build + kernels), for the serving path.
    pub driver_ms: f64,
    /// Total time for this program.
    pub total_ms: f64,
    /// Uncompressed size of the binary used, if one was.
    pub binary_bytes: Option<u64>,
    /// Whether a fresh disk cache entry was written for this program during the load.
    pub cached: bool,
    /// Whether the program was rebuilt from source after a kernel failed to run
    /// ([`KernelSet::recover`](crate::KernelSet::recover)).
    pub recovered: bool,
    /// Time spent replaying known answers (once per device and binary).
    pub check_ms: f64,
    /// Why the program could not be loaded at all (its source does not build on this
    /// device); its kernels return this error.
    pub error: Option<String>,
}

impl ProgramReport {
    /// A report for program `name`, before any path was tried.
    pub fn new(name: &str, path: LoadPath) -> Self {
        ProgramReport {
            name: name.to_string(),
            path,
            misses: Vec::new(),
            verify_ms: 0.0,
            driver_ms: 0.0,
            total_ms: 0.0,
            binary_bytes: None,
            cached: false,
            recovered: false,
            check_ms: 0.0,
            error: None,
        }
    }
}

/// What a load did, for every program loaded so far.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// The device's fingerprint.
    pub device: Fingerprint,
    /// Time to parse the bundle's tables.
    pub parse_ms: f64,
    /// Wall time of the loads so far: parsing the bundle, each eager load or preload as a
    /// whole (programs loaded side by side count once), and each program created at its
    /// first launch.
    pub total_ms: f64,
    /// One entry per program loaded (all of them after an eager load; with lazy loading,
    /// the programs created so far), in bundle order.
    pub programs: Vec<ProgramReport>,
    /// Whether this device loads one program at a time (a previous process died during
    /// parallel loads or compiles, or the driver is known to crash under concurrency).
    pub serial: bool,
    /// What the disk cache was and did.
    pub cache: CacheReport,
}

/// Whether the disk cache took part in a load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheState {
    /// Entries were read and written in `dir`.
    Enabled,
    /// Turned off (`CLBAKE_CACHE_DIR=off`, no home directory, or not asked for).
    Disabled,
    /// Asked for but unusable (cannot be created, not trusted); see `detail`.
    Unavailable,
}

/// What happened in the disk cache, besides the misses listed per program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CacheEventKind {
    /// A fresh entry was written.
    Stored,
    /// Writing an entry failed (read-only or full disk, file size limit); no entry was left.
    WriteFailed,
    /// A bad entry (corrupt, stale, misplaced, not a file) was removed.
    Removed,
    /// A bad entry could not be removed.
    RemoveFailed,
    /// An entry was evicted after its binary failed ([`KernelSet::recover`](crate::KernelSet::recover), a crash sentinel, a wrong known answer).
    Evicted,
    /// An embedded binary that crashed a previous process, or gave wrong results, was quarantined for this device.
    Quarantined,
    /// A previous process died while several programs loaded or compiled at once: from now on
    /// this device loads one program at a time.
    Serialized,
    /// A previous process died while compiling this program from source (the driver's
    /// compiler crashed); it is compiled again.
    CompilerCrashed,
    /// Entries were pruned (size or age limit).
    Pruned,
    /// Another process held the program's lock too long; it was compiled here too.
    LockUnavailable,
}

impl fmt::Display for CacheEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CacheEventKind::Stored => "stored",
            CacheEventKind::WriteFailed => "write failed",
            CacheEventKind::Removed => "removed",
            CacheEventKind::RemoveFailed => "remove failed",
            CacheEventKind::Evicted => "evicted",
            CacheEventKind::Quarantined => "quarantined",
            CacheEventKind::Serialized => "one at a time",
            CacheEventKind::CompilerCrashed => "compiler crashed before",
            CacheEventKind::Pruned => "pruned",
            CacheEventKind::LockUnavailable => "lock unavailable",
        })
    }
}

/// One thing the disk cache did during a load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CacheEvent {
    /// The program concerned.
    pub program: String,
    /// What happened.
    pub kind: CacheEventKind,
    /// Path and reason.
    pub detail: String,
}

/// The disk cache's part of a load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CacheReport {
    /// Enabled, disabled or unavailable.
    pub state: CacheState,
    /// The cache directory, when one was asked for.
    pub dir: Option<std::path::PathBuf>,
    /// Why the cache is unavailable.
    pub detail: Option<String>,
    /// What it did, in order.
    pub events: Vec<CacheEvent>,
}

impl CacheReport {
    /// A report for a load without a cache.
    pub fn disabled() -> Self {
        CacheReport { state: CacheState::Disabled, dir: None, detail: None, events: Vec::new() }
    }

    /// Number of events of `kind`.
    pub fn count(&self, kind: CacheEventKind) -> usize {
        self.events.iter().filter(|e| e.kind == kind).count()
    }
}

impl LoadReport {
    /// Number of programs served by `path`.
    pub fn count(&self, path: LoadPath) -> usize {
        self.programs.iter().filter(|p| p.path == path).count()
    }

    /// Whether every program was served by `path`.
    pub fn all(&self, path: LoadPath) -> bool {
        self.programs.iter().all(|p| p.path == path)
    }
}

/// Writes every miss once, followed by the programs it hit: a device mismatch usually hits
/// every program alike, and one line per program would repeat the same long diff.
pub fn write_misses(f: &mut fmt::Formatter<'_>, programs: &[ProgramReport], indent: &str) -> fmt::Result {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for p in programs {
        for m in &p.misses {
            let line = format!("{} missed: {}", m.path, m.reason);
            match groups.iter_mut().find(|(l, _)| *l == line) {
                Some((_, names)) => names.push(&p.name),
                None => groups.push((line, vec![&p.name])),
            }
        }
    }
    for (line, names) in groups {
        let who = if names.len() == programs.len() && names.len() > 1 { "all programs".to_string() } else { names.join(", ") };
        writeln!(f, "{indent}{who}: {line}")?;
    }
    Ok(())
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "loaded {} programs for {} in {:.1} ms ({} embedded, {} cache, {} source)",
            self.programs.len(),
            self.device.describe(),
            self.total_ms,
            self.count(LoadPath::Embedded),
            self.count(LoadPath::Cache),
            self.count(LoadPath::Source)
        )?;
        for p in &self.programs {
            match &p.error {
                None => writeln!(f, "  {:<20} {:<8} {:>8.2} ms", p.name, p.path.to_string(), p.total_ms)?,
                Some(e) => writeln!(f, "  {:<20} FAILED   {}", p.name, e.lines().next().unwrap_or_default())?,
            }
        }
        write_misses(f, &self.programs, "  ")?;
        match (&self.cache.state, &self.cache.dir) {
            (CacheState::Enabled, Some(dir)) => writeln!(f, "  disk cache: {}", dir.display())?,
            (CacheState::Unavailable, _) => writeln!(f, "  disk cache unavailable: {}", self.cache.detail.as_deref().unwrap_or("?"))?,
            _ => writeln!(f, "  disk cache: off")?,
        }
        for e in &self.cache.events {
            writeln!(f, "      {} {}: {}", e.program, e.kind, e.detail)?;
        }
        Ok(())
    }
}

impl LoadReport {
    /// One line for a load that compiled from source, or `None` when every program came
    /// from a binary: `clbake: compiled from source on DEVICE (the first miss): `a`, `b`;
    /// the disk cache serves them next time`.
    pub fn summary_line(&self) -> Option<String> {
        let from_source: Vec<&ProgramReport> = self.programs.iter().filter(|p| p.path == LoadPath::Source).collect();
        let first = from_source.first()?;
        let why = first.misses.first().map(|m| format!(" ({}: {})", m.path, m.reason)).unwrap_or_default();
        let names: Vec<String> = from_source.iter().map(|p| format!("`{}`", p.name)).collect();
        let next = if self.cache.state == CacheState::Enabled {
            "the disk cache serves them next time"
        } else {
            "without a disk cache every start compiles them again"
        };
        Some(format!("clbake: compiled from source on {}{why}: {}; {next}", self.device.describe(), names.join(", ")))
    }
}
