//! The kernel library in `kernels/` against the CPU references in
//! `reference.rs`, on a real OpenCL driver (PoCL here; the first platform
//! otherwise). No mocks: every program is compiled from source with
//! `-I <repo>/kernels` plus the options of each `// clbake:variant` line, and
//! every kernel of every variant runs on pseudo-random inputs of several
//! shapes (tile remainders, stride 2, padding, global sizes rounded up).
//!
//! `mutants_are_caught` applies small bugs to the kernel sources and checks
//! that the very same checks report them, so a wrong kernel turns this file red.
//!
//! `CLBAKE_KERNELS_DIR` overrides where the kernels are read from.

use std::collections::BTreeMap;
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::OnceLock;

use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::device::{Device, CL_DEVICE_TYPE_ALL, CL_DEVICE_TYPE_DEFAULT};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, ClMem, CL_MEM_COPY_HOST_PTR, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::platform::get_platforms;
use opencl3::program::Program;
use opencl3::types::{cl_int, CL_BLOCKING};

use crate::reference::{self as r, Act, Conv2dShape, DepthwiseShape};

/// Relative/absolute tolerance of every comparison (see `reference::first_mismatch`).
const TOL: f32 = 1e-4;
/// Extra elements after every output buffer that no kernel may touch.
const GUARD: usize = 64;
/// What output buffers are filled with before a kernel runs (a quiet NaN).
const SENTINEL: u32 = 0x7fc0_dead;

type Check = Result<(), String>;

// ---------------------------------------------------------------------------
// Kernel sources and their variants
// ---------------------------------------------------------------------------

/// The `kernels/` directory of the repository.
fn kernels_dir() -> PathBuf {
    match std::env::var_os("CLBAKE_KERNELS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels"),
    }
}

fn read_source(file: &str) -> String {
    let path = kernels_dir().join(format!("{file}.cl"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// One build of one `.cl` file: a program name and its build options.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Variant {
    /// `NAME_VARIANT`, or `NAME` for a file without variant lines.
    program: String,
    /// The options after the variant name, joined by single spaces.
    options: String,
}

/// Parses the `// clbake:variant NAME OPTIONS...` lines of a kernel file
/// named `stem`. A file without such lines is one program `stem` without options.
fn parse_variants(stem: &str, source: &str) -> Result<Vec<Variant>, String> {
    let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let mut out: Vec<Variant> = Vec::new();
    for (no, line) in source.lines().enumerate() {
        let Some(rest) = line.trim().strip_prefix("// clbake:variant") else {
            continue;
        };
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            continue; // e.g. `// clbake:variants`: not a variant line
        }
        let mut words = rest.split_whitespace();
        let name = words.next().ok_or_else(|| format!("{stem}.cl:{}: variant without a name", no + 1))?;
        if !valid(name) {
            return Err(format!("{stem}.cl:{}: variant name {name:?} is not [a-z0-9_]+", no + 1));
        }
        let program = format!("{stem}_{name}");
        if out.iter().any(|v| v.program == program) {
            return Err(format!("{stem}.cl:{}: duplicate variant {name:?}", no + 1));
        }
        out.push(Variant { program, options: words.collect::<Vec<_>>().join(" ") });
    }
    if out.is_empty() {
        out.push(Variant { program: stem.to_string(), options: String::new() });
    }
    Ok(out)
}

/// Every top-level `kernels/*.cl` file (stem) with its variants, sorted by name.
fn all_programs() -> BTreeMap<String, Vec<Variant>> {
    let dir = kernels_dir();
    let mut map = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("cl") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let src = read_source(&stem);
        map.insert(stem.clone(), parse_variants(&stem, &src).unwrap());
    }
    map
}

fn variants(file: &str) -> Vec<Variant> {
    parse_variants(file, &read_source(file)).unwrap()
}

/// The value of `-DNAME=value` in `options`.
fn define(options: &str, name: &str) -> Option<i32> {
    let key = format!("-D{name}=");
    options.split_whitespace().find_map(|w| w.strip_prefix(&key)?.parse().ok())
}

/// The activation a variant fuses (`ACT`, 0 when absent, as in common.h).
fn act_of(v: &Variant) -> Act {
    Act::from_define(define(&v.options, "ACT").unwrap_or(0)).expect("ACT out of range")
}

// ---------------------------------------------------------------------------
// OpenCL plumbing (opencl3 only)
// ---------------------------------------------------------------------------

