//! Measuring local work sizes on a device: what `clbake bake --tune` runs.
//!
//! For every `// clbake:tune KERNEL GLOBAL ARGS...` line of a program (see
//! [`crate::clc::directives`]) the kernel is built, its arguments are allocated as the line says
//! (buffers filled with zeros), and every candidate local size is timed with OpenCL
//! profiling events, as is the driver's own choice (a NULL local size). Candidates are
//! powers of two per dimension that divide the global size and fit the kernel's and the
//! device's work-group limits. The fastest is then timed again against the driver's choice,
//! interleaved; unless it is at least 5 % faster, the record says the driver's choice wins
//! and the runtime keeps passing NULL.

use super::job::driver_kernels;
use crate::cl::args::set_shape_args;
use crate::cl::{build_from_source, ClError, DeviceInfo};
use crate::clc::directives::{parse_tunes, TuneShape};
use crate::format::{BundleWriter, SignatureOrigin, TunedLaunch};
use crate::source::ProgramSource;
use opencl3::command_queue::{CommandQueue, CL_QUEUE_PROFILING_ENABLE};
use opencl3::context::Context;
use opencl3::kernel::Kernel;

/// How thoroughly to measure.
#[derive(Clone, Debug)]
pub struct TuneOptions {
    /// Timed launches per candidate (after one warm-up); the median counts.
    pub reps: usize,
    /// Most candidate local sizes tried per shape (evenly spread over all that fit).
    pub max_candidates: usize,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions { reps: 5, max_candidates: 32 }
    }
}

/// Why tuning failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuneError {
    /// OpenCL failed (context, build, buffers, profiling).
    #[error(transparent)]
    Cl(#[from] ClError),
    /// A `// clbake:tune` line cannot be used with its kernel.
    #[error("program `{program}`, line {line} (`// clbake:tune {kernel} ...`): {problem}")]
    Shape {
        /// Program name.
        program: String,
        /// Kernel named on the line.
        kernel: String,
        /// Line of the expanded source.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// The outcome of one tuned shape.
#[derive(Clone, Debug)]
pub struct Measured {
    /// Index of the program in the slice given to [`tune`].
    pub program: usize,
    /// The record to store.
    pub launch: TunedLaunch,
    /// Candidate local sizes that ran (besides NULL).
    pub candidates: usize,
}

/// A kernel skipped because its work-group size is fixed by `reqd_work_group_size`.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// Index of the program in the slice given to [`tune`].
    pub program: usize,
    /// Kernel name.
    pub kernel: String,
}

/// Tunes every `// clbake:tune` shape of `programs` on `device`, calling `progress` after
/// each shape.
pub fn tune(
    programs: &[ProgramSource],
    device: &DeviceInfo,
    opts: &TuneOptions,
    progress: &dyn Fn(&ProgramSource, &Measured),
) -> Result<(Vec<Measured>, Vec<Skipped>), TuneError> {
    let context = Context::from_device(&device.device()).map_err(ClError::api("clCreateContext"))?;
    #[allow(deprecated)]
    let queue = CommandQueue::create_default(&context, CL_QUEUE_PROFILING_ENABLE).map_err(ClError::api("clCreateCommandQueue"))?;
    let mut measured = Vec::new();
    let mut skipped = Vec::new();
    for (index, prog) in programs.iter().enumerate() {
        let shapes = parse_tunes(&prog.source).map_err(|(line, problem)| TuneError::Shape {
            program: prog.name.clone(),
            kernel: String::new(),
            line,
            problem,
        })?;
        if shapes.is_empty() {
            continue;
        }
        let built = build_from_source(&context, device.id, &prog.name, &prog.source, &prog.options)?;
        let kernels = driver_kernels(&built, device, prog);
        for shape in &shapes {
            let bad =
                |problem: String| TuneError::Shape { program: prog.name.clone(), kernel: shape.kernel.clone(), line: shape.line, problem };
            let kernel =
                built.kernels.iter().find(|(n, _)| *n == shape.kernel).map(|(_, k)| k).ok_or_else(|| bad("no such kernel".into()))?;
            let record = kernels
                .iter()
                .find(|k| k.name == shape.kernel && k.origin != SignatureOrigin::Unknown)
                .ok_or_else(|| bad("its parameters are not known".into()))?;
            let fixed = kernel.get_compile_work_group_size(device.id).unwrap_or_default();
            if record.reqd_work_group_size.is_some() || fixed.iter().any(|&x| x > 0) {
                skipped.push(Skipped { program: index, kernel: shape.kernel.clone() });
                continue;
            }
            let values = shape.evaluate(&record.params).map_err(&bad)?;
            let _args = set_shape_args(&context, kernel, &record.params, &values, 0).map_err(|e| bad(e.to_string()))?;
            let m = measure_shape(&queue, kernel, device, shape, opts)?;
            let m = Measured { program: index, ..m };
            progress(prog, &m);
            measured.push(m);
        }
    }
    Ok((measured, skipped))
}

/// The records measured on one device.
#[derive(Clone, Debug)]
pub struct DeviceTunings {
    /// Index of the device in the slice the caller tuned.
    pub device: usize,
    /// The records, one per tuned shape.
    pub measured: Vec<Measured>,
    /// Kernels skipped: their work-group size is fixed.
    pub skipped: Vec<Skipped>,
}

/// [`tune`] on every device of `devices` in turn; `started` is called before each device's
/// shapes, `progress` after each shape.
pub fn tune_devices(
    programs: &[ProgramSource],
    devices: &[DeviceInfo],
    opts: &TuneOptions,
    started: &dyn Fn(&DeviceInfo),
    progress: &dyn Fn(&ProgramSource, &Measured),
) -> Result<Vec<DeviceTunings>, TuneError> {
    let mut out = Vec::with_capacity(devices.len());
    for (index, device) in devices.iter().enumerate() {
        started(device);
        let (measured, skipped) = tune(programs, device, opts, progress)?;
        out.push(DeviceTunings { device: index, measured, skipped });
    }
    Ok(out)
}

/// A tuned local size, which the runtime passes for this launch instead of `NULL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunedLocal {
    /// Index into the programs tuned.
    pub program: usize,
    /// Index into the devices tuned.
    pub device: usize,
    /// Kernel name.
    pub kernel: String,
    /// Global size.
    pub global: Vec<usize>,
    /// Local size.
    pub local: Vec<usize>,
}

