//! `clbake bake`: compile programs for the devices present and write a bundle, through the
//! same pipeline build scripts run ([`clbake::core::bake`]).

use anyhow::{bail, Context, Result};
use clbake::core::bake::{self, tune::TuneOptions, JobSettings, Plan, Progress, WorkerCommand};
use clbake::core::cl::{self, ClError};
use clbake::core::env;
use clbake::core::format::{bundle_region, scan, Bundle};
use clbake::core::source::{self, DiscoverOptions, FileFailure, ProgramSource};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `clbake bake`.
///
/// Sources come from `--kernels DIR`, from the bundle embedded in `--from APP`, or, with
/// neither, from the kernels embedded in this executable (on-device self-bake).
#[derive(clap::Args)]
pub struct Args {
    /// Output bundle (.clbk), written atomically (temporary file, fsync, rename). When it
    /// exists, its binaries of unchanged programs are reused (see --full).
    /// With --remote, default: kernels/precompiled/HOST.clbk.
    #[arg(long, short, value_name = "FILE", required_unless_present = "remote")]
    out: Option<PathBuf>,
    /// Directory of .cl kernel files to bake (every NAME.cl under it, subfolders included,
    /// is a program; `// clbake:variant` lines and includes are handled as in build.rs).
    #[arg(long, value_name = "DIR", conflicts_with = "from")]
    kernels: Option<PathBuf>,
    /// Bake the sources embedded in this executable (an app built with `include_kernels!`).
    #[arg(long, value_name = "APP")]
    from: Option<PathBuf>,
    /// Include directory for `#include <...>` and `#include "..."` (with --kernels;
    /// repeatable). Headers are expanded into the bundle; the directory is not a build option.
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Define NAME (or NAME=VALUE, one word) for every program (with --kernels; repeatable).
    #[arg(short = 'D', value_name = "NAME[=VALUE]")]
    define: Vec<String>,
    /// Build options for the programs whose name or file matches NAME (a glob:
    /// `imgproc/boxFilter`, `imgproc/*`), e.g. `imgproc/boxFilter=-D T=uchar -D cn=1`
    /// (with --kernels; repeatable).
    #[arg(long, value_name = "NAME=OPTIONS")]
    program_options: Vec<String>,
    /// Leave out the kernel files whose path (relative to --kernels) matches GLOB
    /// (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Bake only the kernel files whose path matches GLOB (repeatable; default: all).
    #[arg(long, value_name = "GLOB")]
    only: Vec<String>,
    /// Write the bundle of the programs that compiled and report the others (exit status 1
    /// when any failed), instead of writing nothing.
    #[arg(long)]
    keep_going: bool,
    /// Compile every program, even those whose binary --out already holds.
    #[arg(long)]
    full: bool,
    /// Only this device index (repeatable; see `clbake devices`); default: every device.
    #[arg(long, value_name = "INDEX")]
    device: Vec<usize>,
    /// Compile workers (processes; 0 = one per core on CPU devices, in this process on GPUs;
    /// 1 = in this process only).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Stop a compile (in a worker process) that takes longer than SECS and report the
    /// program as failed: a driver stuck on one file does not stall the bake (0 = no limit;
    /// default: CLBAKE_COMPILE_TIMEOUT, else 600).
    #[arg(long, value_name = "SECS")]
    compile_timeout: Option<u64>,
    /// Do not run the declared launches (`// clbake:launch` lines) before capturing binaries.
    /// By default each runs once, so that code a driver compiles at a kernel's first launch
    /// (PoCL: a work-group function per local size) is in the binary, and its outputs are
    /// recorded as a known answer the runtime replays once per device.
    #[arg(long)]
    no_warm: bool,
    /// Do not record known answers of the declared launches.
    #[arg(long)]
    no_check: bool,
    /// Print a JSON summary on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: Box<super::remote::RemoteArgs>,
    #[command(flatten)]
    tune: super::tune::TuneArgs,
}

#[derive(serde::Serialize)]
struct FailureJson<'a> {
    program: &'a str,
    file: &'a Path,
    options: &'a str,
    device: &'a str,
    error: &'a str,
}

#[derive(serde::Serialize)]
struct Summary<'a> {
    out: &'a Path,
    bytes: usize,
    programs: Vec<&'a str>,
    devices: Vec<DeviceJson>,
    compiled: usize,
    reused: usize,
    binaries: usize,
    failed: Vec<FailureJson<'a>>,
    untyped: &'a [bake::Untyped],
    warnings: &'a [String],
    warmed_launches: usize,
    known_answers: usize,
    tuning_records: usize,
    seconds: f64,
}

#[derive(serde::Serialize)]
struct DeviceJson {
    index: usize,
    fingerprint_hash: String,
    description: String,
}

/// The embedded bundle of an executable (or a `.clbk` file), parsed.
fn embedded_bundle<'a>(bytes: &'a [u8], what: &Path) -> Result<Bundle<'a>> {
    let Some((_, first)) = scan(bundle_region(bytes)).into_iter().next() else {
        bail!(
            "{}: no clbake bundle embedded; pass an executable built with `include_kernels!`, or bake .cl files with --kernels DIR",
            what.display()
        );
    };
    first.with_context(|| format!("{}: embedded bundle is unreadable", what.display()))
}