/// The context on the test device, shared by all tests (queues are per test).
fn context() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        let platforms = get_platforms().expect("no OpenCL platform (is PoCL installed? `clinfo -l`)");
        // Prefer PoCL, the driver these tests are written for; else the first platform.
        let platform = platforms
            .iter()
            .find(|p| p.name().map(|n| n.contains("Portable Computing Language")).unwrap_or(false))
            .or(platforms.first())
            .expect("no OpenCL platform (is PoCL installed? `clinfo -l`)");
        let ids =
            platform.get_devices(CL_DEVICE_TYPE_DEFAULT).or_else(|_| platform.get_devices(CL_DEVICE_TYPE_ALL)).expect("no OpenCL device");
        let device = Device::new(*ids.first().expect("no OpenCL device"));
        Context::from_device(&device).expect("creating an OpenCL context")
    })
}

/// A kernel argument.
enum Arg<'a> {
    B(&'a Buffer<f32>),
    I(usize),
}

/// An output buffer of `len` floats followed by `GUARD` sentinel floats.
struct Out {
    buf: Buffer<f32>,
    len: usize,
}

/// One test's view of the device: the shared context and its own queue.
struct Cl {
    ctx: &'static Context,
    queue: CommandQueue,
}

impl Cl {
    fn new() -> Cl {
        let ctx = context();
        let queue = CommandQueue::create_default_with_properties(ctx, 0, 0).expect("creating a command queue");
        Cl { ctx, queue }
    }

    /// Builds `source` with `-I <kernels> options` (as clbake's build does).
    fn build_source(&self, source: &str, options: &str) -> Result<Program, String> {
        let opts = format!("-I {} {options}", kernels_dir().display());
        Program::create_and_build_from_source(self.ctx, source, opts.trim()).map_err(|e| format!("building with {opts:?}: {e}"))
    }

    /// Builds one variant of `kernels/<file>.cl` from disk; panics with the build log on failure.
    fn build(&self, file: &str, v: &Variant) -> Program {
        self.build_source(&read_source(file), &v.options).unwrap_or_else(|e| panic!("{}: {e}", v.program))
    }

    fn input(&self, data: &[f32]) -> Buffer<f32> {
        // Zero-sized buffers are invalid in OpenCL; pad empty inputs to one element.
        let mut v = data.to_vec();
        if v.is_empty() {
            v.push(0.0);
        }
        // SAFETY: COPY_HOST_PTR copies `v.len()` floats out of `v` during the call.
        unsafe {
            Buffer::<f32>::create(self.ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, v.len(), v.as_mut_ptr() as *mut c_void)
                .expect("creating an input buffer")
        }
    }

    fn output(&self, len: usize) -> Out {
        let mut v = vec![f32::from_bits(SENTINEL); len + GUARD];
        // SAFETY: as in `input`.
        let buf = unsafe {
            Buffer::<f32>::create(self.ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, v.len(), v.as_mut_ptr() as *mut c_void)
                .expect("creating an output buffer")
        };
        Out { buf, len }
    }

    /// Reads an output back; fails when the kernel wrote past its end.
    fn read(&self, out: &Out) -> Result<Vec<f32>, String> {
        let mut v = vec![0.0f32; out.len + GUARD];
        // SAFETY: `v` has exactly the buffer's size and the read is blocking.
        unsafe { self.queue.enqueue_read_buffer(&out.buf, CL_BLOCKING, 0, &mut v, &[]) }.map_err(|e| format!("reading back: {e}"))?;
        if let Some(i) = v[out.len..].iter().position(|x| x.to_bits() != SENTINEL) {
            return Err(format!("wrote past the end of the output (element {} = {})", out.len + i, v[out.len + i]));
        }
        v.truncate(out.len);
        Ok(v)
    }

