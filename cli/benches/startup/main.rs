//! Start-up benchmarks: how long until the demo's programs are ready and its first inference
//! is done, on every path a program can take (source, the driver's own cache, clbake's disk
//! cache, clbake's embedded binary, and the raw-OpenCL floor), plus parallel source
//! compiles, lazy loading and start-up against the number of programs.
//!
//! Run through `scripts/bench-report.sh`, or directly:
//! ```text
//! cargo bench -p clbake-cli --bench startup                    # everything, PoCL on this host
//! BENCH_SECTIONS=rows BENCH_RUNS=3 cargo bench -p clbake-cli --bench startup
//! cargo bench -p clbake-cli --bench startup -- --driver nvidia --out startup-nvidia   # on an NVIDIA host
//! cargo bench -p clbake-cli --bench startup -- --aarch64 <paths.json>                # emulated aarch64 rows
//! ```
//! Sections (`BENCH_SECTIONS`, comma separated, default all): `rows` (a..e, and (d) lazy), `parallel`
//! (adds a CLBAKE_JOBS=1 row to `rows`), `lazy`, `programs`, `aarch64` (needs `--aarch64`).
//! Runs: `BENCH_RUNS` (5) per row; aarch64: `BENCH_RUNS_AARCH64` (as BENCH_RUNS), its source
//! row `BENCH_RUNS_AARCH64_SOURCE` (2: one takes minutes under qemu), rows
//! `BENCH_AARCH64_ROWS` (a,d,d_jobs1,e,e_unwarmed; b and c each need a source compile to warm).
//! Results: `<target>/bench/results/<out>.json` (default `startup`).

#[path = "../common/mod.rs"]
mod common;
mod floor;
mod rows;
mod synth;

