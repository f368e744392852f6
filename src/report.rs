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
pub enum MissReason {
    /// The path is turned off (`CLBAKE_EMBEDDED=off`, `CLBAKE_CACHE_DIR=off`).
    Disabled,
    /// The bundle holds no binary at all for this program (built without a device).
    NoBinaries,
    /// Binaries exist, none for this device; `diff` lists the fields of the closest one that differ.
    FingerprintMismatch {
        /// Differing fields of the closest fingerprint.
        diff: Vec<FieldDiff>,
    },
    /// A binary for this device exists but was built from other sources or options.
    Stale,
    /// The stored bytes failed verification (checksum, length, decompression); the driver never saw them.
    Corrupt {
        /// What failed.
        detail: String,
    },
    /// The driver rejected a verified binary.
    DriverRejected {
        /// The OpenCL error.
        detail: String,
    },
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissReason::Disabled => f.write_str("disabled"),
            MissReason::NoBinaries => f.write_str("no binary in the bundle (built without an OpenCL device)"),
            MissReason::FingerprintMismatch { diff } => {
                f.write_str("no binary for this device; closest differs in ")?;
                let parts: Vec<String> = diff.iter().map(|d| d.to_string()).collect();
                f.write_str(&parts.join(", "))
            }
            MissReason::Stale => f.write_str("binary is stale (sources or options changed)"),
            MissReason::Corrupt { detail } => write!(f, "binary rejected before the driver: {detail}"),
            MissReason::DriverRejected { detail } => write!(f, "driver rejected the binary: {detail}"),
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
}

/// What a load did, for every program.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// The device's fingerprint.
    pub device: Fingerprint,
    /// Time to parse the bundle's tables.
    pub parse_ms: f64,
    /// Wall time of the whole load.
    pub total_ms: f64,
    /// One entry per program, in bundle order.
    pub programs: Vec<ProgramReport>,
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
            writeln!(f, "  {:<20} {:<8} {:>8.2} ms", p.name, p.path.to_string(), p.total_ms)?;
            for m in &p.misses {
                writeln!(f, "      {} missed: {}", m.path, m.reason)?;
            }
        }
        Ok(())
    }
}
