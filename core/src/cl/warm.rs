//! Warming: running each declared launch of a program once before its binary is captured.
//!
//! Some drivers compile part of a kernel at its first enqueue, for that launch: PoCL builds a
//! work-group function specialised for the local size (and for a zero global offset) the
//! first time a kernel runs with it, which on a CPU takes 50 to 150 ms per kernel, and
//! serialises it into the program binary only if it exists when the binary is captured.
//! A binary captured right after `clBuildProgram` holds only the generic function, so the
//! application's first inference would pay that compile although it loaded a binary.
//! Running the launches the sources declare (`// clbake:launch` lines, see [`crate::tune`])
//! before capturing puts that code in the binary. Drivers that compile
//! everything at build time (NVIDIA's PTX binaries) are unaffected, apart from the time the
//! launches take.
//!
//! The kernels run with zero-filled buffers of the declared sizes, so a declared shape must
//! be one the kernel handles within bounds.

use super::args::set_shape_args;
use super::{BuiltProgram, ClError};
use crate::signature::parse_signatures;
use crate::source::{original_line, ProgramSource};
use crate::tune::launches_to_warm;
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;

/// What warming one program did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WarmReport {
    /// Launches that ran.
    pub launches: usize,
    /// Launches that could not run, each as ``line N (`the line`): why``. They do not
    /// fail the bake (the binary is as good as an unwarmed one), but are printed.
    pub skipped: Vec<String>,
}

/// The local size to warm a launch with when its line gives none: the one the application
/// will get from `local = None`. A tuned local size (from `clbake bake --tune`) for this
/// kernel and global size, else `None` (the driver's choice, which is what the runtime
/// passes when the bundle has no tuning record).
pub type LocalFor<'a> = &'a (dyn Fn(&str, &[usize]) -> Option<Vec<usize>> + Sync);

/// Runs every `// clbake:launch` line of `prog` once on `device` with the kernels of `built`, then
/// waits for them. A declaration that cannot be read or evaluated is an error (discovery
/// checks them, so this only happens with sources taken from elsewhere); a launch the
/// driver refuses is reported in [`WarmReport::skipped`].
pub fn warm(context: &Context, prog: &ProgramSource, built: &BuiltProgram, local_for: LocalFor<'_>) -> Result<WarmReport, ClError> {
    let shapes = launches_to_warm(&prog.source).map_err(|(line, problem)| declaration(prog, line, problem))?;
    let mut report = WarmReport::default();
    if shapes.is_empty() {
        return Ok(report);
    }
    let sigs = parse_signatures(&prog.source, &prog.options);
    #[allow(deprecated)] // clCreateCommandQueue: the OpenCL 1.2 call, for 1.2 drivers
    let queue = CommandQueue::create_default(context, 0).map_err(ClError::api("clCreateCommandQueue"))?;
    for shape in &shapes {
        let text = prog.source.lines().nth(shape.line.saturating_sub(1)).unwrap_or_default().trim();
        let where_ = |why: String| format!("line {} (`{text}`): {why}", original_line(&prog.source, shape.line));
        let Some((_, kernel)) = built.kernels.iter().find(|(n, _)| *n == shape.kernel) else {
            return Err(declaration(prog, shape.line, format!("no kernel `{}` in the built program", shape.kernel)));
        };
        let sig = match sigs.iter().find(|(n, _)| *n == shape.kernel).map(|(_, s)| s) {
            Some(Ok(sig)) => sig,
            Some(Err(e)) => return Err(declaration(prog, shape.line, e.to_string())),
            None => return Err(declaration(prog, shape.line, format!("kernel `{}` not found in the source", shape.kernel))),
        };
        let values = shape.evaluate(sig).map_err(|e| declaration(prog, shape.line, e))?;
        let args = match set_shape_args(context, kernel, sig, &values) {
            Ok(a) => a,
            Err(e) => {
                report.skipped.push(where_(e.to_string()));
                continue;
            }
        };
        let local = shape.local.clone().or_else(|| local_for(&shape.kernel, &shape.global));
        let local_ptr = local.as_ref().map_or(std::ptr::null(), |l| l.as_ptr());
        if local.as_ref().is_some_and(|l| l.len() != shape.global.len()) {
            report.skipped.push(where_(format!("tuned local size {local:?} has another number of dimensions")));
            continue;
        }
        // SAFETY: every argument was set by `set_shape_args` (buffers alive in `args` until
        // the queue has finished); `global` and `local` hold `global.len()` (1 to 3) sizes
        // that outlive the call.
        let ran = unsafe { queue.enqueue_nd_range_kernel(kernel.get(), shape.global.len() as u32, std::ptr::null(), shape.global.as_ptr(), local_ptr, &[]) }
            .map_err(ClError::api("clEnqueueNDRangeKernel"))
            .and_then(|_| queue.finish().map_err(ClError::api("clFinish")));
        drop(args);
        match ran {
            Ok(()) => report.launches += 1,
            Err(e) => report.skipped.push(where_(e.to_string())),
        }
    }
    Ok(report)
}

fn declaration(prog: &ProgramSource, line: usize, problem: String) -> ClError {
    ClError::Declaration { program: prog.name.clone(), file: prog.file.clone(), line: original_line(&prog.source, line), problem }
}
