//! Binaries a bake takes instead of compiling: those of its previous bundle whose program key
//! and device are unchanged (incremental bakes), and those of precompiled bundles baked on
//! other devices (`kernels/precompiled/*.clbk`).

use crate::format::{BinaryEntry, Bundle, FormatError, KernelRecord, SignatureOrigin, TuningEntry};
use crate::hash::Hash128;
use crate::source::ProgramSource;
use std::path::{Path, PathBuf};

/// A binary found in an earlier bundle for one of the current programs.
pub(crate) struct Found<'a> {
    /// Index of the current program.
    pub program: usize,
    /// The entry (same program key as the current program).
    pub entry: BinaryEntry<'a>,
    /// The kernels as that bundle recorded them.
    pub kernels: Vec<KernelRecord>,
}

/// What an earlier bundle offers for the current programs.
pub(crate) struct Offer<'a> {
    /// Binaries whose program is unchanged.
    pub binaries: Vec<Found<'a>>,
    /// Tuning records whose program is unchanged: (current program index, record).
    pub tunings: Vec<(usize, TuningEntry<'a>)>,
    /// Programs of that bundle that are stale or gone, as `name (why)`.
    pub stale: Vec<String>,
}

/// `bytes` parsed, when nothing in them is damaged: every table checksum matches and every
/// binary decompresses to its stored hash. A previous bundle is all or nothing.
pub(crate) fn intact(bytes: &[u8]) -> Result<Bundle<'_>, String> {
    let bundle = Bundle::parse(bytes).map_err(|e| e.to_string())?;
    if let Some((table, why)) = bundle.damage().first() {
        return Err(format!("{table}: {why}"));
    }
    for b in bundle.binaries() {
        b.decompress().map_err(|e| e.to_string())?;
    }
    Ok(bundle)
}

/// Matches the programs of `bundle` against `programs` (by name, then by key).
pub(crate) fn offer<'a>(bundle: &Bundle<'a>, programs: &[ProgramSource], keys: &[Hash128]) -> Offer<'a> {
    let mut out = Offer { binaries: Vec::new(), tunings: Vec::new(), stale: Vec::new() };
    let current = |index: u32| -> Result<usize, String> {
        let Some(p) = bundle.programs().get(index as usize) else { return Err("?".into()) };
        match programs.iter().position(|c| c.name == p.name) {
            None => Err(format!("{} (no longer exists)", p.name)),
            Some(i) if keys[i] != p.key => Err(p.name.to_string()),
            Some(i) => Ok(i),
        }
    };
    for b in bundle.binaries() {
        match current(b.program) {
            Ok(i) => {
                let kernels = bundle.programs()[b.program as usize].kernels.iter().map(|k| k.to_record()).collect();
                out.binaries.push(Found { program: i, entry: b.clone(), kernels });
            }
            Err(name) => {
                if !out.stale.contains(&name) {
                    out.stale.push(name);
                }
            }
        }
    }
    for t in bundle.tunings() {
        match current(t.program) {
            Ok(i) => out.tunings.push((i, t.clone())),
            Err(name) => out.stale.push(format!("{name} (tuning of {})", t.kernel)),
        }
    }
    out
}

/// The kernels to store for a program: the driver's view when anyone compiled it, else
/// the reader's.
pub(crate) fn better(current: &[KernelRecord], other: &[KernelRecord]) -> bool {
    let driver = |ks: &[KernelRecord]| ks.iter().any(|k| k.origin == SignatureOrigin::Driver);
    driver(other) && !driver(current)
}

/// The precompiled bundles of `dir` (`*.clbk`, sorted); none when the directory is absent.
pub(crate) fn precompiled_files(dir: &Path) -> Result<Vec<PathBuf>, std::io::Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files: Vec<PathBuf> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "clbk")).collect();
    files.sort();
    Ok(files)
}

/// A precompiled bundle that cannot be used, as one line: a bundle of an older format says
/// to bake it again; a damaged one says so.
pub(crate) fn unusable(path: &Path, e: &FormatError) -> String {
    format!("{}: not used: {e}", path.display())
}