    /// Runs `name` from `program` to completion.
    fn run(&self, program: &Program, name: &str, args: &[Arg], global: &[usize], local: Option<&[usize]>) -> Check {
        let kernel = Kernel::create(program, name).map_err(|e| format!("kernel {name}: {e}"))?;
        let n_args = kernel.num_args().map_err(|e| e.to_string())? as usize;
        if n_args != args.len() {
            return Err(format!("kernel {name} takes {n_args} arguments, the test passes {}", args.len()));
        }
        let mems: Vec<_> = args.iter().map(|a| if let Arg::B(b) = a { b.get() } else { ptr::null_mut() }).collect();
        let ints: Vec<cl_int> = args.iter().map(|a| if let Arg::I(i) = a { *i as cl_int } else { 0 }).collect();
        let mut exec = ExecuteKernel::new(&kernel);
        for (i, a) in args.iter().enumerate() {
            // SAFETY: each value matches the kernel's parameter (a cl_mem or an int),
            // and the count was checked above.
            unsafe {
                match a {
                    Arg::B(_) => exec.set_arg(&mems[i]),
                    Arg::I(_) => exec.set_arg(&ints[i]),
                };
            }
        }
        exec.set_global_work_sizes(global);
        if let Some(l) = local {
            exec.set_local_work_sizes(l);
        }
        // SAFETY: all arguments are set, buffers outlive the blocking finish below.
        unsafe { exec.enqueue_nd_range(&self.queue) }.map_err(|e| format!("enqueue {name} {global:?}/{local:?}: {e}"))?;
        self.queue.finish().map_err(|e| format!("finish {name}: {e}"))
    }
}

// ---------------------------------------------------------------------------
// Inputs and comparison
// ---------------------------------------------------------------------------

/// xorshift32, for deterministic inputs without a dependency.
struct XorShift(u32);

impl XorShift {
    fn new(seed: u32) -> XorShift {
        XorShift(seed.wrapping_mul(0x9e37_79b9) | 1)
    }
    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        lo + (hi - lo) * ((x >> 8) as f32 / (1u32 << 24) as f32)
    }
    fn vec(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.uniform(lo, hi)).collect()
    }
}

fn round_up(x: usize, m: usize) -> usize {
    x.div_ceil(m) * m
}

/// Global sizes rounded up to multiples of `round` (1 = exact), and the
/// matching local size (`None` when exact: the driver picks).
fn grid(exact: &[usize], round: usize) -> (Vec<usize>, Option<Vec<usize>>) {
    if round <= 1 {
        return (exact.to_vec(), None);
    }
    let global = exact.iter().enumerate().map(|(d, &g)| if d < 2 { round_up(g, round) } else { g }).collect();
    let local = (0..exact.len()).map(|d| if d < 2 { round } else { 1 }).collect();
    (global, Some(local))
}

fn compare(what: &str, got: &[f32], want: &[f32]) -> Check {
    if want.iter().all(|&w| w == want[0]) && want.len() > 4 {
        return Err(format!("{what}: reference output is constant ({}); the case tests nothing", want[0]));
    }
    match r::first_mismatch(got, want, TOL) {
        None => Ok(()),
        Some((i, g, w)) => Err(format!("{what}: element {i} of {}: got {g}, want {w}", want.len())),
    }
}

/// Fails unless `pre` (pre-activation reference values) exercises `act`:
/// negatives for relu, values above 6 too for relu6.
fn exercises(what: &str, pre: &[f32], act: Act) -> Check {
    let neg = pre.iter().any(|&x| x < -0.5);
    let pos = pre.iter().any(|&x| x > 0.5);
    let big = pre.iter().any(|&x| x > 6.5);
    let ok = match act {
        Act::None => true,
        Act::Relu | Act::Sigmoid | Act::Tanh => neg && pos,
        Act::Relu6 => neg && pos && big,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: inputs do not exercise {act:?}"))
    }
}

// ---------------------------------------------------------------------------
// Checks, one per program, shared by the tests and the mutant test
// ---------------------------------------------------------------------------

/// (shape, global rounding) cases of conv2d / conv2d_3x3.
fn conv2d_cases() -> Vec<(Conv2dShape, usize)> {
    let s = |n, c_in, h, w, c_out, kh, kw, stride, pad| Conv2dShape { n, c_in, h, w, c_out, kh, kw, stride, pad };
    vec![
        (s(1, 3, 8, 8, 4, 3, 3, 1, 1), 1),
        (s(2, 5, 11, 13, 6, 3, 3, 2, 1), 8), // stride 2, odd sizes, rounded-up grid
        (s(1, 4, 7, 9, 3, 3, 3, 1, 0), 4),   // valid convolution
        (s(2, 2, 6, 5, 3, 3, 3, 2, 2), 1),   // pad 2 with a 3x3 window
        (s(1, 3, 10, 9, 2, 5, 5, 2, 2), 4),  // 5x5, stride 2
        (s(1, 6, 5, 7, 7, 1, 1, 1, 0), 1),   // pointwise
        (s(1, 2, 9, 8, 3, 1, 3, 1, 1), 8),   // non-square window
        (s(1, 1, 4, 4, 2, 3, 3, 1, 3), 1),   // pad >= window: some outputs see only padding
    ]
}

