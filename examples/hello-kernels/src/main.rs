//! hello-kernels: a user crate with its own OpenCL kernels, baked by clbake.
//!
//! `build.rs` compiles `kernels/*.cl` for the OpenCL devices of the build machine and writes
//! a bundle (sources plus precompiled binaries); `include_kernels!` below embeds it. At
//! start-up each program comes from the embedded binary when one matches the device, else
//! it is compiled from the embedded source. The load report says which, and why.
//!
//! Run: `cargo run --release`. Exit status 0 when every kernel agrees with the CPU, 1 on an
//! error or a disagreement. On a board, `hello-kernels --clbake-bake board.clbk` compiles the
//! embedded sources for the board's devices and writes a bundle for `kernels/precompiled/`.

use clbake::buffers::{download, scratch, upload};
use clbake::opencl3::kernel::{ExecuteKernel, Kernel};
use clbake::opencl3::memory::Buffer;
use clbake::{Programs, Session};
use std::process::ExitCode;

mod kernels {
    clbake::include_kernels!();
}
use kernels::Program;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Elements in the test vectors; deliberately not a multiple of the work-group size.
const N: usize = 100_003;
/// Work-group size (a power of two, as kernels/reduce.cl requires) and group count.
const LOCAL: usize = 64;
const GROUPS: usize = 32;

/// Deterministic test data in [-0.5, 0.5).
fn data(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 37 + seed * 101) % 1009) as f32 / 1009.0 - 0.5).collect()
}

/// `out = a*x + y` on the device; returns the largest |device - CPU| difference.
fn saxpy(session: &Session, kernel: &Kernel) -> Result<f32> {
    let (a, x, y) = (2.5f32, data(N, 1), data(N, 2));
    let (x_buf, y_buf) = (upload(&session.context, &x)?, upload(&session.context, &y)?);
    let out_buf = scratch::<f32>(&session.context, N)?;
    let n = N as i32;
    // SAFETY: the arguments match the kernel's signature in kernels/saxpy.cl
    // (float, 3 float buffers, int) and the buffers outlive the blocking download below.
    unsafe {
        ExecuteKernel::new(kernel)
            .set_arg(&a)
            .set_arg(&x_buf)
            .set_arg(&y_buf)
            .set_arg(&out_buf)
            .set_arg(&n)
            .set_global_work_size(N.div_ceil(LOCAL) * LOCAL)
            .set_local_work_size(LOCAL)
            .enqueue_nd_range(&session.queue)?;
    }
    let mut out = vec![0f32; N];
    download(&session.queue, &out_buf, &mut out)?;
    let cpu = x.iter().zip(&y).map(|(x, y)| a * x + y);
    Ok(out.iter().zip(cpu).map(|(d, c)| (d - c).abs()).fold(0.0, f32::max))
}

/// One pass of kernels/reduce.cl: GROUPS partial results, folded on the host with `fold`.
fn reduce(session: &Session, kernel: &Kernel, input: &Buffer<f32>, fold: fn(f32, f32) -> f32) -> Result<f32> {
    let partial = scratch::<f32>(&session.context, GROUPS)?;
    let n = N as i32;
    // SAFETY: arguments match kernels/reduce.cl (2 float buffers, LOCAL floats of local
    // memory, int); the buffers outlive the blocking download below.
    unsafe {
        ExecuteKernel::new(kernel)
            .set_arg(input)
            .set_arg(&partial)
            .set_arg_local_buffer(LOCAL * std::mem::size_of::<f32>())
            .set_arg(&n)
            .set_global_work_size(GROUPS * LOCAL)
            .set_local_work_size(LOCAL)
            .enqueue_nd_range(&session.queue)?;
    }
    let mut out = vec![0f32; GROUPS];
    download(&session.queue, &partial, &mut out)?;
    Ok(out.into_iter().reduce(fold).unwrap_or(0.0))
}

fn run() -> Result<bool> {
    // The device CLBAKE_DEVICE names (an index from `clbake devices`), else the first GPU,
    // else the first device.
    let session = Session::from_env()?;
    // Every program of the bundle, for this device: embedded binary, else source.
    let programs: Programs<Program> = kernels::load(&session)?;
    println!("device: {}", session.device.fingerprint.describe());

    let mut ok = true;
    let mut check = |what: &str, err: f32, tolerance: f32| {
        let verdict = if err <= tolerance { "ok" } else { "MISMATCH" };
        ok &= err <= tolerance;
        println!("{what:<12} n={N}  max |device - cpu| = {err:.2e}  {verdict}");
    };

    check("saxpy", saxpy(&session, programs.kernel(Program::Saxpy, "saxpy")?)?, 1e-6);

    let x = data(N, 3);
    let input = upload(&session.context, &x)?;
    let sum = reduce(&session, programs.kernel(Program::ReduceSum, "reduce")?, &input, |a, b| a + b)?;
    let cpu_sum: f64 = x.iter().map(|&v| f64::from(v)).sum();
    // Summation order differs from the CPU's: compare relative to the sum of magnitudes.
    let scale: f64 = x.iter().map(|&v| f64::from(v.abs())).sum();
    check("reduce_sum", ((f64::from(sum) - cpu_sum).abs() / scale) as f32, 1e-5);
    let max = reduce(&session, programs.kernel(Program::ReduceMax, "reduce")?, &input, f32::max)?;
    let cpu_max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    check("reduce_max", (max - cpu_max).abs(), 0.0);

    // Which path served each program (embedded / source), why a binary missed, how long.
    print!("{}", programs.report());
    Ok(ok)
}

fn main() -> ExitCode {
    // `hello-kernels --clbake-bake FILE`: bake the embedded sources for this machine's
    // devices into FILE and exit (what `clbake bake --remote` runs on the board).
    if let Some(code) = clbake::selfbake::run_from_args(&kernels::BUNDLE) {
        return code;
    }
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: a kernel disagrees with the CPU (see MISMATCH above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
