//! Row (e), the floor: `clCreateProgramWithBinary` + `clBuildProgram` + `clCreateKernel` of
//! the very binaries clbake embeds, uncompressed, from memory, with no clbake code.
//!
//! [`prepare`] (in the parent, untimed) takes the binaries for one device out of a bundle
//! (a `.clbk` file or an executable's `.clbake` section), verifies and decompresses them and
//! writes them as plain files with a manifest. [`child`] (a fresh process) reads them all
//! into memory, creates the context, and then times only OpenCL calls: programs ready, then
//! the demo's first inference (the same five launches on the same shapes as
//! `src/cli/demo.rs::forward`, on zero-filled buffers: these kernels take the same time
//! whatever the values).

use crate::common::{ms, R};
use clbake::core::format::{bundle_region, scan};
use clbake::Fingerprint;
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::device::{Device, CL_DEVICE_TYPE_ALL, CL_DEVICE_TYPE_GPU};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_COPY_HOST_PTR, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::platform::get_platforms;
use opencl3::program::Program;
use opencl3::types::{cl_device_id, CL_BLOCKING};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::ffi::c_void;
use std::path::Path;
use std::time::Instant;

/// One program of the floor set.
#[derive(Serialize, Deserialize)]
struct Entry {
    name: String,
    options: String,
    file: String,
    bytes: usize,
}

/// What [`prepare`] found.
pub struct Prepared {
    /// Programs (one binary each).
    pub programs: usize,
    /// Their total uncompressed size.
    pub bytes: usize,
    /// PoCL work-group functions specialised for a local size (see [`specialised`]).
    pub specialised: usize,
}

/// Number of PoCL work-group functions in `binary` that are specialised for a launch (see
/// [`clbake::core::pocl`]): a binary holds them for the launches that ran before it was
/// captured (baking's warm launches), so their count tells how a bundle was baked.
pub fn specialised(binary: &[u8]) -> usize {
    clbake::core::pocl::workgroup_functions(binary).iter().filter(|w| !w.is_generic()).count()
}

/// Writes the binaries of every program of the first bundle in `source` built for the
/// device `fp` into `dir` (plus `manifest.json`). Fails when a program has no binary for
/// that device.
pub fn prepare(source: &Path, fp: &Fingerprint, dir: &Path) -> R<Prepared> {
    let bytes = std::fs::read(source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    let region = bundle_region(&bytes);
    let Some((_, first)) = scan(region).into_iter().next() else {
        return Err(format!("{}: no clbake bundle in it", source.display()).into());
    };
    let bundle = first.map_err(|e| format!("{}: {e}", source.display()))?;
    let hash = fp.hash();
    let mut entries = Vec::new();
    let mut total = 0;
    let mut spec = 0;
    for (i, prog) in bundle.programs().iter().enumerate() {
        let bin = bundle
            .find_binary(i as u32, &hash)
            .ok_or_else(|| format!("{}: program {} has no binary for {}", source.display(), prog.name, fp.describe()))?;
        let raw = bin.decompress().map_err(|e| format!("{}: binary of {}: {e}", source.display(), prog.name))?;
        let file = format!("{i:03}-{}.bin", prog.name);
        std::fs::write(dir.join(&file), &raw)?;
        total += raw.len();
        spec += specialised(&raw);
        entries.push(Entry { name: prog.name.to_string(), options: prog.options.to_string(), file, bytes: raw.len() });
    }
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(&entries)?)?;
    Ok(Prepared { programs: entries.len(), bytes: total, specialised: spec })
}

/// The device `DeviceSelector::Default` would pick (first GPU, else the first device),
/// found with plain OpenCL calls.
fn pick_device() -> R<cl_device_id> {
    let mut all = Vec::new();
    for p in get_platforms().map_err(|e| format!("clGetPlatformIDs: {e}"))? {
        all.extend(p.get_devices(CL_DEVICE_TYPE_ALL).unwrap_or_default());
    }
    let gpu = all.iter().copied().find(|&d| Device::new(d).dev_type().is_ok_and(|t| t & CL_DEVICE_TYPE_GPU != 0));
    gpu.or_else(|| all.first().copied()).ok_or_else(|| "no OpenCL device".into())
}

