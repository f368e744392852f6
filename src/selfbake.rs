//! On-device self-bake: an executable built with clbake compiles the kernel sources it
//! embeds for the OpenCL devices it runs on and writes a `.clbk` bundle. No kernel file has
//! to travel to the board: copy the executable there, run it with `--clbake-bake`, copy the
//! bundle back into the crate's `kernels/precompiled/` and rebuild — the next build embeds
//! the board's binaries. `clbake bake --remote user@board --from ./app` does that round trip
//! over ssh.
//!
//! Wire the flag into an app's `main` (one line; it must come before the app parses its own
//! arguments):
//!
//! ```no_run
//! mod kernels {
//!     clbake::include_kernels!();
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     // `app --clbake-bake board.clbk`: bake the embedded sources for this device, exit.
//!     if let Some(code) = clbake::selfbake::run_from_args(&kernels::BUNDLE) {
//!         return code;
//!     }
//!     // ... the app itself.
//!     std::process::ExitCode::SUCCESS
//! }
//! ```
//!
//! Or call the library directly:
//!
//! ```no_run
//! # mod kernels { clbake::include_kernels!(); }
//! # fn main() -> Result<(), clbake::selfbake::SelfBakeError> {
//! let devices = clbake::core::cl::devices()?;
//! let summary = clbake::selfbake::bake_embedded(&kernels::BUNDLE, &devices, "board.clbk".as_ref())?;
//! eprintln!("{} binaries for {} programs", summary.binaries, summary.programs);
//! # Ok(())
//! # }
//! ```
//!
//! The bundle holds the embedded programs (names, options, expanded sources) and one binary
//! per program and device, so the build script's staleness check (the source hash) applies
//! to it exactly as to a bundle baked from `.cl` files.

use crate::tuner::{self, DeviceTunings, Measured, TuneOptions};
use crate::Embedded;
use clbake_core::cl::{self, BakeOptions, BakeProgress, ClError, DeviceInfo, DeviceSelector};
use clbake_core::format::FormatError;
use clbake_core::source::ProgramSource;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The command-line flag [`run_from_args`] answers to: `app --clbake-bake FILE`.
pub const FLAG: &str = "--clbake-bake";

