//! Baking: compile every program for every device, capture binaries, write a bundle.

use super::{build_from_source, capture_binary, warm, ClError, DeviceInfo, WarmReport};
use crate::format::BundleWriter;
use crate::source::ProgramSource;
use opencl3::context::Context;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Options for [`bake`].
#[derive(Clone, Debug)]
pub struct BakeOptions {
    /// Capture binaries (`true`) or only check that every program compiles (`false`).
    pub capture: bool,
    /// Worker threads compiling in parallel; 0 means one per available core.
    pub jobs: usize,
    /// Run each declared launch (`// clbake:launch` lines) once before capturing a binary, so that code the driver compiles at a kernel's first launch is in the
    /// binary (see [`super::warm`]). Only when capturing.
    pub warm: bool,
    /// Local sizes to warm launches with (tuned ones); launches not listed use the driver's
    /// choice, as the runtime does.
    pub tuned: Vec<TunedLocal>,
}

impl Default for BakeOptions {
    fn default() -> Self {
        BakeOptions { capture: true, jobs: 0, warm: true, tuned: Vec::new() }
    }
}

/// A tuned local size, which the runtime passes for this launch instead of `NULL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunedLocal {
    /// Index into the `programs` slice given to [`bake`].
    pub program: usize,
    /// Index into the `devices` slice given to [`bake`].
    pub device: usize,
    /// Kernel name.
    pub kernel: String,
    /// Global size.
    pub global: Vec<usize>,
    /// Local size.
    pub local: Vec<usize>,
}

/// Progress events, reported as each compile starts and ends.
#[derive(Clone, Debug)]
pub enum BakeProgress<'a> {
    /// A compile finished (successfully or not).
    Compiled {
        /// Program name.
        program: &'a str,
        /// Device it was compiled for.
        device: &'a DeviceInfo,
        /// How many compiles are done, this one included.
        done: usize,
        /// How many compiles there are in all.
        total: usize,
        /// Time the compile took.
        elapsed: Duration,
        /// Size of the captured binary, if any.
        binary_len: Option<usize>,
        /// What warming did (nothing when not warming).
        warm: &'a WarmReport,
    },
}

impl BakeProgress<'_> {
    /// One line for progress output: `[done/total] PROGRAM DEVICE  TIME  SIZE, N launches warmed`,
    /// followed by one `  launch skipped: ...` line per declared launch that could not run.
    pub fn line(&self) -> String {
        let BakeProgress::Compiled { program, device, done, total, elapsed, binary_len, warm } = self;
        let mut s = format!("[{done}/{total}] {program:<18} {:<28} {:>7.0} ms", device.fingerprint.device_name, elapsed.as_secs_f64() * 1e3);
        if let Some(n) = binary_len {
            s += &format!("  {n} B");
        }
        if warm.launches > 0 {
            s += &format!(", {} launch{} warmed", warm.launches, if warm.launches == 1 { "" } else { "es" });
        }
        for skipped in &warm.skipped {
            s += &format!("\n    launch skipped: {skipped}");
        }
        s
    }
}

/// The result of baking one program for one device.
#[derive(Clone, Debug)]
pub struct BakedProgram {
    /// Index into the `programs` slice given to [`bake`].
    pub program: usize,
    /// Index into the `devices` slice given to [`bake`].
    pub device: usize,
    /// The captured binary (`None` when only checking).
    pub binary: Option<Vec<u8>>,
    /// Compile time (warming included).
    pub elapsed: Duration,
    /// What warming did.
    pub warm: WarmReport,
}

/// Compiles every program for every device, in parallel, creating all kernels and running the
/// declared launches (with [`BakeOptions::warm`]) before capturing a binary. The first build failure is returned with the driver's log; results
/// are sorted by (program, device) so output does not depend on thread timing.
pub fn bake(
    programs: &[ProgramSource],
    devices: &[DeviceInfo],
    opts: &BakeOptions,
    progress: &(dyn Fn(BakeProgress<'_>) + Sync),
) -> Result<Vec<BakedProgram>, ClError> {
    let contexts = devices
        .iter()
        .map(|d| Context::from_device(&d.device()).map_err(ClError::api("clCreateContext")))
        .collect::<Result<Vec<_>, _>>()?;
    let jobs: Vec<(usize, usize)> = (0..devices.len()).flat_map(|d| (0..programs.len()).map(move |p| (p, d))).collect();
    let total = jobs.len();
    let workers = match opts.jobs {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    }
    .min(total.max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Result<BakedProgram, ClError>>> = Mutex::new(Vec::with_capacity(total));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(p, d)) = jobs.get(i) else { break };
                let prog = &programs[p];
                let start = Instant::now();
                let mut warmed = WarmReport::default();
                let r = build_from_source(&contexts[d], devices[d].id, &prog.name, &prog.source, &prog.options)
                    .and_then(|built| {
                        if !opts.capture {
                            return Ok(None);
                        }
                        if opts.warm {
                            let local_for = |kernel: &str, global: &[usize]| {
                                opts.tuned.iter().find(|t| t.program == p && t.device == d && t.kernel == kernel && t.global == global).map(|t| t.local.clone())
                            };
                            warmed = warm(&contexts[d], prog, &built, &local_for)?;
                        }
                        capture_binary(&built.program).map(Some)
                    })
                    .map_err(|e| match e {
                        ClError::Build { program, options, device, log, .. } => {
                            ClError::Build { program, file: Some(prog.file.clone()), options, device, log }
                        }
                        other => other,
                    });
                let elapsed = start.elapsed();
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(BakeProgress::Compiled {
                    program: &prog.name,
                    device: &devices[d],
                    done: n,
                    total,
                    elapsed,
                    binary_len: r.as_ref().ok().and_then(|b| b.as_ref().map(Vec::len)),
                    warm: &warmed,
                });
                let failed = r.is_err();
                results.lock().unwrap_or_else(|e| e.into_inner()).push(r.map(|binary| BakedProgram { program: p, device: d, binary, elapsed, warm: warmed }));
                if failed {
                    // Stop handing out new work; running compiles finish.
                    next.store(usize::MAX / 2, Ordering::Relaxed);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(total);
    let mut first_err: Option<ClError> = None;
    for r in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match r {
            Ok(b) => out.push(b),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    out.sort_by_key(|b| (b.program, b.device));
    Ok(out)
}

/// Adds `programs` and the captured binaries of `baked` to a new bundle writer.
/// Returns the writer so callers can merge more binaries (precompiled bundles) before writing.
pub fn bundle_writer(programs: &[ProgramSource], baked: &[BakedProgram], devices: &[DeviceInfo]) -> BundleWriter {
    bundle_writer_with(BundleWriter::new(), programs, baked, devices)
}

/// Like [`bundle_writer`], starting from a configured writer (e.g. another zstd level:
/// the writer compresses as entries are added, so the level must be set first).
pub fn bundle_writer_with(mut w: BundleWriter, programs: &[ProgramSource], baked: &[BakedProgram], devices: &[DeviceInfo]) -> BundleWriter {
    let ids: Vec<u32> = programs.iter().map(|p| w.add_program(&p.name, &p.options, &p.kernels, &p.source)).collect();
    for b in baked {
        if let Some(bin) = &b.binary {
            w.add_binary(ids[b.program], &devices[b.device].fingerprint, bin);
        }
    }
    w
}