/// `--child-floor DIR --images N`: prints `{"context_ms", "programs_ms", "first_inference_ms", ...}`.
pub fn child(args: &[String]) -> R<()> {
    let dir = Path::new(args.first().ok_or("--child-floor DIR [--images N]")?);
    let images: usize = match args.get(1).map(String::as_str) {
        Some("--images") => args.get(2).and_then(|v| v.parse().ok()).ok_or("--images needs a number")?,
        _ => 450,
    };
    let manifest: Vec<Entry> = serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)?;
    let binaries: Vec<Vec<u8>> = manifest.iter().map(|e| std::fs::read(dir.join(&e.file))).collect::<Result<_, _>>()?;

    let t = Instant::now();
    let device = pick_device()?;
    let context = Context::from_device(&Device::new(device)).map_err(|e| format!("clCreateContext: {e}"))?;
    #[allow(deprecated)]
    let queue = CommandQueue::create_default(&context, 0).map_err(|e| format!("clCreateCommandQueue: {e}"))?;
    let context_ms = ms(t);

    let t = Instant::now();
    let mut programs = Vec::with_capacity(manifest.len());
    for (e, bin) in manifest.iter().zip(&binaries) {
        // SAFETY: `device` belongs to `context`; the bytes are the verified binary.
        let mut p = unsafe { Program::create_from_binary(&context, &[device], &[bin.as_slice()]) }
            .map_err(|err| format!("clCreateProgramWithBinary({}): {err}", e.name))?;
        p.build(&[device], &e.options).map_err(|err| format!("clBuildProgram({}): {err}", e.name))?;
        let names = p.get_kernel_names().map_err(|err| format!("kernel names of {}: {err}", e.name))?;
        let kernels = names
            .trim_end_matches('\0')
            .split(';')
            .filter(|n| !n.trim().is_empty())
            .map(|n| Kernel::create(&p, n.trim()).map(|k| (n.trim().to_string(), k)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| format!("clCreateKernel in {}: {err}", e.name))?;
        programs.push((e.name.clone(), p, kernels));
    }
    let programs_ms = ms(t);

    let find = |prog: &str, kernel: &str| {
        programs.iter().find(|(n, _, _)| n == prog).and_then(|(_, _, ks)| ks.iter().find(|(n, _)| n == kernel)).map(|(_, k)| k)
    };
    let first_inference_ms = match (find("conv2d_relu", "conv2d_3x3"), find("pool", "max_pool2d"), find("dense_none", "dense")) {
        (Some(conv), Some(pool), Some(dense)) => {
            let w = Weights::zeros(&context)?;
            let input = buffer(&context, images * 64, true)?;
            queue.finish()?;
            let t = Instant::now();
            forward(&context, &queue, [conv, pool, dense], &w, &input, images)?;
            Some(ms(t))
        }
        _ => None,
    };
    let binary_bytes: usize = binaries.iter().map(Vec::len).sum();
    println!(
        "{}",
        json!({ "context_ms": context_ms, "programs_ms": programs_ms, "first_inference_ms": first_inference_ms,
                "programs": programs.len(), "binary_bytes": binary_bytes })
    );
    Ok(())
}

/// A zero-filled buffer of `len` floats (read-only and initialised, or read-write scratch).
fn buffer(context: &Context, len: usize, init: bool) -> R<Buffer<f32>> {
    let b = if init {
        let zeros = vec![0f32; len.max(1)];
        // SAFETY: COPY_HOST_PTR copies `len` floats from a live vector during the call.
        unsafe { Buffer::<f32>::create(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, zeros.len(), zeros.as_ptr() as *mut c_void) }
    } else {
        // SAFETY: no host pointer.
        unsafe { Buffer::<f32>::create(context, CL_MEM_READ_WRITE, len.max(1), std::ptr::null_mut()) }
    };
    b.map_err(|e| format!("clCreateBuffer: {e}").into())
}

