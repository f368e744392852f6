//! Tuned vs untuned kernel time: the shapes declared with `// clbake:tune` in kernels/ are
//! tuned in-process (what `clbake bake --tune` does), then the same typed calls run with
//! those records (`local = None` picks the tuned size) and without any (the driver's choice),
//! interleaved, side by side in one run. A third column runs `Kernels::load`, i.e. the records
//! embedded in this executable's bundle for this device (from `kernels/precompiled/`, e.g.
//! the NVIDIA H200 bundle baked with `--tune`; none for a device never tuned).
//!
//! ```text
//! cargo bench -p clbake-cli --bench tuning                  # PoCL on this host
//! BENCH_RUNS=21 cargo bench -p clbake-cli --bench tuning    # more timed calls per configuration
//! ```
//! Per call: wall time of the typed call plus `clFinish` (what an application waits for),
//! median over `BENCH_RUNS` (default 15) after a warm-up that lets the driver compile each
//! work-group size once. Results: `<target>/bench/results/tuning.json`.

#[path = "../common/mod.rs"]
mod common;

mod kernels {
    clbake::include_kernels!();
}

use clbake::core::bake::tune::{self, TuneOptions};
use clbake::{Buffer, ReadOnly, Session, Tuned, Tuning, WriteOnly};
use common::{env_usize, fmt, write_result, Stat, R};
use kernels::{Conv2d, Dense, Gemm, Kernels};
use serde_json::json;
use std::time::Instant;

/// A typed call on the kernels given.
type Call = Box<dyn Fn(&Kernels, &Session) -> Result<(), clbake::Error>>;

/// One typed call at a tuned shape.
struct Case {
    name: &'static str,
    program: kernels::Program,
    kernel: &'static str,
    global: Vec<usize>,
    run: Call,
}

/// An output buffer of `n` floats (written by one case's kernel).
fn buffer(s: &Session, n: usize) -> R<Buffer<f32, WriteOnly>> {
    Ok(Buffer::new(s, n)?)
}

/// The calls, at the global sizes of the `// clbake:tune` lines in kernels/.
fn cases(s: &Session) -> R<Vec<Case>> {
    let big = 1 << 20;
    // Inputs (zeros) are read-only and shared; each case writes its own output.
    let zeros = vec![0f32; big];
    let a = std::rc::Rc::new(Buffer::<f32, ReadOnly>::from_slice(s, &zeros)?);
    let b = std::rc::Rc::new(Buffer::<f32, ReadOnly>::from_slice(s, &zeros)?);
    let out = |n: usize| -> R<std::cell::RefCell<Buffer<f32, WriteOnly>>> { Ok(std::cell::RefCell::new(buffer(s, n)?)) };
    let mut v: Vec<Case> = Vec::new();
    {
        let (a, b, c) = (a.clone(), b.clone(), out(256 * 256)?);
        v.push(Case {
            name: "gemm_naive 256x256x128",
            program: Gemm::T16.program(),
            kernel: "gemm_naive",
            global: vec![256, 256],
            run: Box::new(move |k, s| {
                k.gemm(Gemm::T16).gemm_naive(s.queue(), [256, 256], None, &a, &b, &mut c.borrow_mut(), 256, 256, 128).map(drop)
            }),
        });
    }
    {
        let (a, b, bias, o) = (a.clone(), b.clone(), b.clone(), out(16 * 64 * 64)?);
        v.push(Case {
            name: "conv2d_3x3 8->16 ch 64x64 relu",
            program: Conv2d::Relu.program(),
            kernel: "conv2d_3x3",
            global: vec![64, 64, 16],
            run: Box::new(move |k, s| {
                k.conv2d(Conv2d::Relu)
                    .conv2d_3x3(s.queue(), [64, 64, 16], None, &a, &b, &bias, &mut o.borrow_mut(), 1, 8, 64, 64, 16, 1, 1, 64, 64)
                    .map(drop)
            }),
        });
    }
    {
        let (a, b, bias, y) = (a.clone(), b.clone(), b.clone(), out(64 * 256)?);
        v.push(Case {
            name: "dense 64x512 -> 256",
            program: Dense::None.program(),
            kernel: "dense",
            global: vec![256, 64],
            run: Box::new(move |k, s| {
                k.dense(Dense::None).dense(s.queue(), [256, 64], None, &a, &b, &bias, &mut y.borrow_mut(), 64, 512, 256).map(drop)
            }),
        });
    }
    {
        let (a, o) = (a.clone(), out(64 * 32 * 32)?);
        v.push(Case {
            name: "max_pool2d 64 ch 64x64 /2",
            program: kernels::Program::Pool,
            kernel: "max_pool2d",
            global: vec![32, 32, 64],
            run: Box::new(move |k, s| {
                k.pool().max_pool2d(s.queue(), [32, 32, 64], None, &a, &mut o.borrow_mut(), 64, 64, 64, 2, 2, 32, 32).map(drop)
            }),
        });
    }
    {
        let (a, b, y) = (a.clone(), b.clone(), out(big)?);
        v.push(Case {
            name: "eltwise_add 1M",
            program: kernels::Program::Eltwise,
            kernel: "eltwise_add",
            global: vec![big],
            run: Box::new(move |k, s| k.eltwise().eltwise_add(s.queue(), [big], None, &a, &b, &mut y.borrow_mut(), big as i32).map(drop)),
        });
    }
    Ok(v)
}

