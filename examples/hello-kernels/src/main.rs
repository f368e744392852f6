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

use clbake::{Buffer, Half, Local, ReadOnly, Session, WriteOnly};
use std::process::ExitCode;

mod kernels {
    clbake::include_kernels!();
}
use kernels::{Kernels, Reduce};

type Result<T> = std::result::Result<T, clbake::Error>;

/// Elements in the test vectors; deliberately not a multiple of the work-group size.
const N: usize = 100_003;
/// Work-group size (a power of two, as kernels/reduce.cl requires) and group count.
const LOCAL: usize = 64;
const GROUPS: usize = 32;

/// Deterministic test data in [-0.5, 0.5).
fn data(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 37 + seed * 101) % 1009) as f32 / 1009.0 - 0.5).collect()
}

/// The global size rounded up to whole work-groups.
fn rounded(n: usize) -> usize {
    n.div_ceil(LOCAL) * LOCAL
}

/// `out = a*x + y` on the device; returns the largest |device - CPU| difference.
fn saxpy(session: &Session, k: &Kernels) -> Result<f32> {
    let (a, x, y) = (2.5f32, data(N, 1), data(N, 2));
    let (x_buf, y_buf) = (Buffer::<f32, ReadOnly>::from_slice(session, &x)?, Buffer::<f32, ReadOnly>::from_slice(session, &y)?);
    let mut out_buf = Buffer::<f32, WriteOnly>::new(session, N)?;
    // Argument types are checked by rustc against kernels/saxpy.cl.
    k.saxpy().saxpy(session.queue(), [rounded(N)], Some([LOCAL]), a, &x_buf, &y_buf, &mut out_buf, N as i32)?;
    let out = out_buf.read(session.queue())?;
    let cpu = x.iter().zip(&y).map(|(x, y)| a * x + y);
    Ok(out.iter().zip(cpu).map(|(d, c)| (d - c).abs()).fold(0.0, f32::max))
}

/// One pass of kernels/reduce.cl in `variant`: GROUPS partial results, folded on the host
/// with `fold`.
fn reduce(session: &Session, k: &Kernels, variant: Reduce, input: &Buffer<f32, ReadOnly>, fold: fn(f32, f32) -> f32) -> Result<f32> {
    let mut partial = Buffer::<f32, WriteOnly>::new(session, GROUPS)?;
    k.reduce(variant).reduce(session.queue(), [GROUPS * LOCAL], Some([LOCAL]), input, &mut partial, Local::new(LOCAL), N as i32)?;
    Ok(partial.read(session.queue())?.into_iter().reduce(fold).unwrap_or(0.0))
}

/// kernels/vectors.cl: a float4 scale, and floats stored as half; largest differences.
fn vectors(session: &Session, k: &Kernels) -> Result<(f32, f32)> {
    let n4 = N / 4;
    let x: Vec<[f32; 4]> = data(n4 * 4, 4).chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
    let factor = [2.0f32, -1.0, 0.5, 4.0];
    let x_buf = Buffer::<[f32; 4], ReadOnly>::from_slice(session, &x)?;
    let mut y_buf = Buffer::<[f32; 4], WriteOnly>::new(session, n4)?;
    k.vectors().scale4(session.queue(), [rounded(n4)], Some([LOCAL]), &x_buf, &mut y_buf, factor, n4 as i32)?;
    let y = y_buf.read(session.queue())?;
    let err4 = x.iter().zip(&y).flat_map(|(x, y)| (0..4).map(move |c| (factor[c] * x[c] - y[c]).abs())).fold(0.0, f32::max);

    let xf = data(N, 5);
    let xf_buf = Buffer::<f32, ReadOnly>::from_slice(session, &xf)?;
    let mut h_buf = Buffer::<Half, WriteOnly>::new(session, N)?;
    k.vectors().to_half(session.queue(), [rounded(N)], Some([LOCAL]), &xf_buf, &mut h_buf, N as i32)?;
    let h = h_buf.read(session.queue())?;
    // vstore_half rounds to nearest even, as half::f16::from_f32 does.
    let err_h = xf.iter().zip(&h).map(|(x, h)| (Half::from_f32(*x).to_f32() - h.to_f32()).abs()).fold(0.0, f32::max);
    Ok((err4, err_h))
}

fn run() -> Result<bool> {
    // The device CLBAKE_DEVICE names (an index from `clbake devices`), else the first GPU,
    // else the first device.
    let session = Session::from_env()?;
    // The programs of the bundle for this device, each created at its first launch:
    // embedded binary, else the disk cache, else the embedded source.
    let k = Kernels::load(&session)?;
    println!("device: {}", session.device().fingerprint.describe());

    let mut ok = true;
    let mut check = |what: &str, err: f32, tolerance: f32| {
        let verdict = if err <= tolerance { "ok" } else { "MISMATCH" };
        ok &= err <= tolerance;
        println!("{what:<12} n={N}  max |device - cpu| = {err:.2e}  {verdict}");
    };

    check("saxpy", saxpy(&session, &k)?, 1e-6);

    let x = data(N, 3);
    let input = Buffer::<f32, ReadOnly>::from_slice(&session, &x)?;
    let sum = reduce(&session, &k, Reduce::Sum, &input, |a, b| a + b)?;
    let cpu_sum: f64 = x.iter().map(|&v| f64::from(v)).sum();
    // Summation order differs from the CPU's: compare relative to the sum of magnitudes.
    let scale: f64 = x.iter().map(|&v| f64::from(v.abs())).sum();
    check("reduce_sum", ((f64::from(sum) - cpu_sum).abs() / scale) as f32, 1e-5);
    let max = reduce(&session, &k, Reduce::Max, &input, f32::max)?;
    let cpu_max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    check("reduce_max", (max - cpu_max).abs(), 0.0);

    let (err4, err_h) = vectors(&session, &k)?;
    check("scale4", err4, 0.0);
    check("to_half", err_h, 0.0);

    // Which path served each program (embedded / cache / source), why a binary missed, how long.
    print!("{}", k.report());
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
