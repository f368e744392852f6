//! `clbake demo`: the digits CNN served from embedded kernels and weights.

use anyhow::{bail, Context as _, Result};
use clbake::{Buffer, Embedded, Event, LoadOptions, LoadPath, ReadOnly, ReadWrite, Session};
use serde::Serialize;
use std::time::Instant;

use super::kernels::{Conv2d, Dense, Kernels, Program};

mod digits {
    clbake::include_model!("models/digits.safetensors");
}
mod digits_test {
    clbake::include_model!("models/digits_test.safetensors");
}

// The architecture the kernels below implement. A retrained model with other shapes is a
// compile error here, not a wrong answer on the board.
const C1: usize = 8;
const C2: usize = 16;
const CLASSES: usize = 10;
const HW: usize = 8;
const _: () = assert!(
    digits::CONV1_WEIGHT.shape[0] == C1
        && digits::CONV1_WEIGHT.shape[1] == 1
        && digits::CONV1_WEIGHT.shape[2] == 3
        && digits::CONV2_WEIGHT.shape[0] == C2
        && digits::CONV2_WEIGHT.shape[1] == C1
        && digits::FC_WEIGHT.shape[0] == CLASSES
        && digits::FC_WEIGHT.shape[1] == C2 * (HW / 4) * (HW / 4)
        && digits_test::IMAGES.shape[2] == HW
        && digits_test::REFERENCE_LOGITS.shape[1] == CLASSES
);

/// Result of a demo run, printed as text or JSON.
#[derive(Serialize)]
pub struct DemoReport {
    device: clbake::Fingerprint,
    images: usize,
    correct: usize,
    accuracy: f64,
    reference_accuracy: f64,
    max_abs_error: f32,
    argmax_agreement: usize,
    startup: Startup,
    steady_inference_ms: f64,
}

#[derive(Serialize)]
struct Startup {
    context_ms: f64,
    /// Opening the bundle, and creating every program when eager.
    programs_ms: f64,
    /// What the loads did (with lazy loading: the programs the network ran, created at their
    /// first launch, within the first inference).
    programs: clbake::LoadReport,
    weight_upload_ms: f64,
    first_inference_ms: f64,
    total_ms: f64,
}

struct Weights {
    c1w: Buffer<f32, ReadOnly>,
    c1b: Buffer<f32, ReadOnly>,
    c2w: Buffer<f32, ReadOnly>,
    c2b: Buffer<f32, ReadOnly>,
    fcw: Buffer<f32, ReadOnly>,
    fcb: Buffer<f32, ReadOnly>,
}

fn i(n: usize) -> i32 {
    n as i32
}

/// The programs [`forward`] runs.
const USED: [Program; 3] = [Program::Conv2dRelu, Program::Pool, Program::DenseNone];

/// Context of a failed run: the program whose kernel failed, when known.
#[derive(Debug)]
struct KernelFailure(Option<Program>);

impl std::fmt::Display for KernelFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(p) => write!(f, "a kernel of program `{}` failed", p.name()),
            None => f.write_str("the network failed to run"),
        }
    }
}

/// Test hook `CLBAKE_TEST_FAIL_ENQUEUE=<program>` (only with clbake's `test-hooks` feature):
/// the first enqueue of that program's kernels fails as a stale binary does on some drivers,
/// while the program is served from a binary.
fn injected_failure(k: &Kernels, id: Program) -> Result<()> {
    let from_binary = k.set().path(id).is_some_and(|p| p != LoadPath::Source);
    if from_binary && clbake::hooks::test_hook(clbake::core::env::TEST_FAIL_ENQUEUE).is_some_and(|v| v == id.name()) {
        bail!("clEnqueueNDRangeKernel failed: CL_INVALID_PROGRAM_EXECUTABLE (-45) (injected by CLBAKE_TEST_FAIL_ENQUEUE)");
    }
    Ok(())
}

