//! On-device self-bake: an executable built with clbake compiles the kernel sources it
//! embeds for the OpenCL devices it runs on and writes a `.clbk` bundle. No kernel file has
//! to travel to the board: copy the executable there, run it with `--clbake-bake`, copy the
//! bundle back into the crate's `kernels/precompiled/` and rebuild — the next build embeds
//! the board's binaries. `clbake bake --remote user@board --from ./app` does that round trip
//! over ssh.
//!
//! Wire the flag into an app's `main` (one line; it must come before the app parses its own
//! arguments — it also serves the compile worker processes a bake starts):
//!
//! ```ignore
//! // (In a crate whose build.rs bakes its kernels: see docs/GUIDE.md.)
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
//! The bundle holds the embedded programs (names, options, expanded sources) and one binary
//! per program and device, so the build script's staleness check (the program key) applies
//! to it exactly as to a bundle baked from `.cl` files. The bake itself is
//! [`clbake_core::bake`], the same pipeline build scripts and `clbake bake` run.

use crate::{Embedded, Error};
use clbake_core::bake::{self, tune::TuneOptions, Plan, Progress, WorkerCommand};
use clbake_core::cl::{self, DeviceInfo, DeviceSelector};
use clbake_core::env;
use clbake_core::format::Bundle;
use clbake_core::source::ProgramSource;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The command-line flag [`run_from_args`] answers to: `app --clbake-bake FILE`.
pub const FLAG: &str = "--clbake-bake";

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
    /// Compiles run.
    pub compiled: usize,
    /// Programs that failed (they stay in the bundle as sources).
    pub failed: usize,
    /// Declared launches run before capturing binaries.
    pub warmed_launches: usize,
    /// Tuning records written (`CLBAKE_TUNE=on`).
    pub tuning_records: usize,
    /// Time spent compiling and writing.
    pub elapsed: Duration,
}

/// The programs of a bundle, with their (already include-expanded) sources, as the bake
/// pipeline takes them. Their kernels are read again from the sources.
pub fn programs<P>(embedded: &Embedded<P>) -> Result<Vec<ProgramSource>, Error> {
    programs_of(&embedded.parse().map_err(Error::Bundle)?)
}

/// The programs of a parsed bundle (see [`programs`]).
pub fn programs_of(bundle: &Bundle<'_>) -> Result<Vec<ProgramSource>, Error> {
    bundle
        .programs()
        .iter()
        .map(|p| {
            let source = p.source().map_err(|source| Error::Source { program: p.name.to_string(), source })?;
            Ok(ProgramSource::new(p.name, p.stem, p.variant, PathBuf::from(format!("{}.cl", p.stem)), p.options, source))
        })
        .collect()
}

/// Bakes every embedded program for every device in `devices` as `plan` says (its
/// `devices` are replaced) and writes the bundle to `out` atomically. The directory of
/// `out` must exist.
pub fn bake_embedded<P>(
    embedded: &Embedded<P>,
    devices: &[DeviceInfo],
    out: &Path,
    plan: Plan,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<SelfBakeSummary, Error> {
    bake_any(&embedded.erased(), devices, out, plan, progress)
}

/// [`bake_embedded`] without the type parameter.
fn bake_any(
    embedded: &Embedded,
    devices: &[DeviceInfo],
    out: &Path,
    plan: Plan,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<SelfBakeSummary, Error> {
    let start = Instant::now();
    let programs = programs(embedded)?;
    if devices.is_empty() {
        return Err(Error::NoDevice);
    }
    let plan = Plan { devices: devices.to_vec(), ..plan };
    let baked = bake::bake(&programs, &[], &plan, progress)?;
    clbake_core::atomic::write(out, &baked.bundle, 0o644)?;
    let r = &baked.report;
    Ok(SelfBakeSummary {
        out: out.to_path_buf(),
        bytes: baked.bundle.len(),
        programs: programs.len(),
        devices: devices.len(),
        compiled: r.compiled,
        failed: r.failures.len(),
        warmed_launches: r.warmed,
        tuning_records: r.tunings,
        elapsed: start.elapsed(),
    })
}

/// Handles `app --clbake-bake FILE` (or `--clbake-bake=FILE`) as the process's first
/// argument: bakes `embedded` for every OpenCL device (only device `CLBAKE_DEVICE` when that
/// is set; `CLBAKE_JOBS` compile workers; `CLBAKE_WARM=off` skips the declared launches,
/// `CLBAKE_CHECK=off` the known answers; `CLBAKE_TUNE=on` also measures local sizes as
/// `clbake bake --tune` does, with `CLBAKE_TUNE_REPS` and `CLBAKE_TUNE_CANDIDATES`),
/// prints one progress line per compile on stderr and returns the exit code (0 written,
/// 1 failed, 2 usage error). Also serves as a compile worker when the bake started this
/// process as one. Returns `None`, doing nothing, otherwise, so the app runs normally.
pub fn run_from_args<P>(embedded: &Embedded<P>) -> Option<ExitCode> {
    run_any(&embedded.erased())
}

/// [`run_from_args`] without the type parameter.
fn run_any(embedded: &Embedded) -> Option<ExitCode> {
    if let Some(code) = bake::serve_if_worker() {
        return Some(ExitCode::from(u8::try_from(code).unwrap_or(1)));
    }
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
                "wrote {} ({} bytes: {} program(s) x {} device(s), {} compiled, {} failed) in {:.1} s",
                s.out.display(),
                s.bytes,
                s.programs,
                s.devices,
                s.compiled,
                s.failed,
                s.elapsed.as_secs_f64()
            );
            if s.failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
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
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Some(Err(format!("{}: the directory does not exist (create it first)", dir.display())));
    }
    Some(Ok(out))
}