fn check_conv2d(cl: &Cl, program: &Program, act: Act) -> Check {
    for (i, (s, round)) in conv2d_cases().into_iter().enumerate() {
        let mut rng = XorShift::new(100 + i as u32);
        let input = rng.vec(s.input_len(), -3.0, 3.0);
        let weight = rng.vec(s.weight_len(), -1.0, 1.0);
        let bias = rng.vec(s.c_out, -1.0, 1.0);
        let want = r::conv2d(&input, &weight, &bias, &s, act);
        let (bi, bw, bb) = (cl.input(&input), cl.input(&weight), cl.input(&bias));
        let (ho, wo) = (s.h_out(), s.w_out());
        let (global, local) = grid(&[wo, ho, s.n * s.c_out], round);
        let mut kernels = vec!["conv2d"];
        if s.kh == 3 && s.kw == 3 {
            kernels.push("conv2d_3x3");
        }
        for name in kernels {
            let out = cl.output(s.output_len());
            let mut args = vec![Arg::B(&bi), Arg::B(&bw), Arg::B(&bb), Arg::B(&out.buf)];
            args.extend([s.n, s.c_in, s.h, s.w, s.c_out].map(Arg::I));
            if name == "conv2d" {
                args.extend([s.kh, s.kw].map(Arg::I));
            }
            args.extend([s.stride, s.pad, ho, wo].map(Arg::I));
            cl.run(program, name, &args, &global, local.as_deref())?;
            compare(&format!("{name} {act:?} {s:?} round {round}"), &cl.read(&out)?, &want)?;
        }
        if i == 1 {
            exercises("conv2d", &r::conv2d(&input, &weight, &bias, &s, Act::None), act)?;
        }
    }
    Ok(())
}

fn check_depthwise(cl: &Cl, program: &Program, act: Act) -> Check {
    let s = |n, c, h, w, kh, kw, stride, pad| DepthwiseShape { n, c, h, w, kh, kw, stride, pad };
    let cases = [
        (s(1, 4, 8, 8, 3, 3, 1, 1), 1),
        (s(2, 5, 11, 13, 3, 3, 2, 1), 8),
        (s(1, 3, 9, 7, 5, 5, 2, 2), 4),
        (s(2, 3, 6, 6, 3, 3, 1, 0), 1),
        (s(1, 2, 5, 6, 1, 3, 1, 1), 1),
    ];
    for (i, (s, round)) in cases.into_iter().enumerate() {
        let mut rng = XorShift::new(200 + i as u32);
        let input = rng.vec(s.n * s.c * s.h * s.w, -4.0, 4.0);
        let weight = rng.vec(s.c * s.kh * s.kw, -1.0, 1.0);
        let bias = rng.vec(s.c, -1.0, 1.0);
        let want = r::depthwise_conv2d(&input, &weight, &bias, &s, act);
        let (ho, wo) = (s.h_out(), s.w_out());
        let out = cl.output(want.len());
        let (bi, bw, bb) = (cl.input(&input), cl.input(&weight), cl.input(&bias));
        let mut args = vec![Arg::B(&bi), Arg::B(&bw), Arg::B(&bb), Arg::B(&out.buf)];
        args.extend([s.n, s.c, s.h, s.w, s.kh, s.kw, s.stride, s.pad, ho, wo].map(Arg::I));
        let (global, local) = grid(&[wo, ho, s.n * s.c], round);
        cl.run(program, "depthwise_conv2d", &args, &global, local.as_deref())?;
        compare(&format!("depthwise_conv2d {act:?} {s:?}"), &cl.read(&out)?, &want)?;
        if i == 1 {
            exercises("depthwise_conv2d", &r::depthwise_conv2d(&input, &weight, &bias, &s, Act::None), act)?;
        }
    }
    Ok(())
}

