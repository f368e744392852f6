//! The developer loop (issue #14): how long a rebuild takes after the edits a developer makes
//! while working on kernels, and how much of a cold bake the compile workers save.
//!
//! - `loop`: a copy of examples/hello-kernels (4 programs) in a temporary directory, its path
//!   dependencies pointing at this checkout, built with `cargo build --release -vv` into its
//!   own target directory (`POCL_KERNEL_CACHE=0`, `CLBAKE_CACHE_DIR=off`): (a) first build,
//!   dependencies included; (b) no-op rebuild; (c) after a comment-only edit of
//!   kernels/saxpy.cl; (d) after a code edit of kernels/saxpy.cl (one program re-baked, the
//!   others reused); (e) after an edit of src/main.rs only (no bake); then (a') the first
//!   build of the crate again with its dependencies already built. From the build script's
//!   summary line (`clbake: N program(s): C compiled, R reused ...`, shown by `-vv`): how many
//!   programs were compiled and reused at each step.
//! - `loop14`: the same steps on a crate whose kernels are clbake's own library (cli/kernels,
//!   14 programs) and whose `main` only loads them; the edited kernel is kernels/softmax.cl.
//! - `bake`: a cold bake of cli/kernels (14 programs) with `clbake bake --kernels cli/kernels
//!   -o X --full`, in one process (`--jobs 1`) and with the default compile workers (one
//!   process per core), interleaved; and their ratio.
//!
//! ```text
//! cargo bench -p clbake-cli --bench devloop
//! BENCH_DEVLOOP_RUNS=1 BENCH_SECTIONS=bake cargo bench -p clbake-cli --bench devloop
//! ```
//! Runs: `BENCH_DEVLOOP_RUNS` (3) of (b)-(e) and of each bake; (a) and (a') run once (a cold
//! build compiles every dependency). `BENCH_DEVLOOP_LIBRARIES=DIR,...`: also bake these kernel
//! directories cold (`--keep-going`), once each way. `BENCH_DEVLOOP_KEEP=1` keeps the
//! temporary crate. Do not run it next to another bench: it times builds and PoCL compiles.
//! Results: `<target>/bench/results/devloop.json`.

mod bake;
#[path = "../common/mod.rs"]
mod common;
mod rebuild;

use common::{fmt, section, Stat, R};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// Goals of issue #14 on this machine.
const GOAL_CODE_EDIT_S: f64 = 2.0;
const GOAL_COMMENT_EDIT_S: f64 = 1.0;
const GOAL_BAKE_RATIO: f64 = 1.7;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Value of `--name VALUE` in `args`.
fn opt<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn run() -> R<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let clbake = opt(&args, "--clbake").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_clbake")));
    let runs = common::env_usize("BENCH_DEVLOOP_RUNS", 3).max(1);
    let mut out = Map::new();
    out.insert("load_start".into(), json!(load_average()));
    out.insert("runs".into(), json!(runs));
    out.insert("cores".into(), json!(std::thread::available_parallelism().map_or(1, |n| n.get())));
    if section("loop") {
        out.insert("loop".into(), rebuild::run(runs, rebuild::Crate::Example)?);
    }
    if section("loop14") {
        out.insert("loop14".into(), rebuild::run(runs, rebuild::Crate::Library)?);
    }
    if section("bake") {
        let kernels = common::cli_dir().join("kernels");
        let mut bakes = vec![bake::run(&clbake, &kernels, &[], "cli/kernels", runs, false)?];
        if let Ok(dirs) = std::env::var("BENCH_DEVLOOP_LIBRARIES") {
            for entry in dirs.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                // `DIR` or `DIR|ARGS` (extra `clbake bake` arguments, space-separated).
                let (dir, extra) = entry.split_once('|').unwrap_or((entry, ""));
                let extra: Vec<String> = extra.split_whitespace().map(String::from).collect();
                match bake::run(&clbake, dir.as_ref(), &extra, dir, 1, true) {
                    Ok(v) => bakes.push(v),
                    Err(e) => {
                        println!("[bake] {dir}: skipped: {e}");
                        bakes.push(json!({ "kernels": dir, "skipped": e.to_string() }));
                    }
                }
            }
        }
        out.insert("bake".into(), json!(bakes));
    }
    out.insert("load_end".into(), json!(load_average()));
    let out = Value::Object(out);
    let goals = goals(&out);
    let mut out = out;
    out["goals"] = goals;
    print_table(&out);
    common::write_result("devloop", &out)?;
    Ok(())
}

