//! Model-size and build benchmarks:
//! - `model`: start-up and peak RSS against the size of an embedded model (1 MB .. 512 MB of
//!   synthetic weights, `include_model!` in a generated crate), zero-copy vs copies;
//! - `rebuild`: no-op `cargo build --release` of this package (must not re-bake) and of the
//!   generated model crate.
//!
//! ```text
//! BENCH_MODEL_SIZES_MB=1,16,256 cargo bench -p clbake-cli --bench model
//! ```
//! Do not run it under `cargo bench` and another cargo command on the same target directory
//! at once: it runs cargo itself (`scripts/bench-report.sh` runs the built binary directly).
//! `BENCH_SECTIONS=model,rebuild` picks sections; `BENCH_RUNS_MODEL` (3) runs per size and
//! mode (memory figures do not vary between runs; times are medians). Results: `<target>/bench/results/model.json`.

#[path = "../common/mod.rs"]
mod common;
mod rebuild;
mod rss;

use common::{section, R};
use serde_json::{json, Map, Value};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> R<()> {
    let sizes: Vec<usize> = std::env::var("BENCH_MODEL_SIZES_MB")
        .unwrap_or_else(|_| "1,4,16,64,256,512".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    let mut out = Map::new();
    if section("model") {
        out.insert("model".into(), rss::run(&sizes, common::env_usize("BENCH_RUNS_MODEL", 3).max(1))?);
    }
    if section("rebuild") {
        let root = rebuild::root()?;
        let model = if section("model") { rebuild::model().unwrap_or_else(|e| json!({ "error": e.to_string() })) } else { Value::Null };
        out.insert("rebuild".into(), json!({ "clbake": root, "model_crate": model, "model_sizes_mb": sizes }));
    }
    common::write_result("model", &Value::Object(out))?;
    Ok(())
}