fn check_pool(cl: &Cl, program: &Program) -> Check {
    // (nc, h, w, k, stride, round)
    let cases = [(3, 8, 8, 2, 2, 1), (5, 9, 11, 3, 2, 4), (2, 7, 7, 3, 1, 8), (4, 6, 10, 1, 1, 1), (1, 5, 5, 5, 1, 1), (6, 12, 9, 2, 3, 4)];
    for (i, (nc, h, w, k, stride, round)) in cases.into_iter().enumerate() {
        let mut rng = XorShift::new(300 + i as u32);
        let input = rng.vec(nc * h * w, -5.0, 5.0);
        let (ho, wo) = (r::pool_out_size(h, k, stride), r::pool_out_size(w, k, stride));
        let bi = cl.input(&input);
        let (global, local) = grid(&[wo, ho, nc], round);
        for (name, want) in
            [("max_pool2d", r::max_pool2d(&input, nc, h, w, k, stride)), ("avg_pool2d", r::avg_pool2d(&input, nc, h, w, k, stride))]
        {
            let out = cl.output(want.len());
            let mut args = vec![Arg::B(&bi), Arg::B(&out.buf)];
            args.extend([nc, h, w, k, stride, ho, wo].map(Arg::I));
            cl.run(program, name, &args, &global, local.as_deref())?;
            compare(&format!("{name} nc {nc} {h}x{w} k {k} stride {stride}"), &cl.read(&out)?, &want)?;
        }
    }
    Ok(())
}

fn check_activation(cl: &Cl, program: &Program) -> Check {
    for (i, (n, round)) in [(1usize, 1usize), (1000, 64), (4096, 1)].into_iter().enumerate() {
        let mut rng = XorShift::new(400 + i as u32);
        let mut x = rng.vec(n, -10.0, 10.0);
        if n > 8 {
            // The saturating regions of sigmoid/tanh and both relu6 edges.
            x[..6].copy_from_slice(&[-90.0, 90.0, 0.0, 6.0, 6.5, -0.25]);
        }
        let bx = cl.input(&x);
        for (name, act) in [("relu", Act::Relu), ("relu6", Act::Relu6), ("sigmoid_act", Act::Sigmoid), ("tanh_act", Act::Tanh)] {
            let want = r::activation(&x, act);
            let out = cl.output(n);
            let args = [Arg::B(&bx), Arg::B(&out.buf), Arg::I(n)];
            cl.run(program, name, &args, &[round_up(n, round)], None)?;
            compare(&format!("{name} n {n}"), &cl.read(&out)?, &want)?;
        }
    }
    Ok(())
}

fn check_eltwise(cl: &Cl, program: &Program) -> Check {
    // bias_add on NCHW tensors: (n, c, spatial, round)
    for (i, (n, c, spatial, round)) in [(1usize, 3usize, 35usize, 1usize), (2, 5, 7, 64), (3, 16, 1, 1)].into_iter().enumerate() {
        let mut rng = XorShift::new(500 + i as u32);
        let total = n * c * spatial;
        let x = rng.vec(total, -2.0, 2.0);
        let bias = rng.vec(c, -2.0, 2.0);
        let want = r::bias_add(&x, &bias, c, spatial);
        let out = cl.output(total);
        let (bx, bb) = (cl.input(&x), cl.input(&bias));
        let args = [Arg::B(&bx), Arg::B(&bb), Arg::B(&out.buf), Arg::I(c), Arg::I(spatial), Arg::I(total)];
        cl.run(program, "bias_add", &args, &[round_up(total, round)], None)?;
        compare(&format!("bias_add n {n} c {c} spatial {spatial}"), &cl.read(&out)?, &want)?;
    }
    for (i, (n, round)) in [(1usize, 1usize), (1001, 32), (4096, 1)].into_iter().enumerate() {
        let mut rng = XorShift::new(550 + i as u32);
        let a = rng.vec(n, -3.0, 3.0);
        let b = rng.vec(n, -3.0, 3.0);
        let (ba, bb) = (cl.input(&a), cl.input(&b));
        for (name, want) in [("eltwise_add", r::eltwise_add(&a, &b)), ("eltwise_mul", r::eltwise_mul(&a, &b))] {
            let out = cl.output(n);
            let args = [Arg::B(&ba), Arg::B(&bb), Arg::B(&out.buf), Arg::I(n)];
            cl.run(program, name, &args, &[round_up(n, round)], None)?;
            compare(&format!("{name} n {n}"), &cl.read(&out)?, &want)?;
        }
    }
    Ok(())
}