/// After a failed run, rebuilds from source the programs that came from a binary and may have
/// failed (the one named by the error, else every program the network uses), so that the
/// caller can retry once. Returns the error when no binary is to blame.
fn recover(k: &Kernels, e: anyhow::Error) -> Result<()> {
    let suspects = match e.downcast_ref::<KernelFailure>() {
        Some(KernelFailure(Some(id))) => vec![*id],
        _ => USED.to_vec(),
    };
    let from_binary: Vec<Program> = suspects.into_iter().filter(|&id| k.set().path(id).is_some_and(|p| p != LoadPath::Source)).collect();
    if from_binary.is_empty() {
        return Err(e);
    }
    for id in from_binary {
        log::warn!("{}: {e:#}; rebuilding from source and retrying once", id.name());
        k.recover(id, &format!("{e:#}")).with_context(|| format!("rebuilding `{}` from source", id.name()))?;
    }
    Ok(())
}

/// The network, one typed call per layer (argument types checked against kernels/*.cl by
/// rustc; the local size is the tuned one for this device, if the bundle has one, else the
/// driver's choice).
fn forward(session: &Session, k: &Kernels, w: &Weights, input: &Buffer<f32, ReadOnly>, n: usize) -> Result<Vec<f32>> {
    let q = session.queue();
    // Intermediate activations are written by one kernel and read by the next.
    let mut a1 = Buffer::<f32, ReadWrite>::new(session, n * C1 * HW * HW)?;
    let mut p1 = Buffer::<f32, ReadWrite>::new(session, n * C1 * 4 * 4)?;
    let mut a2 = Buffer::<f32, ReadWrite>::new(session, n * C2 * 4 * 4)?;
    let mut p2 = Buffer::<f32, ReadWrite>::new(session, n * C2 * 2 * 2)?;
    let mut logits = Buffer::<f32, ReadWrite>::new(session, n * CLASSES)?;
    let (conv, pool, dense) = (k.conv2d(Conv2d::Relu), k.pool(), k.dense(Dense::None));
    let on = |id: Program, r: Result<Event, clbake::Error>| {
        injected_failure(k, id).and(r.map(drop).map_err(Into::into)).context(KernelFailure(Some(id)))
    };
    on(conv.program(), conv.conv2d_3x3(q, [8, 8, n * C1], None, input, &w.c1w, &w.c1b, &mut a1, i(n), 1, 8, 8, i(C1), 1, 1, 8, 8))?;
    on(pool.program(), pool.max_pool2d(q, [4, 4, n * C1], None, &a1, &mut p1, i(n * C1), 8, 8, 2, 2, 4, 4))?;
    on(conv.program(), conv.conv2d_3x3(q, [4, 4, n * C2], None, &p1, &w.c2w, &w.c2b, &mut a2, i(n), i(C1), 4, 4, i(C2), 1, 1, 4, 4))?;
    on(pool.program(), pool.max_pool2d(q, [2, 2, n * C2], None, &a2, &mut p2, i(n * C2), 4, 4, 2, 2, 2, 2))?;
    on(dense.program(), dense.dense(q, [CLASSES, n], None, &p2, &w.fcw, &w.fcb, &mut logits, i(n), i(C2 * 4), i(CLASSES)))?;
    logits.read(q).context(KernelFailure(None))
}

fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
}

