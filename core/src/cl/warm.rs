//! Warming: running each declared launch of a program once before its binary is captured,
//! and recording what it computed (a known answer).
//!
//! Some drivers compile part of a kernel at its first enqueue, for that launch: PoCL builds a
//! work-group function specialised for the local size (and for a zero global offset) the
//! first time a kernel runs with it, which on a CPU takes 50 to 150 ms per kernel, and
//! serialises it into the program binary only if it exists when the binary is captured.
//! Running the launches the sources declare (`// clbake:launch` lines, see
//! [`crate::clc::directives`]) before capturing puts that code in the binary. Drivers that
//! compile everything at build time (NVIDIA's PTX binaries) are unaffected, apart from the
//! time the launches take.
//!
//! The kernels run on buffers of the declared sizes filled with deterministic values (see
//! [`fill`](super::args::fill)), so a declared shape must be one the kernel handles within
//! bounds. Their outputs are digested into [`KnownAnswer`]s, which the runtime replays the
//! first time the binary is served on a device.

use super::args::set_shape_args;
use super::known::{arg_values, digest};
use super::{BuiltProgram, ClError};
use crate::clc::directives::{launches_to_warm, TuneShape};
use crate::clc::ParamInfo;
use crate::format::KnownAnswer;
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;

/// What warming one program did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WarmReport {
    /// Launches that ran.
    pub launches: usize,
    /// Launches that could not run, each as ``line N (`the line`): why``. They do not
    /// fail the bake (the binary is as good as an unwarmed one), but are printed.
    pub skipped: Vec<String>,
    /// The known answers recorded (launch lines without `@nocheck`).
    pub answers: Vec<KnownAnswer>,
}

/// The local size to warm a launch with when its line gives none: the one the application
/// will get from `local = None`. A tuned local size (from `clbake bake --tune`) for this
/// kernel and global size, else `None` (the driver's choice).
pub type LocalFor<'a> = &'a (dyn Fn(&str, &[usize]) -> Option<Vec<usize>> + Sync);

/// The seed of the input fill of the `n`th launch line of a program.
fn seed(n: usize) -> u64 {
    0xC1BA_0000 + n as u64
}

/// Runs every `// clbake:launch` line of `source` once with the kernels of `built` (whose
/// parameters `signatures` gives, by kernel name), then waits for them, and records a known
/// answer for each (unless `answers` is false or the line says `@nocheck`). A line whose
/// kernel or values do not fit is reported in [`WarmReport::skipped`] (discovery checks
/// lines, so this only happens with sources taken from elsewhere); so is a launch the
/// driver refuses.
pub fn warm(
    context: &Context,
    source: &str,
    built: &BuiltProgram,
    signatures: &dyn Fn(&str) -> Option<Vec<ParamInfo>>,
    local_for: LocalFor<'_>,
    answers: bool,
) -> Result<WarmReport, ClError> {
    let mut report = WarmReport::default();
    let shapes = match launches_to_warm(source) {
        Ok(s) => s,
        Err((line, problem)) => {
            report.skipped.push(format!("line {}: {problem}", crate::clc::include::original_line(source, line)));
            return Ok(report);
        }
    };
    if shapes.is_empty() {
        return Ok(report);
    }
    #[allow(deprecated)] // clCreateCommandQueue: the OpenCL 1.2 call, for 1.2 drivers
    let queue = CommandQueue::create_default(context, 0).map_err(ClError::api("clCreateCommandQueue"))?;
    for (n, shape) in shapes.iter().enumerate() {
        let text = source.lines().nth(shape.line.saturating_sub(1)).unwrap_or_default().trim();
        let where_ = |why: String| format!("line {} (`{text}`): {why}", crate::clc::include::original_line(source, shape.line));
        match warm_one(context, &queue, shape, built, signatures, local_for, seed(n), answers && !shape.no_check) {
            Ok(answer) => {
                report.launches += 1;
                report.answers.extend(answer);
            }
            Err(why) => report.skipped.push(where_(why)),
        }
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn warm_one(
    context: &Context,
    queue: &CommandQueue,
    shape: &TuneShape,
    built: &BuiltProgram,
    signatures: &dyn Fn(&str) -> Option<Vec<ParamInfo>>,
    local_for: LocalFor<'_>,
    seed: u64,
    record: bool,
) -> Result<Option<KnownAnswer>, String> {
    let kernel = built
        .kernels
        .iter()
        .find(|(n, _)| *n == shape.kernel)
        .map(|(_, k)| k)
        .ok_or_else(|| format!("no kernel `{}` in the built program", shape.kernel))?;
    let params = signatures(&shape.kernel).ok_or_else(|| format!("the parameters of `{}` are not known", shape.kernel))?;
    let values = shape.evaluate(&params)?;
    let local = shape.local.clone().or_else(|| local_for(&shape.kernel, &shape.global));
    if local.as_ref().is_some_and(|l| l.len() != shape.global.len()) {
        return Err(format!("tuned local size {local:?} has another number of dimensions"));
    }
    let args = set_shape_args(context, kernel, &params, &values, seed).map_err(|e| e.to_string())?;
    super::enqueue(queue, kernel, &shape.global, local.as_deref()).map_err(|e| e.to_string())?;
    queue.finish().map_err(|e| ClError::api("clFinish")(e).to_string())?;
    if !record {
        return Ok(None);
    }
    let outputs = args.outputs(queue).map_err(|e| e.to_string())?;
    Ok(Some(KnownAnswer {
        kernel: shape.kernel.clone(),
        global: shape.global.iter().map(|&g| g as u64).collect(),
        local: local.map(|l| l.iter().map(|&x| x as u64).collect()),
        args: arg_values(&values),
        tolerance: shape.tolerance,
        seed,
        outputs: digest(&params, &outputs),
    }))
}