fn check_gemm(cl: &Cl, program: &Program, tile: usize) -> Check {
    // (m, n, k)
    let cases = [(1, 1, 1), (7, 5, 3), (16, 16, 16), (33, 17, 29), (64, 48, 40), (5, 70, 9), (24, 8, 100)];
    for (i, (m, n, k)) in cases.into_iter().enumerate() {
        let mut rng = XorShift::new(600 + i as u32);
        let a = rng.vec(m * k, -1.0, 1.0);
        let b = rng.vec(k * n, -1.0, 1.0);
        let want = r::gemm(&a, &b, m, n, k);
        let (ba, bb) = (cl.input(&a), cl.input(&b));
        let naive_round = if i % 2 == 0 { 1 } else { 8 };
        let (g, l) = grid(&[n, m], naive_round);
        let (tg, tl) = grid(&[n, m], tile);
        for (name, global, local) in [("gemm_naive", g, l), ("gemm_tiled", tg, tl)] {
            let out = cl.output(m * n);
            let args = [Arg::B(&ba), Arg::B(&bb), Arg::B(&out.buf), Arg::I(m), Arg::I(n), Arg::I(k)];
            cl.run(program, name, &args, &global, local.as_deref())?;
            compare(&format!("{name} TILE {tile} m {m} n {n} k {k}"), &cl.read(&out)?, &want)?;
        }
    }
    Ok(())
}

fn check_dense(cl: &Cl, program: &Program, act: Act) -> Check {
    // (n, k, m, round)
    for (i, (n, k, m, round)) in [(1usize, 10usize, 3usize, 1usize), (3, 67, 17, 8), (8, 128, 10, 1), (2, 1, 5, 4)].into_iter().enumerate()
    {
        let mut rng = XorShift::new(700 + i as u32);
        let x = rng.vec(n * k, -1.0, 1.0);
        let w = rng.vec(m * k, -1.0, 1.0);
        let bias = rng.vec(m, -1.0, 1.0);
        let want = r::dense(&x, &w, &bias, n, k, m, act);
        let out = cl.output(n * m);
        let (bx, bw, bb) = (cl.input(&x), cl.input(&w), cl.input(&bias));
        let args = [Arg::B(&bx), Arg::B(&bw), Arg::B(&bb), Arg::B(&out.buf), Arg::I(n), Arg::I(k), Arg::I(m)];
        let (global, local) = grid(&[m, n], round);
        cl.run(program, "dense", &args, &global, local.as_deref())?;
        compare(&format!("dense {act:?} n {n} k {k} m {m}"), &cl.read(&out)?, &want)?;
        if i == 1 {
            exercises("dense", &r::dense(&x, &w, &bias, n, k, m, Act::None), act)?;
        }
    }
    Ok(())
}

fn check_softmax(cl: &Cl, program: &Program) -> Check {
    for (i, (rows, cols, round)) in [(1usize, 1usize, 1usize), (5, 10, 4), (7, 1000, 1), (3, 3, 1)].into_iter().enumerate() {
        let mut rng = XorShift::new(800 + i as u32);
        let mut x = rng.vec(rows * cols, -8.0, 8.0);
        if rows > 1 {
            // Logits where exp() overflows without the max subtraction.
            for v in &mut x[cols..2 * cols] {
                *v += 500.0;
            }
        }
        let want = r::softmax(&x, rows, cols);
        let out = cl.output(want.len());
        let bx = cl.input(&x);
        let args = [Arg::B(&bx), Arg::B(&out.buf), Arg::I(rows), Arg::I(cols)];
        cl.run(program, "softmax", &args, &[round_up(rows, round)], None)?;
        compare(&format!("softmax rows {rows} cols {cols}"), &cl.read(&out)?, &want)?;
    }
    Ok(())
}

/// Runs the check of `file` on an already built variant.
fn check_file(cl: &Cl, file: &str, v: &Variant, program: &Program) -> Check {
    match file {
        "conv2d" => check_conv2d(cl, program, act_of(v)),
        "depthwise" => check_depthwise(cl, program, act_of(v)),
        "pool" => check_pool(cl, program),
        "activation" => check_activation(cl, program),
        "eltwise" => check_eltwise(cl, program),
        "gemm" => check_gemm(cl, program, define(&v.options, "TILE").unwrap_or(16) as usize),
        "dense" => check_dense(cl, program, act_of(v)),
        "softmax" => check_softmax(cl, program),
        other => Err(format!("no check for kernels/{other}.cl: add one to tests/it/kernels.rs")),
    }
}

