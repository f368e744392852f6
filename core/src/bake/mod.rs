//! The bake pipeline, the one place where programs become a bundle: build scripts
//! ([`crate::build`]), the `clbake bake` tool and apps' self-bake (`--clbake-bake`) all call
//! [`bake`].
//!
//! ```text
//! programs (discovered, or from a bundle)
//!   -> reuse: binaries of the previous bundle whose key and device are unchanged
//!   -> tune (optional): best local work sizes per `// clbake:tune` line and device
//!   -> compile every other (program, device): build, read the driver's signatures, run the
//!      declared launches (warm code, known answers), capture the binary
//!      — in this process, or in compile worker processes where the driver compiles one
//!      program at a time per process
//!   -> merge precompiled bundles (other devices)
//!   -> bundle bytes, and a report: what was compiled, reused, failed, and every kernel that
//!      gets no typed method
//! ```
//! A program that fails is reported with its file, options and the driver's log; with
//! `keep_going` the others are still baked and the failed ones stay in the bundle as
//! sources (a device with the extension they need may compile them at run time).

mod job;
mod report;
mod reuse;
pub mod tune;
pub mod worker;

pub use job::{compile, driver_kernels, Compiled, Failure, JobSettings};
pub use report::{untyped_kernels, Progress, Report, Step, Untyped};
pub use worker::{serve_if_worker, WorkerCommand};

use crate::cl::{ClError, DeviceInfo};
use crate::format::{Bundle, BundleWriter, FormatError, KernelRecord, TunedLaunch};
use crate::hash::Hash128;
use crate::source::{FileFailure, ProgramSource};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tune::{DeviceTunings, TuneOptions};

/// The compile timeout when none is given: ten minutes (PoCL 3.1 has been seen taking more
/// than 20 minutes to hand back the binary of one OpenCV file, `objdetect_hog.cl`).
pub const DEFAULT_COMPILE_TIMEOUT: Duration = Duration::from_secs(600);

/// The compile timeout for `seconds` (`CLBAKE_COMPILE_TIMEOUT`, `--compile-timeout`): the
/// default when not given, no limit for 0.
pub fn compile_timeout(seconds: Option<u64>) -> Option<Duration> {
    match seconds {
        None => Some(DEFAULT_COMPILE_TIMEOUT),
        Some(0) => None,
        Some(s) => Some(Duration::from_secs(s)),
    }
}

/// Everything a bake takes besides the programs.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Devices to bake for; empty: sources only.
    pub devices: Vec<DeviceInfo>,
    /// What each compile does besides compiling (capture, warm, known answers).
    pub settings: JobSettings,
    /// Go on after a failed program: bake the others, report all failures.
    pub keep_going: bool,
    /// Parallel compiles: 0 = one per core.
    pub jobs: usize,
    /// How to start compile worker processes; `None`: compile in this process only.
    pub workers: Option<WorkerCommand>,
    /// Longest time one compile in a worker process may take before the worker is killed
    /// and the program reported as failed (a driver stuck on it); `None`: no limit.
    pub compile_timeout: Option<Duration>,
    /// The bundle a previous bake of the same programs wrote: its binaries whose program and
    /// device are unchanged are reused instead of compiled (incremental bake).
    pub previous: Option<Vec<u8>>,
    /// A directory of precompiled bundles (`*.clbk`) whose fresh binaries are merged in.
    pub precompiled_dir: Option<PathBuf>,
    /// Measure local work sizes first (`// clbake:tune` lines).
    pub tune: Option<TuneOptions>,
    /// zstd level of the bundle.
    pub zstd_level: i32,
    /// Extra words for the bundle's info string (settings that shaped it).
    pub info: String,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            devices: Vec::new(),
            settings: JobSettings { capture: true, warm: true, checks: true },
            keep_going: false,
            jobs: 0,
            workers: None,
            compile_timeout: Some(DEFAULT_COMPILE_TIMEOUT),
            previous: None,
            precompiled_dir: None,
            tune: None,
            zstd_level: crate::format::DEFAULT_LEVEL,
            info: String::new(),
        }
    }
}