fn time_call(k: &Kernels, s: &Session, case: &Case) -> R<f64> {
    let t = Instant::now();
    (case.run)(k, s)?;
    s.finish()?;
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> R<()> {
    let runs = env_usize("BENCH_RUNS", 15).max(1);
    let s = Session::from_env()?;
    println!("device: {}", s.device().fingerprint.describe());
    let t = Instant::now();
    let opts = TuneOptions::default();
    // The programs of the embedded bundle, as `clbake bake --tune` takes them.
    let sources = clbake::selfbake::programs(&kernels::BUNDLE)?;
    let (measured, _) = tune::tune(&sources, s.device(), &opts, &|p, m| {
        eprintln!("  tuned {} {} {:?}: {:?}", p.name, m.launch.kernel, m.launch.global, m.launch.local)
    })?;
    let tune_s = t.elapsed().as_secs_f64();
    println!("tuning: {} shapes in {tune_s:.1} s ({} reps, at most {} candidates each)", measured.len(), opts.reps, opts.max_candidates);
    let tuning = Tuning::from_entries(
        measured
            .iter()
            .map(|m| Tuned {
                program: m.program,
                kernel: m.launch.kernel.clone(),
                global: m.launch.global.iter().map(|&g| g as usize).collect(),
                local: m.launch.local.as_ref().map(|l| l.iter().map(|&x| x as usize).collect()),
                best_ns: m.launch.best_ns,
                default_ns: m.launch.default_ns,
            })
            .collect(),
    );
    let tuned = Kernels::load(&s)?.with_tuning(tuning.clone());
    let untuned = Kernels::load(&s)?.with_tuning(Tuning::none());
    let embedded = Kernels::load(&s)?;
    println!("records embedded for this device: {}", embedded.set().tuning().len());
    let cases = cases(&s)?;
    println!(
        "\n{:<32} {:<14} {:<14} {:>11} {:>11} {:>8}   {:<14} {:>11}",
        "typed call (local = None)", "global", "tuned local", "untuned ms", "tuned ms", "speedup", "embedded local", "embedded ms"
    );
    let mut rows = Vec::new();
    for case in &cases {
        let index = clbake::ProgramId::index(case.program);
        let local = tuning.best_local(index, case.kernel, &case.global).map(<[usize]>::to_vec);
        let embedded_local = embedded.set().tuning().best_local(index, case.kernel, &case.global).map(<[usize]>::to_vec);
        // Warm-up: the driver compiles each work-group size on first use.
        for _ in 0..2 {
            for k in [&untuned, &tuned, &embedded] {
                time_call(k, &s, case)?;
            }
        }
        let (mut u, mut t, mut e) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            u.push(time_call(&untuned, &s, case)?);
            t.push(time_call(&tuned, &s, case)?);
            e.push(time_call(&embedded, &s, case)?);
        }
        let (u, t, e) = (Stat::of(&u), Stat::of(&t), Stat::of(&e));
        let show = |l: &Option<Vec<usize>>| l.as_ref().map_or_else(|| "driver".to_string(), |l| format!("{l:?}"));
        println!(
            "{:<32} {:<14} {:<14} {:>11} {:>11} {:>7.2}x   {:<14} {:>11}",
            case.name,
            format!("{:?}", case.global),
            show(&local),
            fmt(u.median),
            fmt(t.median),
            u.median / t.median,
            show(&embedded_local),
            fmt(e.median)
        );
        rows.push(json!({
            "case": case.name, "kernel": case.kernel, "global": case.global, "tuned_local": local,
            "untuned_ms": u.json(), "tuned_ms": t.json(), "speedup": u.median / t.median,
            "embedded_local": embedded_local, "embedded_ms": e.json(),
        }));
    }
    let records: Vec<_> = measured
        .iter()
        .map(|m| json!({ "kernel": m.launch.kernel, "global": m.launch.global, "local": m.launch.local, "best_ns": m.launch.best_ns, "default_ns": m.launch.default_ns, "candidates": m.candidates }))
        .collect();
    write_result(
        "tuning",
        &json!({ "device": s.device().fingerprint.describe(), "runs": runs, "tune_seconds": tune_s, "calls": rows, "records": records }),
    )?;
    Ok(())
}