use common::{section, R};
use rows::{Driver, Target};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let result = match args.first().map(String::as_str) {
        Some("--child-floor") => floor::child(&args[1..]),
        Some("--child-load") => synth::child(&args[1..]),
        Some("--prepare-floor") => prepare_floor(&args[1..]),
        _ => orchestrate(&args),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// `--prepare-floor SOURCE DIR`: writes the binaries of SOURCE (a bundle or an executable)
/// for this host's default device into DIR, for `--child-floor DIR` (handy for comparing
/// bundles baked in different ways).
fn prepare_floor(args: &[String]) -> R<()> {
    let (Some(src), Some(dir)) = (args.first(), args.get(1)) else {
        return Err("--prepare-floor SOURCE DIR".into());
    };
    let session = clbake::Session::new(clbake::DeviceSelector::Default)?;
    std::fs::create_dir_all(dir)?;
    let p = floor::prepare(src.as_ref(), &session.device().fingerprint, dir.as_ref())?;
    println!("{} binaries, {} bytes, {} specialised PoCL work-group functions, in {dir}", p.programs, p.bytes, p.specialised);
    Ok(())
}

/// Value of `--name VALUE` in `args`.
fn opt<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

/// Median of `row.key` in a rows result.
fn median(rows: &Value, row: &str, key: &str) -> Option<f64> {
    rows["rows"][row][key]["median"].as_f64()
}

/// Ratios between rows, by the median of programs-ready + first inference.
fn ratios(rows: &Value) -> Value {
    let ready = |r: &str| median(rows, r, "ready_ms");
    let programs = |r: &str| median(rows, r, "programs_ms");
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let mut out = Map::new();
    for (name, num, den, goal) in [
        ("a_over_d", "a", "d", ">= 100"),
        ("b_over_d", "b", "d", ">= 10"),
        ("c_over_d", "c", "d", ""),
        ("d_over_e", "d", "e", "<= 1.2"),
        ("d_nocache_over_e", "d_nocache", "e", ""),
        ("d_jobs1_over_d", "d_jobs1", "d", ""),
        ("d_lazy_over_d", "d_lazy", "d", ""),
        ("e_unwarmed_over_e", "e_unwarmed", "e", ""),
        ("a_over_e", "a", "e", ""),
        ("d_nospec_over_e_nospec", "d_nospec", "e_nospec", ""),
        ("a_over_d_nospec", "a", "d_nospec", ""),
        ("a_jobs1_over_a", "a_jobs1", "a", ""),
    ] {
        let r = ratio(ready(num), ready(den));
        let rp = ratio(programs(num), programs(den));
        if r.is_some() || rp.is_some() {
            out.insert(name.into(), json!({ "ready": r, "programs": rp, "goal": goal }));
            if let Some(r) = r {
                println!("ratio {name:<18} {r:>9.2}x (programs only {:>9.2}x)  goal {goal}", rp.unwrap_or(f64::NAN));
            }
        }
    }
    Value::Object(out)
}

fn orchestrate(args: &[String]) -> R<()> {
    let runs = common::runs();
    let driver = Driver::parse(opt(args, "--driver").unwrap_or("pocl"))?;
    let out_name = opt(args, "--out").unwrap_or("startup").to_string();
    let clbake = opt(args, "--clbake").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_clbake")));
    let me = std::env::current_exe()?;
    let mut result = Map::new();
    result.insert("runs".into(), json!(runs));

    if section("rows") {
        let mut keys = vec!["a"];
        if section("parallel") {
            keys.push("a_jobs1");
        }
        keys.extend(["b", "c", "d", "d_lazy", "d_nocache", "d_jobs1", "e"]);
        if driver == Driver::Pocl {
            keys.push("e_unwarmed");
        }
        let t = Target { clbake: clbake.clone(), bench: me.clone(), runner: None, driver, prefix: driver.name().into() };
        let mut rows = rows::run(&t, &keys, runs, runs)?;
        rows["ratios"] = ratios(&rows);
        result.insert("host".into(), rows);
    }

    if driver == Driver::Pocl && (section("lazy") || section("programs")) {
        let count = common::env_usize("BENCH_SYNTH_PROGRAMS", 128).max(1);
        let (full, bake_s) = synth::ensure(&clbake, count)?;
        result.insert(
            "synth".into(),
            json!({ "programs": count, "bundle": full, "bundle_bytes": std::fs::metadata(&full)?.len(), "bake_s": bake_s }),
        );
        if section("lazy") {
            result.insert("lazy".into(), synth::lazy(&me, &full, runs)?);
        }
        if section("programs") {
            let counts: Vec<usize> = [1, 4, 16, 64, 128, 256, 512].into_iter().filter(|&n| n <= count).collect();
            result.insert("programs".into(), synth::programs(&me, &full, &counts, runs)?);
        }
    }

    if let (true, Some(paths)) = (section("aarch64"), opt(args, "--aarch64")) {
        let source_runs = common::env_usize("BENCH_RUNS_AARCH64_SOURCE", 2).max(1);
        match aarch64(paths, common::env_usize("BENCH_RUNS_AARCH64", runs).max(1), source_runs) {
            Ok(v) => {
                result.insert("aarch64".into(), v);
            }
            Err(e) => {
                println!("[aarch64] skipped: {e}");
                result.insert("aarch64".into(), json!({ "skipped": e.to_string() }));
            }
        }
    }
    common::write_result(&out_name, &Value::Object(result))?;
    Ok(())
}

/// The aarch64 rows, from the executables `benches/aarch64-build.sh` listed in `paths`.
fn aarch64(paths: &str, runs: usize, source_runs: usize) -> R<Value> {
    let p: Value = serde_json::from_slice(&std::fs::read(paths).map_err(|e| format!("cannot read {paths}: {e}"))?)?;
    if let Some(why) = p["skipped"].as_str() {
        return Err(why.into());
    }
    let path = |k: &str| p[k].as_str().map(PathBuf::from).ok_or_else(|| format!("{paths}: no `{k}`"));
    let t = Target {
        clbake: path("clbake")?,
        bench: path("bench")?,
        runner: Some(common::repo().join("scripts/run-aarch64.sh")),
        driver: Driver::PoclAarch64,
        prefix: "aarch64".into(),
    };
    let keys_env = std::env::var("BENCH_AARCH64_ROWS").unwrap_or_else(|_| "a,d,d_jobs1,e,e_unwarmed".into());
    let known = ["a", "a_jobs1", "b", "c", "d", "d_lazy", "d_nocache", "d_jobs1", "e", "e_unwarmed", "d_nospec", "e_nospec"];
    let keys: Vec<&'static str> = known.into_iter().filter(|k| keys_env.split(',').any(|s| s.trim() == *k)).collect();
    let mut rows = rows::run(&t, &keys, runs, source_runs)?;
    rows["ratios"] = ratios(&rows);
    rows["build"] = p;
    Ok(rows)
}
