//! Bundle benchmarks, in process (no OpenCL device needed):
//! - `lookup`: parse + find + decompress time for bundles of 1 .. 10,000 device entries, and
//!   proof that entries of other devices are never decompressed;
//! - `size`: compressed vs raw size per device, zstd levels 3/9/19/22 and trained dictionaries.
//!
//! ```text
//! cargo bench -p clbake-cli --bench bundle -- --bundle target/release/clbake [--bundle other.clbk ...]
//! ```
//! `BENCH_SECTIONS=lookup,size` picks sections. Results: `<target>/bench/results/bundle.json`.

#[path = "../common/mod.rs"]
mod common;
mod lookup;
mod size;

use common::{section, R};
use serde_json::{json, Map, Value};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> R<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let sources: Vec<String> = args.windows(2).filter(|w| w[0] == "--bundle").map(|w| w[1].clone()).collect();
    let mut out = Map::new();
    if section("lookup") {
        out.insert("lookup".into(), lookup::run()?);
    }
    if section("size") {
        if sources.is_empty() {
            println!("[size] skipped: no --bundle given");
        } else {
            out.insert("size".into(), json!({ "sources": sources, "devices": size::run(&sources)? }));
        }
    }
    common::write_result("bundle", &Value::Object(out))?;
    Ok(())
}