/// Why a bake wrote no bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BakeError {
    /// Programs failed and the bake does not keep going: every failure, each with its
    /// file, options and the driver's log.
    #[error("{} program(s) cannot be baked ({}): fix the source, give the options it needs, or leave the file out:\n{}", .0.len(), failed_files(.0), .0.iter().map(|f| f.to_string()).collect::<String>())]
    Failed(Vec<Failure>),
    /// OpenCL failed outside a compile (context creation).
    #[error(transparent)]
    Cl(#[from] ClError),
    /// Tuning failed.
    #[error(transparent)]
    Tune(#[from] tune::TuneError),
    /// A precompiled bundle is damaged (an older format is only a warning).
    #[error("{}: {source}", path.display())]
    Precompiled {
        /// The bundle file.
        path: PathBuf,
        /// What is wrong with it.
        source: FormatError,
    },
}

/// The bundle a bake produced and what it did.
#[derive(Debug)]
pub struct Baked {
    /// The bundle.
    pub bundle: Vec<u8>,
    /// What happened.
    pub report: Report,
}

/// How compiles are spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spread {
    InProcess,
    Processes(usize),
}

/// The spread for `jobs` compiles: this process, one compile at a time (threads gain
/// nothing on PoCL, whose compiler lock serialises them, and crash Oclgrind), or worker
/// processes. `plan.jobs` > 1 asks for that many workers; by default (0) there is one per
/// core when every device is a CPU device (compiling is CPU work there, and each process
/// has its own compiler lock), and none for GPUs: on an NVIDIA H200 the 14 programs of
/// clbake's library baked in 3.8 s in one process, 4.3 s on 4 workers and 6.7 s on 16
/// (every worker pays for its own driver start-up).
fn spread(plan: &Plan, compiles: usize) -> Spread {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let cpu_only = !plan.devices.is_empty() && plan.devices.iter().all(|d| d.device_type == "CPU");
    let n = match plan.jobs {
        0 if cpu_only => cores,
        0 => 1,
        n => n,
    }
    .min(compiles);
    match &plan.workers {
        Some(_) if n > 1 => Spread::Processes(n),
        _ => Spread::InProcess,
    }
}

