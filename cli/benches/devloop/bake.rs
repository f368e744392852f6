//! Cold bakes of a kernel directory with `clbake bake --full`: in one process (`--jobs 1`)
//! against the default (compile worker processes, one per core), runs interleaved, one
//! process at a time, PoCL's kernel cache off and its scratch directory fresh for each.

use crate::common::{self, kv, run_json, Stat, R};
use crate::stat_of;
use serde_json::{json, Value};
use std::path::Path;

/// One bake: wall time of the `clbake bake` process and its `--json` summary.
fn bake_once(clbake: &Path, kernels: &Path, extra: &[String], jobs1: bool, keep_going: bool, scratch: &str) -> R<Value> {
    let dir = common::fresh_dir(scratch)?;
    let out = dir.join("out.clbk");
    let env = [kv("POCL_KERNEL_CACHE", "0"), kv("POCL_CACHE_DIR", dir.join("pocl")), kv("CLBAKE_CACHE_DIR", "off")];
    let (k, o) = (kernels.to_string_lossy(), out.to_string_lossy());
    let mut args = vec!["bake", "--kernels", &k, "-o", &o, "--full", "--json"];
    if jobs1 {
        args.extend(["--jobs", "1"]);
    }
    if keep_going {
        args.push("--keep-going");
    }
    args.extend(extra.iter().map(String::as_str));
    let mut c = common::command(clbake, &args, &env);
    let (v, wall_ms) = if keep_going {
        // Exit status 1 when a program failed: the summary is still printed.
        let t = std::time::Instant::now();
        let o = c.stdin(std::process::Stdio::null()).output()?;
        let wall = common::ms(t);
        let v: Value = serde_json::from_slice(&o.stdout)
            .map_err(|e| format!("clbake bake printed no summary ({e}): {}", common::tail(&String::from_utf8_lossy(&o.stderr), 2000)))?;
        (v, wall)
    } else {
        run_json(&mut c)?
    };
    Ok(json!({ "seconds": wall_ms / 1e3, "bake_seconds": v["seconds"], "compiled": v["compiled"], "reused": v["reused"],
               "programs": v["programs"].as_array().map_or(0, Vec::len), "failed": v["failed"].as_array().map_or(0, Vec::len),
               "bytes": v["bytes"] }))
}

fn summarize(samples: &[Value]) -> Value {
    let last = samples.last().cloned().unwrap_or_default();
    json!({ "seconds": stat_of(samples, "seconds").json(), "bake_seconds": stat_of(samples, "bake_seconds").json(),
            "compiled": last["compiled"], "failed": last["failed"], "samples": samples })
}

/// `runs` cold bakes of `kernels` each way (with `extra` arguments: `-I`, `-D`); `name` is
/// how the results call the directory.
pub fn run(clbake: &Path, kernels: &Path, extra: &[String], name: &str, runs: usize, keep_going: bool) -> R<Value> {
    if !kernels.is_dir() {
        return Err(format!("{} is not a directory", kernels.display()).into());
    }
    let (mut one, mut all) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        for jobs1 in [true, false] {
            let v = bake_once(clbake, kernels, extra, jobs1, keep_going, "devloop-bake")?;
            println!(
                "[bake] run {run}/{runs} {name} {:<12} {:>8} s wall ({} s bake), {} compiled, {} failed",
                if jobs1 { "--jobs 1" } else { "default" },
                common::fmt(v["seconds"].as_f64().unwrap_or(f64::NAN)),
                common::fmt(v["bake_seconds"].as_f64().unwrap_or(f64::NAN)),
                v["compiled"],
                v["failed"]
            );
            if jobs1 { &mut one } else { &mut all }.push(v);
        }
    }
    let median = |s: &[Value], k: &str| Stat::of(&s.iter().map(|v| v[k].as_f64().unwrap_or(f64::NAN)).collect::<Vec<_>>()).median;
    let ratio = median(&one, "seconds") / median(&all, "seconds");
    let ratio_bake = median(&one, "bake_seconds") / median(&all, "bake_seconds");
    let programs = one.last().map_or(json!(null), |v| v["programs"].clone());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(json!({ "kernels": name, "args": extra, "programs": programs, "runs": runs, "keep_going": keep_going,
               "workers": cores, "jobs1": summarize(&one), "default": summarize(&all),
               "ratio": ratio.is_finite().then_some(ratio), "ratio_bake": ratio_bake.is_finite().then_some(ratio_bake) }))
}