/// The self-bake of [`run_from_args`]: devices and settings from the environment,
/// progress on stderr, compile workers run by this executable.
fn bake_for_env(embedded: &Embedded, out: &Path) -> Result<SelfBakeSummary, Error> {
    let all = cl::devices()?;
    let devices = match DeviceSelector::from_env()? {
        sel @ DeviceSelector::Index(_) => vec![sel.pick(&all)?.clone()],
        DeviceSelector::Default => all,
    };
    if devices.is_empty() {
        return Err(Error::NoDevice);
    }
    for d in &devices {
        eprintln!("self-bake: device {}: {}", d.index, d.fingerprint.describe());
    }
    let tune = match env::flag(env::TUNE)? {
        Some(true) => {
            let d = TuneOptions::default();
            Some(TuneOptions {
                reps: env::number(env::TUNE_REPS)?.unwrap_or(d.reps).max(1),
                max_candidates: env::number(env::TUNE_CANDIDATES)?.unwrap_or(d.max_candidates).max(1),
            })
        }
        _ => None,
    };
    let plan = Plan {
        settings: bake::JobSettings {
            capture: true,
            warm: env::flag(env::WARM)?.unwrap_or(true),
            checks: env::flag(env::CHECK)?.unwrap_or(true),
        },
        keep_going: true,
        jobs: env::number(env::JOBS)?.unwrap_or(0),
        workers: WorkerCommand::this_executable(&[]),
        compile_timeout: bake::compile_timeout(env::number(env::COMPILE_TIMEOUT)?),
        tune,
        ..Plan::default()
    };
    let progress = |p: Progress<'_>| eprintln!("self-bake: {}", p.line());
    bake_any(embedded, &devices, out, plan, &progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clbake_core::format::{BundleWriter, ProgramSpec};

    fn args(a: &[&str]) -> Option<Result<PathBuf, String>> {
        parse_args(a.iter().map(OsString::from))
    }

    fn embedded(programs: &[(&str, &str)]) -> Embedded {
        let mut w = BundleWriter::new().with_level(1);
        for (name, src) in programs {
            w.add_program(&ProgramSpec::simple(name, "", &["k"], src));
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
        assert!(matches!(args(&["--clbake-bake", "/nonexistent/dir/x.clbk"]), Some(Err(e)) if e.contains("does not exist")));
    }

    #[test]
    fn programs_come_back_with_sources() {
        let e = embedded(&[("a", "__kernel void k(__global float* x) { x[0] = 1.0f; }"), ("b", "__kernel void k() {}")]);
        let p = programs(&e).unwrap();
        assert_eq!(p.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(p[0].source.contains("x[0] = 1.0f"));
        assert_eq!(p[1].kernels.len(), 1);
        assert!(matches!(programs(&Embedded::from_vec(b"not a bundle at all".to_vec())), Err(Error::Bundle(_))));
    }

    /// A real bake on the host's OpenCL device (PoCL in CI): the bundle parses and holds one
    /// binary per program and device, keyed to the embedded sources.
    #[test]
    fn bakes_for_the_host_device() {
        let devices = cl::devices().expect("an OpenCL device (PoCL)");
        let e = embedded(&[
            ("a", "__kernel void k(__global float* x) { x[0] = 1.0f; }"),
            ("b", "__kernel void k(__global int* y) { y[0] = 2; }"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("host.clbk");
        let s = bake_embedded(&e, &devices[..1], &out, Plan::default(), &|_| {}).unwrap();
        assert_eq!((s.programs, s.devices, s.compiled, s.failed), (2, 1, 2, 0));
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes.len(), s.bytes);
        let bundle = Bundle::parse(&bytes).unwrap();
        let src = e.parse().unwrap();
        assert_eq!(bundle.binaries().len(), 2);
        for (mine, theirs) in bundle.programs().iter().zip(src.programs()) {
            assert_eq!(mine.key, theirs.key, "program {} keyed to another source", mine.name);
        }
        assert_eq!(bundle.binaries()[0].fingerprint_hash, devices[0].fingerprint.hash());
        assert_eq!(bundle.programs()[0].kernels[0].origin, clbake_core::format::SignatureOrigin::Driver);
    }
}