/// The tuned local sizes of `tunings`, for warming launches with the size the runtime will
/// pass.
pub fn tuned_locals(tunings: &[DeviceTunings]) -> Vec<TunedLocal> {
    tunings
        .iter()
        .flat_map(|d| {
            d.measured.iter().filter_map(move |m| {
                let l = &m.launch;
                Some(TunedLocal {
                    program: m.program,
                    device: d.device,
                    kernel: l.kernel.clone(),
                    global: l.global.iter().map(|&g| g as usize).collect(),
                    local: l.local.as_ref()?.iter().map(|&x| x as usize).collect(),
                })
            })
        })
        .collect()
}

/// Adds the records of `tunings` to `writer`, where program `i` of the tuned slice has index
/// `i` and device `d` is `devices[d]`. Returns how many.
pub fn add_records(writer: &mut BundleWriter, tunings: &[DeviceTunings], devices: &[DeviceInfo]) -> usize {
    let mut added = 0;
    for d in tunings {
        for m in &d.measured {
            writer.add_tuning(m.program as u32, devices[d.device].fingerprint.hash(), m.launch.clone());
            added += 1;
        }
    }
    added
}

/// Powers of two per dimension that divide `global`, fit `max_items` per dimension and
/// `max_group` in all; at most `limit`, spread evenly over the list sorted by group size.
pub fn candidates(global: &[usize], max_group: usize, max_items: &[usize], limit: usize) -> Vec<Vec<usize>> {
    let per_dim: Vec<Vec<usize>> = global
        .iter()
        .enumerate()
        .map(|(d, &g)| {
            let cap = max_items.get(d).copied().unwrap_or(1).min(g).min(max_group);
            std::iter::successors(Some(1usize), |&x| x.checked_mul(2)).take_while(|&x| x <= cap).filter(|&x| g % x == 0).collect()
        })
        .collect();
    let mut all: Vec<Vec<usize>> = vec![Vec::new()];
    for options in &per_dim {
        all = all.iter().flat_map(|prefix| options.iter().map(move |&x| [prefix.as_slice(), &[x]].concat())).collect();
    }
    all.retain(|c| c.iter().product::<usize>() <= max_group);
    all.sort_by_key(|c| (c.iter().product::<usize>(), c.clone()));
    if all.len() <= limit || limit == 0 {
        return all;
    }
    let step = all.len() as f64 / limit as f64;
    (0..limit).map(|i| all[((i as f64 + 0.5) * step) as usize].clone()).collect()
}

