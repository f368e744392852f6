//! No-op rebuilds: `cargo build --release -p clbake-cli` with nothing changed, timed, for this
//! package (whose build script bakes cli/kernels/) and for the generated model crate (512 MB
//! embedded). The build script must not rerun: cargo's `-v` output says `Fresh` for the
//! package instead of `Running .../build-script-build`, and the mtimes of
//! `OUT_DIR/clbake/kernels.clbk` and of the build script's captured `output` stay the same.

use crate::common::{self, R};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

fn cargo_in(dir: &Path, args: &[&str]) -> R<(f64, String, String)> {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(dir).args(args).env("CARGO_TARGET_DIR", common::target_dir());
    let t = Instant::now();
    let (out, err) = common::run_ok(&mut c)?;
    Ok((t.elapsed().as_secs_f64(), out, err))
}

fn mtime(p: &Path) -> Option<f64> {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
}

/// `OUT_DIR` of the clbake-cli package's build script, from cargo's JSON messages.
fn out_dir(json_lines: &str) -> Option<PathBuf> {
    json_lines.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find_map(|v| {
        let root = v["reason"] == "build-script-executed" && v["package_id"].as_str().is_some_and(|id| id.contains("#clbake-cli@"));
        if root {
            v["out_dir"].as_str().map(PathBuf::from)
        } else {
            None
        }
    })
}

/// The no-op rebuild of the clbake-cli package (the `clbake` tool, whose build script bakes).
pub fn root() -> R<Value> {
    let repo = common::repo();
    // Bring the build up to date (another engineer's edit may be pending), and find OUT_DIR.
    let (_, msgs, _) = cargo_in(&repo, &["build", "--release", "-p", "clbake-cli", "--message-format=json"])?;
    let out = out_dir(&msgs).ok_or("cargo reported no build script run for the clbake-cli package")?;
    let bundle = out.join("clbake/kernels.clbk");
    let output = out.parent().map(|p| p.join("output")).unwrap_or_default();
    let before = (mtime(&bundle), mtime(&output));
    let (secs, _, err) = cargo_in(&repo, &["build", "--release", "-p", "clbake-cli", "-v"])?;
    let after = (mtime(&bundle), mtime(&output));
    let reran = err.lines().any(|l| l.contains("Running") && l.contains("build-script-build") && l.contains("/clbake-cli-"));
    let fresh = err.lines().any(|l| l.trim_start().starts_with("Fresh clbake-cli v"));
    let unchanged = before == after && before.0.is_some();
    println!(
        "[rebuild] clbake-cli: no-op `cargo build --release -p clbake-cli` {secs:.2} s; build script rerun: {reran}; `Fresh clbake-cli`: {fresh}; kernels.clbk and build output mtimes unchanged: {unchanged}"
    );
    Ok(json!({ "seconds": secs, "build_script_reran": reran, "fresh": fresh, "mtimes_unchanged": unchanged,
               "kernels_clbk": bundle, "kernels_clbk_bytes": std::fs::metadata(&bundle).map(|m| m.len()).ok(),
               "mtime_before": [before.0, before.1], "mtime_after": [after.0, after.1],
               "cargo_verbose_tail": common::tail(&err, 1500) }))
}

/// The no-op rebuild of the generated model crate (all sizes built before).
pub fn model() -> R<Value> {
    let dir = common::bench_dir().join("model").join("crate");
    if !dir.join("Cargo.toml").exists() {
        return Err("the model crate was not generated (run the `model` section first)".into());
    }
    cargo_in(&dir, &["build", "--release"])?;
    let (secs, _, err) = cargo_in(&dir, &["build", "--release", "-v"])?;
    let compiled = err.lines().filter(|l| l.trim_start().starts_with("Compiling")).count();
    println!("[rebuild] model crate: no-op `cargo build --release` {secs:.2} s; crates compiled: {compiled}");
    Ok(json!({ "seconds": secs, "compiled": compiled }))
}