/// Bakes `programs` (plus the `failures` discovery reported, which are listed as failed)
/// as `plan` says, calling `progress` after each compile.
pub fn bake(
    programs: &[ProgramSource],
    failures: &[FileFailure],
    plan: &Plan,
    progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Result<Baked, BakeError> {
    let start = Instant::now();
    let keys: Vec<Hash128> = programs.iter().map(ProgramSource::key).collect();
    let mut report =
        Report { programs: programs.len(), devices: plan.devices.iter().map(|d| d.fingerprint.describe()).collect(), ..Report::default() };
    report.failures.extend(failures.iter().map(|f| Failure {
        program: f.programs.join(", "),
        file: f.file.clone(),
        options: String::new(),
        device: String::new(),
        log: f.problem.clone(),
    }));
    for p in programs {
        report.warnings.extend(p.notes.iter().cloned());
    }
    let mut kernels: Vec<Vec<KernelRecord>> = programs.iter().map(|p| p.kernels.clone()).collect();
    let mut writer = BundleWriter::new().with_level(plan.zstd_level).with_info(bundle_info(plan));
    let ids: Vec<u32> = programs.iter().map(|p| writer.add_program(&p.spec())).collect();

    // Reuse: (program, device) pairs whose binary the previous bundle holds.
    // A previous bundle with any damage is not trusted at all, and one baked with other
    // settings (warm launches, known answers, another clbake, tuning now) holds other
    // binaries than this bake would: full bake.
    let info = bundle_info(plan);
    let previous = plan.previous.as_deref().and_then(|b| match reuse::intact(b) {
        Ok(bundle) if bundle.info() != info => {
            report.warnings.push(format!(
                "the previous bundle was baked with other settings (`{}`, now `{info}`); compiling every program",
                bundle.info()
            ));
            None
        }
        Ok(_) if plan.tune.is_some() => None,
        Ok(bundle) => Some(bundle),
        Err(why) => {
            report.warnings.push(format!("the previous bundle is damaged ({why}); compiling every program"));
            None
        }
    });
    let fps: Vec<Hash128> = plan.devices.iter().map(|d| d.fingerprint.hash()).collect();
    let mut reused: Vec<(usize, usize)> = Vec::new();
    let mut previous_tunings = Vec::new();
    if let Some(prev) = &previous {
        let offer = reuse::offer(prev, programs, &keys);
        for f in &offer.binaries {
            let Some(d) = fps.iter().position(|h| *h == f.entry.fingerprint_hash) else { continue };
            if plan.settings.capture && writer.add_binary_entry(ids[f.program], &f.entry).is_ok() {
                reused.push((f.program, d));
                if reuse::better(&kernels[f.program], &f.kernels) {
                    kernels[f.program] = f.kernels.clone();
                }
            }
        }
        if plan.tune.is_none() {
            previous_tunings = offer.tunings;
        }
    }
    report.reused = reused.len();
    let mut jobs: Vec<(usize, usize)> =
        (0..plan.devices.len()).flat_map(|d| (0..programs.len()).map(move |p| (p, d))).filter(|j| !reused.contains(j)).collect();
    jobs.sort_unstable();

    // Tuning, first, so that launches are warmed with the sizes the runtime will use.
    let tunings: Vec<DeviceTunings> = match &plan.tune {
        Some(opts) if !plan.devices.is_empty() => {
            let device = std::cell::Cell::new(0);
            let shapes = std::cell::Cell::new(0);
            let started = |d: &DeviceInfo| device.set(plan.devices.iter().position(|x| x.id == d.id).unwrap_or(0));
            let tuned = |prog: &ProgramSource, m: &tune::Measured| {
                shapes.set(shapes.get() + 1);
                progress(Progress {
                    program: &prog.name,
                    device: &plan.devices[device.get()],
                    done: shapes.get(),
                    total: 0,
                    step: Step::Tuned(&m.launch),
                });
            };
            tune::tune_devices(programs, &plan.devices, opts, &started, &tuned)?
        }
        _ => Vec::new(),
    };
    let tuned: Vec<(usize, usize, TunedLaunch)> =
        tunings.iter().flat_map(|t| t.measured.iter().map(move |m| (m.program, t.device, m.launch.clone()))).collect();
    for t in &tunings {
        for s in &t.skipped {
            report.warnings.push(format!(
                "{}: kernel `{}` has a fixed work-group size on {}; not tuned",
                programs[s.program].name,
                s.kernel,
                plan.devices[t.device].fingerprint.describe()
            ));
        }
    }

    // Compiles.
    let results = compile_all(programs, plan, &jobs, &tuned, progress, reused.len())?;
    for ((p, d), result) in jobs.iter().zip(results) {
        match result {
            Ok(c) => {
                report.compiled += 1;
                if c.kernels.is_empty() {
                    let p = &programs[*p];
                    let with = if p.options.is_empty() { "without options".to_string() } else { format!("with options `{}`", p.options) };
                    report.warnings.push(format!(
                        "{}: program `{}` has no kernels {with} (are they under an `#if` that needs a define? give it with per-program options, or exclude the file)",
                        p.file.display(),
                        p.name
                    ));
                }
                report.warmed += c.warm.launches;
                report.answers += c.warm.answers.len();
                for s in &c.warm.skipped {
                    report.warnings.push(format!(
                        "{}: a declared launch did not run on {} ({s}); its first launch there compiles at run time",
                        programs[*p].file.display(),
                        plan.devices[*d].fingerprint.describe()
                    ));
                }
                if reuse::better(&kernels[*p], &c.kernels) {
                    kernels[*p] = c.kernels.clone();
                }
                if let Some(b) = &c.binary {
                    writer.add_binary(ids[*p], &plan.devices[*d].fingerprint, b, &c.warm.answers);
                }
            }
            Err(f) => report.failures.push(f),
        }
    }
    if !report.failures.is_empty() && !plan.keep_going {
        return Err(BakeError::Failed(report.failures));
    }

    // Precompiled bundles of other devices.
    if let Some(dir) = &plan.precompiled_dir {
        report.precompiled = merge_precompiled(dir, programs, &keys, &ids, plan, &mut writer, &mut kernels, &mut report.warnings)?;
    }
    // The program records carry the best signatures known: the driver's, when anyone
    // compiled the program.
    for (id, k) in ids.iter().zip(&kernels) {
        writer.set_kernels(*id, k.clone());
    }
    for (p, t) in previous_tunings {
        let _ = writer.add_tuning_entry(ids[p], &t);
    }
    for (p, d, launch) in tuned {
        if kernels[p].iter().any(|k| k.name == launch.kernel) {
            writer.add_tuning(ids[p], fps[d], launch);
            report.tunings += 1;
        }
    }
    let bundle = writer.to_bytes();
    report.untyped = programs.iter().zip(&kernels).flat_map(|(p, k)| untyped_kernels(&p.name, k)).collect();
    report.elapsed = start.elapsed();
    Ok(Baked { bundle, report })
}

/// The files of `failures`, once each, at most three named.
fn failed_files(failures: &[Failure]) -> String {
    let mut files: Vec<String> = Vec::new();
    for f in failures {
        let name = f.file.display().to_string();
        if !files.contains(&name) {
            files.push(name);
        }
    }
    match files.len() {
        0..=3 => files.join(", "),
        n => format!("{} and {} more", files[..3].join(", "), n - 3),
    }
}

/// The bundle's info string.
fn bundle_info(plan: &Plan) -> String {
    let s = plan.settings;
    let mut info = format!(
        "clbake {} warm={} checks={}",
        env!("CARGO_PKG_VERSION"),
        if s.warm { "on" } else { "off" },
        if s.checks { "on" } else { "off" }
    );
    if !plan.info.is_empty() {
        info.push(' ');
        info.push_str(&plan.info);
    }
    info
}

/// Runs the compiles of `jobs`, in order of `jobs` in the result.
fn compile_all(
    programs: &[ProgramSource],
    plan: &Plan,
    jobs: &[(usize, usize)],
    tuned: &[(usize, usize, TunedLaunch)],
    progress: &(dyn Fn(Progress<'_>) + Sync),
    already: usize,
) -> Result<Vec<Result<Compiled, Failure>>, BakeError> {
    let total = jobs.len() + already;
    let results: Mutex<Vec<Option<Result<Compiled, Failure>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let done_count = std::sync::atomic::AtomicUsize::new(already);
    let done = |i: usize, r: Result<Compiled, Failure>| {
        let (p, d) = jobs[i];
        let n = done_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let step = match &r {
            Ok(c) => Step::Compiled(c),
            Err(f) => Step::Failed(f),
        };
        progress(Progress { program: &programs[p].name, device: &plan.devices[d], done: n, total, step });
        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
    };
    let mut in_process: Vec<usize> = (0..jobs.len()).collect();
    if let (Spread::Processes(n), Some(cmd)) = (spread(plan, jobs.len()), &plan.workers) {
        match worker::run(cmd, n, programs, &plan.devices, jobs, plan.settings, tuned, plan.compile_timeout, &done) {
            Ok(()) => in_process.clear(),
            Err(why) => log::warn!("compiling in this process: {why}"),
        }
    }
    if !in_process.is_empty() {
        let contexts = plan
            .devices
            .iter()
            .map(|d| opencl3::context::Context::from_device(&d.device()).map_err(ClError::api("clCreateContext")))
            .collect::<Result<Vec<_>, _>>()?;
        for i in in_process {
            let (p, d) = jobs[i];
            let local_for = |kernel: &str, global: &[usize]| {
                tuned
                    .iter()
                    .find(|(tp, td, l)| {
                        *tp == p && *td == d && l.kernel == kernel && l.global.iter().map(|&g| g as usize).eq(global.iter().copied())
                    })
                    .and_then(|(_, _, l)| l.local.as_ref().map(|v| v.iter().map(|&x| x as usize).collect()))
            };
            done(i, compile(&contexts[d], &plan.devices[d], &programs[p], plan.settings, &local_for));
        }
    }
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(results.into_iter().zip(jobs).map(|(r, &(p, d))| r.unwrap_or_else(|| Err(lost(&programs[p], &plan.devices[d])))).collect())
}

fn lost(p: &ProgramSource, d: &DeviceInfo) -> Failure {
    Failure::of(p, d, "no result came back from the compile".into())
}

/// Adds the fresh binaries of every `dir/*.clbk` to `writer`; stale ones (sources changed)
/// and bundles of an older format become warnings. Binaries for a device baked here are
/// skipped (ours are newer). Returns how many were added.
#[allow(clippy::too_many_arguments)]
fn merge_precompiled(
    dir: &Path,
    programs: &[ProgramSource],
    keys: &[Hash128],
    ids: &[u32],
    plan: &Plan,
    writer: &mut BundleWriter,
    kernels: &mut [Vec<KernelRecord>],
    warnings: &mut Vec<String>,
) -> Result<usize, BakeError> {
    let files = reuse::precompiled_files(dir)
        .map_err(|e| BakeError::Precompiled { path: dir.to_path_buf(), source: FormatError::corrupted("directory", e.to_string()) })?;
    let ours: Vec<Hash128> = if plan.settings.capture { plan.devices.iter().map(|d| d.fingerprint.hash()).collect() } else { Vec::new() };
    let mut added = 0;
    for path in files {
        crate::build::rerun_if_changed(&path);
        let bytes = std::fs::read(&path)
            .map_err(|e| BakeError::Precompiled { path: path.clone(), source: FormatError::corrupted("file", e.to_string()) })?;
        let bundle = match Bundle::parse(&bytes) {
            Ok(b) => b,
            Err(e) if e.is_version() => {
                warnings.push(reuse::unusable(&path, &e));
                continue;
            }
            Err(source) => return Err(BakeError::Precompiled { path, source }),
        };
        for (table, what) in bundle.damage() {
            warnings.push(format!("{}: its {table} is damaged ({what}); re-bake it on the device", path.display()));
        }
        let offer = reuse::offer(&bundle, programs, keys);
        for f in &offer.binaries {
            if ours.contains(&f.entry.fingerprint_hash) {
                continue;
            }
            if let Err(e) = writer.add_binary_entry(ids[f.program], &f.entry) {
                let device = f.entry.fingerprint().map(|d| d.describe()).unwrap_or_default();
                warnings.push(format!(
                    "{}: the binary of `{}` for {device} is damaged ({e}); skipped, re-bake it on the device",
                    path.display(),
                    programs[f.program].name
                ));
                continue;
            }
            if reuse::better(&kernels[f.program], &f.kernels) {
                kernels[f.program] = f.kernels.clone();
            }
            added += 1;
        }
        for (p, t) in &offer.tunings {
            let _ = writer.add_tuning_entry(ids[*p], t);
        }
        if !offer.stale.is_empty() {
            let device = bundle.binaries().first().and_then(|b| b.fingerprint().ok()).map(|f| f.describe()).unwrap_or_default();
            warnings.push(format!(
                "{}: skipped {} stale entr{} for {device} (kernel sources changed since it was baked; re-bake on the device): {}",
                path.display(),
                offer.stale.len(),
                if offer.stale.len() == 1 { "y" } else { "ies" },
                offer.stale.join(", ")
            ));
        }
    }
    Ok(added)
}