fn measure_shape(
    queue: &CommandQueue,
    kernel: &Kernel,
    device: &DeviceInfo,
    shape: &TuneShape,
    opts: &TuneOptions,
) -> Result<Measured, ClError> {
    let max_group = kernel.get_work_group_size(device.id).map_err(ClError::api("clGetKernelWorkGroupInfo"))?;
    let max_items = device.device().max_work_item_sizes().map_err(ClError::api("clGetDeviceInfo"))?;
    let default_ns = time_launch(queue, kernel, &shape.global, None, opts.reps)?;
    let mut best: Option<(Vec<usize>, u64)> = None;
    let mut ran = 0;
    for local in candidates(&shape.global, max_group, &max_items, opts.max_candidates) {
        // A candidate the driver refuses (resources, limits) is skipped, not an error; one
        // whose first timed launch takes over twice the best so far is dropped early.
        let cutoff = best.as_ref().map_or(default_ns, |(_, b)| *b).saturating_mul(2);
        let Ok(Some(ns)) = time_with_cutoff(queue, kernel, &shape.global, Some(&local), opts.reps, Some(cutoff)) else { continue };
        ran += 1;
        if best.as_ref().is_none_or(|(_, b)| ns < *b) {
            best = Some((local, ns));
        }
    }
    // Confirm the winner against the driver's choice, interleaved (a burst of load on a
    // shared machine then hits both alike); it must be at least MIN_GAIN faster to count.
    let (local, best_ns, default_ns) = match best {
        Some((l, _)) => {
            let (mut b, mut d) = (Vec::new(), Vec::new());
            for _ in 0..CONFIRM_ROUNDS {
                b.push(time_launch(queue, kernel, &shape.global, Some(&l), opts.reps)?);
                d.push(time_launch(queue, kernel, &shape.global, None, opts.reps)?);
            }
            let (b, d) = (median(b), median(d));
            if (b as f64) * MIN_GAIN < d as f64 {
                (Some(l.iter().map(|&x| x as u64).collect()), b, d)
            } else {
                (None, d, d)
            }
        }
        None => (None, default_ns, default_ns),
    };
    let launch =
        TunedLaunch { kernel: shape.kernel.clone(), global: shape.global.iter().map(|&g| g as u64).collect(), local, best_ns, default_ns };
    Ok(Measured { program: 0, launch, candidates: ran })
}

/// Interleaved rounds comparing the fastest candidate with the driver's choice.
const CONFIRM_ROUNDS: usize = 3;
/// How much faster than the driver's choice a local size must be to be recorded.
const MIN_GAIN: f64 = 1.05;

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Median device time of one launch, in nanoseconds, over `reps` launches after a warm-up.
/// The kernel's arguments must be set.
pub fn time_launch(queue: &CommandQueue, kernel: &Kernel, global: &[usize], local: Option<&[usize]>, reps: usize) -> Result<u64, ClError> {
    time_with_cutoff(queue, kernel, global, local, reps, None).map(Option::unwrap_or_default)
}

/// [`time_launch`], giving up (`None`) when the first timed launch takes longer than `cutoff`.
fn time_with_cutoff(
    queue: &CommandQueue,
    kernel: &Kernel,
    global: &[usize],
    local: Option<&[usize]>,
    reps: usize,
    cutoff: Option<u64>,
) -> Result<Option<u64>, ClError> {
    let mut times = Vec::with_capacity(reps.max(1));
    for rep in 0..=reps.max(1) {
        let event = crate::cl::enqueue(queue, kernel, global, local)?;
        event.wait().map_err(ClError::api("clWaitForEvents"))?;
        if rep == 0 {
            continue; // warm-up
        }
        let start = event.profiling_command_start().map_err(ClError::api("clGetEventProfilingInfo"))?;
        let end = event.profiling_command_end().map_err(ClError::api("clGetEventProfilingInfo"))?;
        times.push(end.saturating_sub(start));
        if rep == 1 && cutoff.is_some_and(|c| times[0] > c) {
            return Ok(None);
        }
    }
    times.sort_unstable();
    Ok(Some(times[times.len() / 2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_divide_and_fit() {
        let c = candidates(&[64, 48], 256, &[1024, 1024, 64], 1000);
        assert!(c.iter().all(|l| 64 % l[0] == 0 && 48 % l[1] == 0 && l[0] * l[1] <= 256));
        assert!(c.contains(&vec![1, 1]) && c.contains(&vec![64, 4]) && c.contains(&vec![16, 16]));
        assert!(!c.contains(&vec![32, 32]) && !c.contains(&vec![1, 32]), "too big / does not divide 48");
        assert_eq!(candidates(&[8], 4, &[1024], 10), [[1], [2], [4]]);
        assert_eq!(candidates(&[8, 8, 8], 1024, &[8, 8, 1], 100).iter().map(|c| c[2]).max(), Some(1), "device limit per dimension");
        let few = candidates(&[1024, 1024], 1024, &[1024, 1024], 5);
        assert_eq!(few.len(), 5);
        assert!(few.windows(2).all(|w| w[0].iter().product::<usize>() <= w[1].iter().product::<usize>()));
    }
}