fn discover(args: &Args, dir: &Path) -> Result<(Vec<ProgramSource>, Vec<FileFailure>)> {
    let defines =
        args.define.iter().map(|d| d.split_once('=').map_or((d.clone(), String::new()), |(k, v)| (k.to_string(), v.to_string()))).collect();
    let program_options = args
        .program_options
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(n, o)| (n.to_string(), o.to_string()))
                .with_context(|| format!("--program-options {p:?}: expected NAME=OPTIONS, e.g. 'imgproc/*=-D T=uchar'"))
        })
        .collect::<Result<_>>()?;
    let opts = DiscoverOptions {
        include_dirs: args.include.clone(),
        defines,
        program_options,
        exclude: args.exclude.clone(),
        only: args.only.clone(),
        variants: Vec::new(),
    };
    let found = source::discover(dir, &opts)?;
    Ok((found.programs, found.failures))
}

/// Runs the bake.
pub fn run(args: Args) -> Result<ExitCode> {
    if args.remote.remote.is_some() {
        let local = super::remote::Local {
            from: args.from.as_deref(),
            out: args.out.as_deref(),
            device: &args.device,
            jobs: args.jobs,
            json: args.json,
            tune: args.tune.tune.then_some((args.tune.tune_reps, args.tune.tune_candidates)),
            no_warm: args.no_warm,
        };
        return super::remote::run(&args.remote, &local);
    }
    let out = args.out.clone().context("--out FILE is required (or --remote HOST)")?;
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!("{}: the directory does not exist (create it first)", dir.display());
        }
    }
    // Before OpenCL is loaded: a fresh PoCL kernel cache, so the bundle does not depend on
    // what ran on this machine before (build scripts do the same).
    let pocl_cache = std::env::temp_dir().join(format!("clbake-bake-pocl-{}", std::process::id()));
    clbake::core::build::isolate_pocl_cache(&pocl_cache);
    let result = bake(&args, &out);
    let _ = std::fs::remove_dir_all(&pocl_cache);
    result
}

fn bake(args: &Args, out: &Path) -> Result<ExitCode> {
    let app_bytes;
    let (programs, failures) = if let Some(dir) = &args.kernels {
        discover(args, dir)?
    } else if let Some(app) = &args.from {
        app_bytes = std::fs::read(app).with_context(|| format!("cannot read {}", app.display()))?;
        (clbake::selfbake::programs_of(&embedded_bundle(&app_bytes, app)?)?, Vec::new())
    } else {
        (clbake::selfbake::programs(&crate::kernels::BUNDLE)?, Vec::new())
    };
    let all = cl::devices()?;
    let devices: Vec<_> = if args.device.is_empty() {
        all
    } else {
        args.device
            .iter()
            .map(|&i| all.get(i).cloned().ok_or(ClError::NoSuchDevice { index: i, count: all.len() }))
            .collect::<Result<_, _>>()?
    };
    if devices.is_empty() {
        return Err(ClError::NoDevice.into());
    }
    eprintln!("baking {} program(s) for {} device(s):", programs.len(), devices.len());
    for d in &devices {
        eprintln!("  device {}: {}", d.index, d.fingerprint.describe());
    }
    let start = Instant::now();
    let tune = args.tune.tune.then(|| TuneOptions { reps: args.tune.tune_reps.max(1), max_candidates: args.tune.tune_candidates.max(1) });
    if tune.is_some() {
        eprintln!("tuning local work sizes first (// clbake:tune lines)");
    }
    let plan = Plan {
        devices: devices.clone(),
        settings: JobSettings { capture: true, warm: !args.no_warm, checks: !args.no_check && !args.no_warm },
        keep_going: args.keep_going,
        jobs: args.jobs,
        workers: WorkerCommand::this_executable(&[]),
        compile_timeout: bake::compile_timeout(match args.compile_timeout {
            Some(s) => Some(s),
            None => env::number(env::COMPILE_TIMEOUT)?,
        }),
        previous: if args.full { None } else { std::fs::read(out).ok() },
        tune,
        zstd_level: env::number(env::ZSTD_LEVEL)?.unwrap_or(clbake::core::format::DEFAULT_LEVEL),
        ..Plan::default()
    };
    let progress = |p: Progress<'_>| eprintln!("  {}", p.line());
    let baked = bake::bake(&programs, &failures, &plan, &progress)?;
    let r = &baked.report;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    for u in &r.untyped {
        eprintln!("warning: {u}");
    }
    for f in &r.failures {
        eprint!("error: {f}");
    }
    clbake::core::atomic::write(out, &baked.bundle, 0o644).with_context(|| format!("cannot write {}", out.display()))?;
    let bundle = Bundle::parse(&baked.bundle)?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("{}", r.summary());
    eprintln!("wrote {} ({} bytes; {} binaries) in {seconds:.1} s", out.display(), baked.bundle.len(), bundle.binaries().len());
    if args.json {
        super::print_json(&Summary {
            out,
            bytes: baked.bundle.len(),
            programs: programs.iter().map(|p| p.name.as_str()).collect(),
            devices: devices
                .iter()
                .map(|d| DeviceJson {
                    index: d.index,
                    fingerprint_hash: d.fingerprint.hash().to_hex(),
                    description: d.fingerprint.describe(),
                })
                .collect(),
            compiled: r.compiled,
            reused: r.reused,
            binaries: bundle.binaries().len(),
            failed: r
                .failures
                .iter()
                .map(|f| FailureJson { program: &f.program, file: &f.file, options: &f.options, device: &f.device, error: f.first_error() })
                .collect(),
            untyped: &r.untyped,
            warnings: &r.warnings,
            warmed_launches: r.warmed,
            known_answers: r.answers,
            tuning_records: r.tunings,
            seconds,
        })?;
    }
    Ok(if r.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