/// Why a self-bake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelfBakeError {
    /// The embedded bundle's header or tables are unreadable.
    #[error("the embedded kernel bundle is unreadable: {0}")]
    Bundle(#[source] FormatError),
    /// The embedded bundle holds no program, so there is nothing to bake.
    #[error("the embedded kernel bundle holds no program: nothing to bake")]
    NoPrograms,
    /// A program's embedded source fails to decompress or to match its checksum.
    #[error("the embedded source of program `{program}` is unreadable: {source}")]
    Source {
        /// Program name.
        program: String,
        /// What is wrong with it.
        source: FormatError,
    },
    /// No device was given to bake for.
    #[error("no OpenCL device to bake for")]
    NoDevice,
    /// OpenCL failed: no runtime, no device, or a program that does not compile (with the
    /// driver's log).
    #[error(transparent)]
    Cl(#[from] ClError),
    /// Tuning (`CLBAKE_TUNE=1`) failed.
    #[error(transparent)]
    Tune(#[from] crate::tuner::TuneError),
    /// Writing the bundle failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What a self-bake wrote.
#[derive(Clone, Debug)]
pub struct SelfBakeSummary {
    /// The bundle file.
    pub out: PathBuf,
    /// Size of the bundle in bytes.
    pub bytes: usize,
    /// Programs in the bundle.
    pub programs: usize,
    /// Devices baked for.
    pub devices: usize,
    /// Binaries in the bundle (programs × devices).
    pub binaries: usize,
    /// Uncompressed size of all binaries.
    pub uncompressed_bytes: usize,
    /// Declared launches run before capturing binaries.
    pub warmed_launches: usize,
    /// Tuning records written (`CLBAKE_TUNE=1`).
    pub tuning_records: usize,
    /// Time spent compiling and writing.
    pub elapsed: Duration,
}

/// The programs of an embedded bundle, with their (already include-expanded) sources.
pub fn programs(embedded: &Embedded) -> Result<Vec<ProgramSource>, SelfBakeError> {
    let bundle = embedded.parse().map_err(SelfBakeError::Bundle)?;
    bundle
        .programs()
        .iter()
        .map(|p| {
            let source = p.source().map_err(|source| SelfBakeError::Source { program: p.name.to_string(), source })?;
            Ok(ProgramSource {
                name: p.name.to_string(),
                file: PathBuf::from(format!("{}.cl", p.name)),
                options: p.options.to_string(),
                source,
                kernels: p.kernels.iter().map(|k| k.to_string()).collect(),
                inputs: Vec::new(),
            })
        })
        .collect()
}

/// Compiles every embedded program for every device in `devices` and writes the bundle to
/// `out` atomically (temporary file, fsync, rename). One compile per core, no progress output.
pub fn bake_embedded(embedded: &Embedded, devices: &[DeviceInfo], out: &Path) -> Result<SelfBakeSummary, SelfBakeError> {
    bake_embedded_with(embedded, devices, out, &BakeOptions::default(), &|_| {})
}

/// [`bake_embedded`] with bake options (`jobs`, `warm`, `tuned`; `capture` is forced on) and
/// a progress callback, called once per finished compile.
pub fn bake_embedded_with(
    embedded: &Embedded,
    devices: &[DeviceInfo],
    out: &Path,
    opts: &BakeOptions,
    progress: &(dyn Fn(BakeProgress<'_>) + Sync),
) -> Result<SelfBakeSummary, SelfBakeError> {
    bake_and_write(embedded, devices, out, opts, &[], progress)
}

/// The bake, adding the tuning records of `tunings` (measured on `devices`) to the bundle.
fn bake_and_write(
    embedded: &Embedded,
    devices: &[DeviceInfo],
    out: &Path,
    opts: &BakeOptions,
    tunings: &[DeviceTunings],
    progress: &(dyn Fn(BakeProgress<'_>) + Sync),
) -> Result<SelfBakeSummary, SelfBakeError> {
    let start = Instant::now();
    let programs = programs(embedded)?;
    if programs.is_empty() {
        return Err(SelfBakeError::NoPrograms);
    }
    if devices.is_empty() {
        return Err(SelfBakeError::NoDevice);
    }
    let opts = BakeOptions { capture: true, ..opts.clone() };
    let baked = cl::bake(&programs, devices, &opts, progress)?;
    let mut writer = cl::bundle_writer(&programs, &baked, devices);
    let tuning_records = tuner::add_records(&mut writer, tunings, devices);
    let bytes = writer.to_bytes();
    write_atomic(out, &bytes).map_err(|source| SelfBakeError::Write { path: out.to_path_buf(), source })?;
    Ok(SelfBakeSummary {
        out: out.to_path_buf(),
        bytes: bytes.len(),
        programs: programs.len(),
        devices: devices.len(),
        binaries: baked.iter().filter(|b| b.binary.is_some()).count(),
        uncompressed_bytes: baked.iter().filter_map(|b| b.binary.as_ref().map(Vec::len)).sum(),
        warmed_launches: baked.iter().map(|b| b.warm.launches).sum(),
        tuning_records,
        elapsed: start.elapsed(),
    })
}

/// Handles `app --clbake-bake FILE` (or `--clbake-bake=FILE`) as the process's first
/// argument: bakes `embedded` for every OpenCL device (only device `CLBAKE_DEVICE` when that
/// is set; `CLBAKE_JOBS` parallel compiles; `CLBAKE_WARM=0` skips the declared launches;
/// `CLBAKE_TUNE=1` also measures local sizes as `clbake bake --tune` does, with
/// `CLBAKE_TUNE_REPS` and `CLBAKE_TUNE_CANDIDATES`), prints one
/// progress line per compile on stderr
/// and returns the exit code (0 written, 1 failed, 2 usage error). Returns `None`, doing
/// nothing, when the first argument is something else, so the app runs normally.
pub fn run_from_args(embedded: &Embedded) -> Option<ExitCode> {
    let out = match parse_args(std::env::args_os().skip(1))? {
        Ok(out) => out,
        Err(usage) => {
            eprintln!("error: {usage}");
            return Some(ExitCode::from(2));
        }
    };
    Some(match bake_for_env(embedded, &out) {
        Ok(s) => {
            eprintln!(
                "wrote {} ({} bytes: {} program(s) x {} device(s) = {} binaries, {} bytes uncompressed) in {:.1} s",
                s.out.display(),
                s.bytes,
                s.programs,
                s.devices,
                s.binaries,
                s.uncompressed_bytes,
                s.elapsed.as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: self-bake to {} failed: {e}", out.display());
            ExitCode::FAILURE
        }
    })
}

/// `None`: not a self-bake invocation; `Some(Err(usage))`: a malformed one.
fn parse_args(mut args: impl Iterator<Item = OsString>) -> Option<Result<PathBuf, String>> {
    let first = args.next()?;
    let first = first.to_str()?;
    let out = if first == FLAG {
        match args.next() {
            Some(f) if !f.is_empty() => PathBuf::from(f),
            _ => return Some(Err(format!("{FLAG} needs an output file: APP {FLAG} FILE.clbk"))),
        }
    } else if let Some(f) = first.strip_prefix(FLAG).and_then(|rest| rest.strip_prefix('=')) {
        if f.is_empty() {
            return Some(Err(format!("{FLAG} needs an output file: APP {FLAG} FILE.clbk")));
        }
        PathBuf::from(f)
    } else {
        return None;
    };
    if let Some(extra) = args.next() {
        return Some(Err(format!("unexpected argument {:?} after {FLAG} FILE", extra.to_string_lossy())));
    }
    Some(Ok(out))
}

/// The self-bake of [`run_from_args`]: devices from the environment, progress on stderr.
fn bake_for_env(embedded: &Embedded, out: &Path) -> Result<SelfBakeSummary, SelfBakeError> {
    let all = cl::devices()?;
    let devices = match DeviceSelector::from_env() {
        sel @ DeviceSelector::Index(_) => vec![sel.pick(&all)?.clone()],
        DeviceSelector::Default => all,
    };
    if devices.is_empty() {
        return Err(ClError::NoDevice.into());
    }
    for d in &devices {
        eprintln!("self-bake: device {}: {}", d.index, d.fingerprint.describe());
    }
    let jobs = std::env::var("CLBAKE_JOBS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let progress = |p: BakeProgress<'_>| eprintln!("self-bake: {}", p.line());
    let warm = !std::env::var("CLBAKE_WARM").is_ok_and(|v| crate::cache::dir::is_off(&v));
    let mut tunings = Vec::new();
    if std::env::var("CLBAKE_TUNE").is_ok_and(|v| matches!(v.trim(), "1" | "on" | "true" | "yes")) {
        let programs = programs(embedded)?;
        let num = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(default).max(1);
        let defaults = TuneOptions::default();
        let opts = TuneOptions { reps: num("CLBAKE_TUNE_REPS", defaults.reps), max_candidates: num("CLBAKE_TUNE_CANDIDATES", defaults.max_candidates) };
        let started = |device: &DeviceInfo| eprintln!("self-bake: tuning local work sizes on {}", device.fingerprint.describe());
        let shown = |p: &ProgramSource, m: &Measured| {
            let l = &m.launch;
            eprintln!("self-bake: tuned {} {} global {:?}: local {:?} ({} candidates)", p.name, l.kernel, l.global, l.local, m.candidates);
        };
        tunings = tuner::tune_devices(&programs, &devices, &opts, &started, &shown)?;
    }
    let opts = BakeOptions { capture: true, jobs, warm, tuned: tuner::tuned_locals(&tunings) };
    bake_and_write(embedded, &devices, out, &opts, &tunings, &progress)
}

/// Writes `bytes` to a temporary file next to `path`, fsyncs it and renames it into place,
/// so a reader sees the old file or the whole new one, never a torn bundle.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use clbake_core::format::{Bundle, BundleWriter};

    fn args(a: &[&str]) -> Option<Result<PathBuf, String>> {
        parse_args(a.iter().map(OsString::from))
    }

    fn embedded(programs: &[(&str, &str)]) -> Embedded {
        let mut w = BundleWriter::new();
        for (name, src) in programs {
            w.add_program(name, "", &["k".to_string()], src);
        }
        Embedded::from_vec(w.to_bytes())
    }

    #[test]
    fn flag_parsing() {
        assert_eq!(args(&[]), None);
        assert_eq!(args(&["demo", "--clbake-bake", "x"]), None, "only the first argument counts");
        assert_eq!(args(&["--clbake-baked"]), None);
        assert_eq!(args(&["--clbake-bake", "o.clbk"]), Some(Ok(PathBuf::from("o.clbk"))));
        assert_eq!(args(&["--clbake-bake=o.clbk"]), Some(Ok(PathBuf::from("o.clbk"))));
        assert!(matches!(args(&["--clbake-bake"]), Some(Err(e)) if e.contains("needs an output file")));
        assert!(matches!(args(&["--clbake-bake="]), Some(Err(e)) if e.contains("needs an output file")));
        assert!(matches!(args(&["--clbake-bake", "o", "x"]), Some(Err(e)) if e.contains("unexpected argument \"x\"")));
    }

    #[test]
    fn programs_come_back_with_sources() {
        let e = embedded(&[("a", "__kernel void k(__global float* x) { x[0] = 1.0f; }"), ("b", "__kernel void k() {}")]);
        let p = programs(&e).unwrap();
        assert_eq!(p.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(p[0].source.contains("x[0] = 1.0f"));
        assert_eq!(p[1].kernels, ["k"]);
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let garbage = Embedded::from_vec(b"not a bundle at all".to_vec());
        assert!(matches!(programs(&garbage), Err(SelfBakeError::Bundle(_))));
        let empty = embedded(&[]);
        let out = std::env::temp_dir().join(format!("clbake-selfbake-empty-{}.clbk", std::process::id()));
        assert!(matches!(bake_embedded(&empty, &[], &out), Err(SelfBakeError::NoPrograms)));
        let one = embedded(&[("a", "__kernel void k() {}")]);
        assert!(matches!(bake_embedded(&one, &[], &out), Err(SelfBakeError::NoDevice)));
        assert!(!out.exists());
    }

    /// A real bake on the host's OpenCL device (PoCL in CI): the bundle parses and holds one
    /// binary per program and device, keyed to the embedded sources.
    #[test]
    fn bakes_for_the_host_device() {
        let devices = cl::devices().expect("an OpenCL device (PoCL)");
        let e = embedded(&[("a", "__kernel void k(__global float* x) { x[0] = 1.0f; }"), ("b", "__kernel void k(__global int* y) { y[0] = 2; }")]);
        let dir = std::env::temp_dir().join(format!("clbake-selfbake-{}", std::process::id()));
        let out = dir.join("sub").join("host.clbk");
        let s = bake_embedded(&e, &devices[..1], &out).unwrap();
        assert_eq!((s.programs, s.devices, s.binaries), (2, 1, 2));
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes.len(), s.bytes);
        let bundle = Bundle::parse(&bytes).unwrap();
        let src = e.parse().unwrap();
        assert_eq!(bundle.binaries().len(), 2);
        for (mine, theirs) in bundle.programs().iter().zip(src.programs()) {
            assert_eq!(mine.key(), theirs.key(), "program {} keyed to another source", mine.name);
        }
        assert_eq!(bundle.binaries()[0].fingerprint_hash, devices[0].fingerprint.hash());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