/// Runs the demo on the session's device: programs created at their first launch (only the
/// three the network runs), or all up front with `eager`.
/// Runs the demo: loads the kernels (from `bundle` when given, else the embedded bundle),
/// classifies the first `images` test images (all when `None`), compares with the reference.
pub fn run(
    session: &Session,
    opts: &LoadOptions,
    eager: bool,
    bundle: Option<Embedded<Program>>,
    images: Option<usize>,
) -> Result<DemoReport> {
    let total = Instant::now();
    let k = match bundle {
        Some(b) => Kernels::with_bundle(session, b, opts, eager).context("loading the kernels of the bundle")?,
        None => Kernels::with_options(session, opts, eager).context("loading the embedded kernels")?,
    };
    let programs_ms = total.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let weights = Weights {
        c1w: Buffer::from_slice(session, digits::conv1_weight().data)?,
        c1b: Buffer::from_slice(session, digits::conv1_bias().data)?,
        c2w: Buffer::from_slice(session, digits::conv2_weight().data)?,
        c2b: Buffer::from_slice(session, digits::conv2_bias().data)?,
        fcw: Buffer::from_slice(session, digits::fc_weight().data)?,
        fcb: Buffer::from_slice(session, digits::fc_bias().data)?,
    };
    let all = digits_test::images();
    let n = images.map_or(all.shape[0], |m| m.clamp(1, all.shape[0]));
    let per_image = all.data.len() / all.shape[0];
    let input = Buffer::from_slice(session, &all.data[..n * per_image])?;
    session.finish()?;
    let weight_upload_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    // A kernel failing from a binary (stale on this driver): rebuild from source, retry once.
    let logits = match forward(session, &k, &weights, &input, n) {
        Ok(l) => l,
        Err(e) => {
            recover(&k, e)?;
            forward(session, &k, &weights, &input, n)?
        }
    };
    let first_inference_ms = t.elapsed().as_secs_f64() * 1e3;
    let startup_ms = total.elapsed().as_secs_f64() * 1e3 + session.setup_time().as_secs_f64() * 1e3;
    let t = Instant::now();
    let again = forward(session, &k, &weights, &input, n)?;
    let steady_inference_ms = t.elapsed().as_secs_f64() * 1e3;
    if again != logits {
        bail!("two runs of the same input gave different logits");
    }

    let labels = digits_test::labels().data;
    let reference = digits_test::reference_logits().data;
    let mut correct = 0;
    let mut ref_correct = 0;
    let mut agree = 0;
    for k in 0..n {
        let row = &logits[k * CLASSES..(k + 1) * CLASSES];
        let ref_row = &reference[k * CLASSES..(k + 1) * CLASSES];
        let (a, b) = (argmax(row), argmax(ref_row));
        correct += usize::from(a == labels[k] as usize);
        ref_correct += usize::from(b == labels[k] as usize);
        agree += usize::from(a == b);
    }
    let max_abs_error = logits.iter().zip(reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    Ok(DemoReport {
        device: session.device().fingerprint.clone(),
        images: n,
        correct,
        accuracy: correct as f64 / n as f64,
        reference_accuracy: ref_correct as f64 / n as f64,
        max_abs_error,
        argmax_agreement: agree,
        startup: Startup {
            context_ms: session.setup_time().as_secs_f64() * 1e3,
            programs_ms,
            programs: k.report(),
            weight_upload_ms,
            first_inference_ms,
            total_ms: startup_ms,
        },
        steady_inference_ms,
    })
}

impl DemoReport {
    /// Whether the device's results match the reference (same accuracy, logits within 1e-4).
    pub fn matches_reference(&self) -> bool {
        self.correct as f64 / self.images as f64 == self.reference_accuracy && self.max_abs_error <= 1e-4
    }
}

impl std::fmt::Display for DemoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "digits CNN on {}", self.device.describe())?;
        writeln!(
            f,
            "accuracy {:.2} % ({}/{}), reference {:.2} %, max |logit - reference| = {:.2e}, argmax agrees on {}/{}",
            self.accuracy * 100.0,
            self.correct,
            self.images,
            self.reference_accuracy * 100.0,
            self.max_abs_error,
            self.argmax_agreement,
            self.images
        )?;
        writeln!(f, "start-up: {:.1} ms", self.startup.total_ms)?;
        writeln!(f, "  context + queue   {:>8.2} ms", self.startup.context_ms)?;
        writeln!(f, "  programs          {:>8.2} ms ({} created)", self.startup.programs.total_ms, self.startup.programs.programs.len())?;
        for p in &self.startup.programs.programs {
            writeln!(f, "    {:<18} {:<8} {:>8.2} ms", p.name, p.path.to_string(), p.total_ms)?;
        }
        clbake::write_misses(f, &self.startup.programs.programs, "    ")?;
        writeln!(f, "  weight upload     {:>8.2} ms", self.startup.weight_upload_ms)?;
        writeln!(f, "  first inference   {:>8.2} ms ({} images)", self.startup.first_inference_ms, self.images)?;
        writeln!(f, "steady-state inference {:.2} ms", self.steady_inference_ms)
    }
}
