//! `clbake bake`: compile programs for the devices present and write a bundle.

use anyhow::{bail, Context, Result};
use clbake::core::cl::{self, BakeOptions, BakeProgress};
use clbake::core::format::{elf_section, scan};
use clbake::core::source::{self, DiscoverOptions, ProgramSource};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `clbake bake`.
///
/// Sources come from `--kernels DIR`, from the bundle embedded in `--from APP`, or, with
/// neither, from the kernels embedded in this executable (on-device self-bake).
#[derive(clap::Args)]
pub struct Args {
    /// Output bundle (.clbk), written atomically (temporary file, fsync, rename).
    /// With --remote, default: kernels/precompiled/HOST.clbk.
    #[arg(long, short, value_name = "FILE", required_unless_present = "remote")]
    out: Option<PathBuf>,
    /// Directory of .cl kernel files to bake (every top-level NAME.cl is a program;
    /// `// clbake:variant` lines and quoted includes are handled as in build.rs).
    #[arg(long, value_name = "DIR", conflicts_with = "from")]
    kernels: Option<PathBuf>,
    /// Bake the sources embedded in this executable (an app built with `include_kernels!`).
    #[arg(long, value_name = "APP")]
    from: Option<PathBuf>,
    /// Extra include directory (with --kernels).
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Define NAME=VALUE for every program (with --kernels).
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    define: Vec<String>,
    /// Only this device index (repeatable; see `clbake devices`); default: every device.
    #[arg(long, value_name = "INDEX")]
    device: Vec<usize>,
    /// Parallel compile jobs (0 = one per core).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Do not run the declared launches (`// clbake:launch` lines) before capturing binaries. By default each runs once, with zero-filled buffers, so that code a
    /// driver compiles at a kernel's first launch (PoCL: a work-group function per local
    /// size) is in the binary and the application's first launch does not compile.
    #[arg(long)]
    no_warm: bool,
    /// Print a JSON summary on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: Box<super::remote::RemoteArgs>,
    #[command(flatten)]
    tune: super::tune::TuneArgs,
}

#[derive(serde::Serialize)]
struct Summary<'a> {
    out: &'a Path,
    bytes: usize,
    programs: Vec<&'a str>,
    devices: Vec<DeviceJson>,
    binaries: usize,
    uncompressed_bytes: usize,
    warmed_launches: usize,
    seconds: f64,
}

#[derive(serde::Serialize)]
struct DeviceJson {
    index: usize,
    fingerprint_hash: String,
    description: String,
}

/// Programs taken from an embedded bundle (the sources are already expanded).
fn programs_from_bundle(bytes: &[u8], what: &Path) -> Result<Vec<ProgramSource>> {
    let region = elf_section(bytes, ".clbake").unwrap_or(bytes);
    let found = scan(region);
    let Some((_, first)) = found.into_iter().next() else {
        bail!(
            "{}: no clbake bundle embedded; pass an executable built with `include_kernels!`, or bake .cl files with --kernels DIR",
            what.display()
        );
    };
    let bundle = first.with_context(|| format!("{}: embedded bundle is unreadable", what.display()))?;
    bundle
        .programs()
        .iter()
        .map(|p| {
            Ok(ProgramSource {
                name: p.name.to_string(),
                file: PathBuf::from(format!("{}.cl", p.name)),
                options: p.options.to_string(),
                source: p.source().with_context(|| format!("{}: source of program `{}`", what.display(), p.name))?,
                kernels: p.kernels.iter().map(|k| k.to_string()).collect(),
                inputs: Vec::new(),
            })
        })
        .collect()
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
    let programs = if let Some(dir) = &args.kernels {
        let defines = args
            .define
            .iter()
            .map(|d| match d.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (d.clone(), String::new()),
            })
            .collect();
        source::discover(dir, &DiscoverOptions { include_dirs: args.include.clone(), defines })?
    } else if let Some(app) = &args.from {
        let bytes = std::fs::read(app).with_context(|| format!("cannot read {}", app.display()))?;
        programs_from_bundle(&bytes, app)?
    } else {
        let me = std::env::current_exe().context("cannot find this executable")?;
        programs_from_bundle(crate::kernels::BUNDLE.bytes(), &me)?
    };
    let all = cl::devices()?;
    let devices: Vec<_> = if args.device.is_empty() {
        all
    } else {
        args.device
            .iter()
            .map(|&i| all.get(i).cloned().ok_or(cl::ClError::NoSuchDevice { index: i, count: all.len() }))
            .collect::<Result<_, _>>()?
    };
    if devices.is_empty() {
        return Err(cl::ClError::NoDevice.into());
    }
    eprintln!("baking {} program(s) for {} device(s):", programs.len(), devices.len());
    for d in &devices {
        eprintln!("  device {}: {}", d.index, d.fingerprint.describe());
    }
    let start = Instant::now();
    let progress = |p: BakeProgress<'_>| eprintln!("  {}", p.line());
    // Tune first, so that launches are warmed with the local sizes the runtime will use.
    let tunings = super::tune::measure(&args.tune, &programs, &devices)?;
    let tuned = clbake::tuner::tuned_locals(&tunings);
    let opts = BakeOptions { capture: true, jobs: args.jobs, warm: !args.no_warm, tuned };
    let baked = cl::bake(&programs, &devices, &opts, &progress)?;
    let mut writer = cl::bundle_writer(&programs, &baked, &devices);
    clbake::tuner::add_records(&mut writer, &tunings, &devices);
    let warmed: usize = baked.iter().map(|b| b.warm.launches).sum();
    if warmed > 0 {
        eprintln!("ran {warmed} declared launch(es) before capturing binaries (--no-warm skips them)");
    }
    let bytes = writer.to_bytes();
    write_atomic(&out, &bytes)?;
    let raw: usize = baked.iter().filter_map(|b| b.binary.as_ref().map(Vec::len)).sum();
    let seconds = start.elapsed().as_secs_f64();
    eprintln!("wrote {} ({} bytes; {} binaries, {} bytes uncompressed) in {seconds:.1} s", out.display(), bytes.len(), baked.len(), raw);
    if args.json {
        super::print_json(&Summary {
            out: &out,
            bytes: bytes.len(),
            programs: programs.iter().map(|p| p.name.as_str()).collect(),
            devices: devices
                .iter()
                .map(|d| DeviceJson { index: d.index, fingerprint_hash: d.fingerprint.hash().to_hex(), description: d.fingerprint.describe() })
                .collect(),
            binaries: baked.len(),
            uncompressed_bytes: raw,
            warmed_launches: warmed,
            seconds,
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

/// [`clbake::selfbake::write_atomic`] with the path in the error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    clbake::selfbake::write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