/// Builds every variant of `file` and checks it.
fn check_all_variants(file: &str) {
    let cl = Cl::new();
    let vs = variants(file);
    for v in &vs {
        let program = cl.build(file, v);
        if let Err(e) = check_file(&cl, file, v, &program) {
            panic!("{} ({:?}): {e}", v.program, v.options);
        }
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// The programs and kernels the rest of clbake (demo runner, build) relies on,
/// with their exact parameter lists (`type name`, address space dropped).
const EXPECTED: &[(&str, &[&str], &[&str])] = &[
    ("activation", &["activation"], &[
        "relu(float* x, float* y, int n)",
        "relu6(float* x, float* y, int n)",
        "sigmoid_act(float* x, float* y, int n)",
        "tanh_act(float* x, float* y, int n)",
    ]),
    ("conv2d", &["conv2d_none", "conv2d_relu", "conv2d_relu6"], &[
        "conv2d(float* in, float* w, float* bias, float* out, int N, int C_in, int H, int W, int C_out, int KH, int KW, int stride, int pad, int H_out, int W_out)",
        "conv2d_3x3(float* in, float* w, float* bias, float* out, int N, int C_in, int H, int W, int C_out, int stride, int pad, int H_out, int W_out)",
    ]),
    ("dense", &["dense_none", "dense_relu"], &[
        "dense(float* x, float* w, float* bias, float* y, int N, int K, int M)",
    ]),
    ("depthwise", &["depthwise_none", "depthwise_relu", "depthwise_relu6"], &[
        "depthwise_conv2d(float* in, float* w, float* bias, float* out, int N, int C, int H, int W, int KH, int KW, int stride, int pad, int H_out, int W_out)",
    ]),
    ("eltwise", &["eltwise"], &[
        "bias_add(float* x, float* bias, float* y, int C, int spatial, int total)",
        "eltwise_add(float* a, float* b, float* y, int n)",
        "eltwise_mul(float* a, float* b, float* y, int n)",
    ]),
    ("gemm", &["gemm_t8", "gemm_t16"], &[
        "gemm_naive(float* A, float* B, float* C, int M, int N, int K)",
        "gemm_tiled(float* A, float* B, float* C, int M, int N, int K)",
    ]),
    ("pool", &["pool"], &[
        "avg_pool2d(float* in, float* out, int NC, int H, int W, int K, int stride, int H_out, int W_out)",
        "max_pool2d(float* in, float* out, int NC, int H, int W, int K, int stride, int H_out, int W_out)",
    ]),
    ("softmax", &["softmax"], &["softmax(float* x, float* y, int rows, int cols)"]),
];

#[test]
fn variant_line_parser() {
    let src =
        "// clbake:variant none -DACT=0\n  // clbake:variant t16   -DTILE=16  -DX=2\n// clbake:variants no\n// clbake: variant no\nint x;";
    let vs = parse_variants("f", src).unwrap();
    assert_eq!(
        vs,
        vec![
            Variant { program: "f_none".into(), options: "-DACT=0".into() },
            Variant { program: "f_t16".into(), options: "-DTILE=16 -DX=2".into() },
        ]
    );
    assert_eq!(parse_variants("g", "kernel void k() {}").unwrap(), vec![Variant { program: "g".into(), options: String::new() }]);
    assert!(parse_variants("f", "// clbake:variant Bad -DX=1").is_err());
    assert!(parse_variants("f", "// clbake:variant a\n// clbake:variant a").is_err());
    assert!(parse_variants("f", "// clbake:variant").is_err());
    assert!(parse_variants("f", "// clbake:variant   ").is_err());
    assert_eq!(define("-DACT=2 -DTILE=8", "TILE"), Some(8));
    assert_eq!(define("-DACT=2", "TILE"), None);
}

/// Exactly the documented programs exist, and each exports exactly the
/// documented kernels with the documented parameters, in every variant and
/// also with no options at all (the defaults of common.h).
#[test]
fn programs_variants_and_signatures() {
    let all = all_programs();
    let files: Vec<&str> = all.keys().map(String::as_str).collect();
    let expected_files: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(files, expected_files, "kernels/*.cl files");
    let cl = Cl::new();
    for (file, programs, sigs) in EXPECTED {
        let vs = &all[*file];
        let names: Vec<&str> = vs.iter().map(|v| v.program.as_str()).collect();
        assert_eq!(&names, programs, "variants of {file}.cl");
        let mut builds: Vec<(String, String)> = vs.iter().map(|v| (v.program.clone(), v.options.clone())).collect();
        if !vs[0].options.is_empty() {
            builds.push((format!("{file} (no options)"), String::new()));
        }
        for (program, options) in builds {
            let p = cl
                .build_source(&read_source(file), &format!("{options} -cl-kernel-arg-info -cl-std=CL1.2 -Werror"))
                .unwrap_or_else(|e| panic!("{program}: {e}"));
            let mut got: Vec<String> = p.kernel_names().split(';').filter(|s| !s.is_empty()).map(|name| signature(&p, name)).collect();
            got.sort();
            let mut want: Vec<String> = sigs.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(got, want, "kernels of {program}");
        }
    }
}

/// `name(type arg, ...)` of a kernel built with `-cl-kernel-arg-info`;
/// pointers must be `__global`.
fn signature(p: &Program, name: &str) -> String {
    use opencl3::kernel::CL_KERNEL_ARG_ADDRESS_GLOBAL;
    let k = Kernel::create(p, name).unwrap();
    let args: Vec<String> = (0..k.num_args().unwrap())
        .map(|i| {
            let ty = k.get_arg_type_name(i).unwrap();
            if ty.ends_with('*') {
                assert_eq!(k.get_arg_address_qualifier(i).unwrap(), CL_KERNEL_ARG_ADDRESS_GLOBAL, "{name} arg {i}");
            }
            format!("{} {}", ty.trim_end_matches('\0'), k.get_arg_name(i).unwrap().trim_end_matches('\0'))
        })
        .collect();
    format!("{name}({})", args.join(", "))
}

#[test]
fn conv2d_all_variants() {
    check_all_variants("conv2d");
}

#[test]
fn depthwise_all_variants() {
    check_all_variants("depthwise");
}

#[test]
fn pool_max_and_avg() {
    check_all_variants("pool");
}

#[test]
fn activations() {
    check_all_variants("activation");
}

#[test]
fn eltwise_ops() {
    check_all_variants("eltwise");
}

#[test]
fn gemm_naive_and_tiled_all_tiles() {
    check_all_variants("gemm");
}

#[test]
fn dense_all_variants() {
    check_all_variants("dense");
}

#[test]
fn softmax_stable() {
    check_all_variants("softmax");
}

/// Small bugs of the kind a kernel edit introduces: each must make the
/// corresponding check above fail.
#[test]
fn mutants_are_caught() {
    // (file, variant index, text, replacement)
    let mutants: &[(&str, usize, &str, &str)] = &[
        ("conv2d", 0, "const int ix0 = x * stride - pad;", "const int ix0 = x * stride;"),
        ("conv2d", 0, "w_c[ky * 3 + kx]", "w_c[kx * 3 + ky]"),
        ("conv2d", 2, "return act_relu6(x);", "return act_relu(x);"),
        ("depthwise", 0, "const int c = z % C;", "const int c = z / C % C;"),
        ("pool", 0, "m = fmax(m, p[ky * W + kx]);", "m = fmax(m, p[ky * K + kx]);"),
        ("pool", 0, "s / (float)(K * K)", "s / (float)(K * K + 1)"),
        ("activation", 0, "if (i < n) y[i] = act_tanh(x[i]);", "if (i < n) y[i] = act_sigmoid(x[i]);"),
        ("eltwise", 0, "bias[(i / spatial) % C]", "bias[i % C]"),
        ("gemm", 0, "for (int t = 0; t < K; t += TILE)", "for (int t = 0; t + TILE <= K; t += TILE)"),
        ("gemm", 1, "if (row < M && col < N) C[", "if (row < M) C["),
        ("gemm", 1, "if (col >= N || row >= M) return;", "if (row >= M) return;"),
        ("dense", 1, "apply_act(acc + bias[m])", "apply_act(acc) + bias[m]"),
        ("softmax", 0, "exp(xr[j] - m)", "exp(xr[j])"),
    ];
    let cl = Cl::new();
    let header = std::fs::read_to_string(kernels_dir().join("common.h")).unwrap();
    for (file, vi, from, to) in mutants {
        let v = &variants(file)[*vi];
        // Mutations of common.h are inlined in place of its #include.
        let mut source = read_source(file);
        if !source.contains(from) && header.contains(from) {
            source = source.replace("#include \"common.h\"", &header);
        }
        assert!(source.contains(from), "mutant {from:?} no longer applies to {file}.cl");
        let mutated = source.replace(from, to);
        let program = cl.build_source(&mutated, &v.options).unwrap_or_else(|e| panic!("mutant {to:?}: {e}"));
        // The unmutated check passes (tested above); the mutant must fail it.
        match check_file(&cl, file, v, &program) {
            Ok(()) => panic!("{}: mutant {from:?} -> {to:?} passed the checks", v.program),
            Err(e) => eprintln!("caught {} mutant {to:?}: {e}", v.program),
        }
    }
}