/// The demo model's weights (shapes of `models/digits.safetensors`), zero-filled.
struct Weights {
    c1w: Buffer<f32>,
    c1b: Buffer<f32>,
    c2w: Buffer<f32>,
    c2b: Buffer<f32>,
    fcw: Buffer<f32>,
    fcb: Buffer<f32>,
}

const C1: usize = 8;
const C2: usize = 16;
const CLASSES: usize = 10;

impl Weights {
    fn zeros(c: &Context) -> R<Weights> {
        Ok(Weights {
            c1w: buffer(c, C1 * 9, true)?,
            c1b: buffer(c, C1, true)?,
            c2w: buffer(c, C2 * C1 * 9, true)?,
            c2b: buffer(c, C2, true)?,
            fcw: buffer(c, CLASSES * C2 * 4, true)?,
            fcb: buffer(c, CLASSES, true)?,
        })
    }
}

fn launch(queue: &CommandQueue, kernel: &Kernel, buffers: &[&Buffer<f32>], ints: &[i32], global: &[usize]) -> R<()> {
    let mut exec = ExecuteKernel::new(kernel);
    // SAFETY: argument order and types follow kernels/README.md (buffers, then ints); the
    // buffers outlive the blocking read that ends `forward`.
    unsafe {
        for b in buffers {
            exec.set_arg(*b);
        }
        for v in ints {
            exec.set_arg(v);
        }
        exec.set_global_work_sizes(global).enqueue_nd_range(queue).map_err(|e| format!("clEnqueueNDRangeKernel: {e}"))?;
    }
    Ok(())
}

/// The demo's forward pass (`src/cli/demo.rs`): conv 3x3 + relu, max pool, conv, pool, dense.
fn forward(
    c: &Context,
    queue: &CommandQueue,
    [conv, pool, dense]: [&Kernel; 3],
    w: &Weights,
    input: &Buffer<f32>,
    n: usize,
) -> R<Vec<f32>> {
    let i = |v: usize| v as i32;
    let a1 = buffer(c, n * C1 * 64, false)?;
    let p1 = buffer(c, n * C1 * 16, false)?;
    let a2 = buffer(c, n * C2 * 16, false)?;
    let p2 = buffer(c, n * C2 * 4, false)?;
    let logits = buffer(c, n * CLASSES, false)?;
    launch(queue, conv, &[input, &w.c1w, &w.c1b, &a1], &[i(n), 1, 8, 8, i(C1), 1, 1, 8, 8], &[8, 8, n * C1])?;
    launch(queue, pool, &[&a1, &p1], &[i(n * C1), 8, 8, 2, 2, 4, 4], &[4, 4, n * C1])?;
    launch(queue, conv, &[&p1, &w.c2w, &w.c2b, &a2], &[i(n), i(C1), 4, 4, i(C2), 1, 1, 4, 4], &[4, 4, n * C2])?;
    launch(queue, pool, &[&a2, &p2], &[i(n * C2), 4, 4, 2, 2, 2, 2], &[2, 2, n * C2])?;
    launch(queue, dense, &[&p2, &w.fcw, &w.fcb, &logits], &[i(n), i(C2 * 4), i(CLASSES)], &[CLASSES, n])?;
    let mut out = vec![0f32; n * CLASSES];
    // SAFETY: blocking read into a live vector of exactly the buffer's length.
    unsafe { queue.enqueue_read_buffer(&logits, CL_BLOCKING, 0, &mut out, &[]) }.map_err(|e| format!("clEnqueueReadBuffer: {e}"))?;
    Ok(out)
}
