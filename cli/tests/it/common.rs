//! Helpers shared by the integration tests.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `clbake` binary built for these tests.
pub fn clbake_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_clbake"))
}

/// A command running `exe` with PoCL's own kernel cache off (so what is measured and
/// exercised is clbake's path, not PoCL's cache) and a quiet log.
pub fn command(exe: &Path) -> Command {
    let mut c = Command::new(exe);
    // No disk cache unless a test asks for one (CLBAKE_CACHE_DIR=<tempdir>): a cache in
    // ~/.cache would make the load path of one test depend on the tests run before it.
    c.env("CLBAKE_CACHE_DIR", "off");
    c.env("POCL_KERNEL_CACHE", "0").env_remove("CLBAKE_DEVICE").env_remove("CLBAKE_EMBEDDED").env_remove("POCL_DEVICES");
    c
}

/// Runs a command and returns its output, panicking with both streams if it did not exit 0.
pub fn run_ok(c: &mut Command) -> Output {
    let out = c.output().expect("spawn");
    assert!(
        out.status.success(),
        "{c:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `exe demo --json --eager` (every program created, not only the three the network
/// runs) with extra environment variables and returns the parsed report.
pub fn demo_json(exe: &Path, env: &[(&str, &str)]) -> Value {
    let mut c = command(exe);
    c.args(["demo", "--json", "--eager"]);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = run_ok(&mut c);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("demo --json printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The load path of every program in a demo report.
pub fn paths(report: &Value) -> Vec<(String, String)> {
    report["startup"]["programs"]["programs"]
        .as_array()
        .expect("programs array")
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["path"].as_str().unwrap().to_string()))
        .collect()
}

/// Asserts the demo's results equal the reference: same accuracy, logits within 1e-4.
pub fn assert_correct(report: &Value) {
    let acc = report["accuracy"].as_f64().unwrap();
    let reference = report["reference_accuracy"].as_f64().unwrap();
    let err = report["max_abs_error"].as_f64().unwrap();
    assert_eq!(acc, reference, "accuracy differs from the reference");
    assert!(err <= 1e-4, "max |logit - reference| = {err}");
    assert_eq!(report["argmax_agreement"], report["images"]);
    assert!(acc > 0.9, "accuracy {acc} is implausibly low");
}