/// The first three fields of `/proc/loadavg` (the machine is shared: the bake ratio depends
/// on idle cores).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

/// The goals of issue #14, met or not, from the medians (of the 14-program loop when it ran).
fn goals(res: &Value) -> Value {
    let lp = if res["loop14"].is_object() { "loop14" } else { "loop" };
    let step = |k: &str| res[lp]["steps"][k]["seconds"]["median"].as_f64();
    let ratio = res["bake"][0]["ratio"].as_f64();
    let mut goals = Vec::new();
    for (key, text, value, ok) in [
        (
            "code_edit",
            format!("rebuild after a one-kernel edit <= {GOAL_CODE_EDIT_S} s"),
            step("code_edit"),
            step("code_edit").map(|v| v <= GOAL_CODE_EDIT_S),
        ),
        (
            "comment_edit",
            format!("rebuild after a comment-only edit <= {GOAL_COMMENT_EDIT_S} s"),
            step("comment_edit"),
            step("comment_edit").map(|v| v <= GOAL_COMMENT_EDIT_S),
        ),
        (
            "bake_ratio",
            format!("cold bake with compile workers >= {GOAL_BAKE_RATIO}x faster than --jobs 1"),
            ratio,
            ratio.map(|r| r >= GOAL_BAKE_RATIO),
        ),
    ] {
        if value.is_some() {
            goals.push(json!({ "key": key, "goal": text, "value": value, "met": ok }));
        }
    }
    json!(goals)
}

fn print_table(res: &Value) {
    if let Some(steps) = res["loop"]["steps"].as_object() {
        println!(
            "\n{:<58} {:>5} {:>9} {:>9} {:>9} {:>17}",
            "developer loop (examples/hello-kernels copy)", "runs", "min s", "median s", "max s", "compiled / reused"
        );
        for key in rebuild::ORDER {
            let Some(s) = steps.get(*key) else { continue };
            let stat = &s["seconds"];
            let counts = match (s["compiled"].as_u64(), s["reused"].as_u64()) {
                (Some(c), Some(r)) => format!("{c} / {r}"),
                _ => "no bake".into(),
            };
            println!(
                "{:<58} {:>5} {:>9} {:>9} {:>9} {:>17}",
                s["label"].as_str().unwrap_or(key),
                stat["n"],
                fmt(stat["min"].as_f64().unwrap_or(f64::NAN)),
                fmt(stat["median"].as_f64().unwrap_or(f64::NAN)),
                fmt(stat["max"].as_f64().unwrap_or(f64::NAN)),
                counts
            );
        }
    }
    for b in res["bake"].as_array().into_iter().flatten() {
        if b.get("skipped").is_some() {
            continue;
        }
        println!(
            "\ncold bake of {} ({} programs): --jobs 1 {} s, default ({} workers) {} s (median wall); ratio {}x",
            b["kernels"].as_str().unwrap_or("?"),
            b["programs"],
            fmt(b["jobs1"]["seconds"]["median"].as_f64().unwrap_or(f64::NAN)),
            b["workers"],
            fmt(b["default"]["seconds"]["median"].as_f64().unwrap_or(f64::NAN)),
            fmt(b["ratio"].as_f64().unwrap_or(f64::NAN))
        );
    }
    for g in res["goals"].as_array().into_iter().flatten() {
        println!(
            "goal: {:<70} {:>8}  {}",
            g["goal"].as_str().unwrap_or("?"),
            fmt(g["value"].as_f64().unwrap_or(f64::NAN)),
            match g["met"].as_bool() {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "-",
            }
        );
    }
}

/// Statistics of `samples[i][key]`.
fn stat_of(samples: &[Value], key: &str) -> Stat {
    Stat::of(&samples.iter().map(|s| s[key].as_f64().unwrap_or(f64::NAN)).collect::<Vec<_>>())
}
