//! The main job: the digits CNN served from one executable.

use crate::common::*;
use std::path::Path;
use std::process::Command;

#[test]
fn demo_text_output_has_the_startup_breakdown() {
    let out = run_ok(command(&clbake_bin()).arg("demo"));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["accuracy 98.00 %", "context + queue", "programs", "weight upload", "first inference", "conv2d_relu"] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn the_binary_is_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("clbake");
    std::fs::copy(clbake_bin(), &alone).unwrap();
    // Run from an empty directory, far from the source tree.
    let mut c = command(&alone);
    c.current_dir(dir.path()).env("HOME", dir.path());
    c.args(["demo", "--json", "--eager"]);
    let out = run_ok(&mut c);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(paths(&report).iter().all(|(_, p)| p == "embedded"));
    assert_correct(&report);
}

#[test]
fn the_first_inference_creates_only_the_programs_it_launches() {
    let mut c = command(&clbake_bin());
    c.args(["demo", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&run_ok(&mut c).stdout).unwrap();
    let created: Vec<String> = paths(&report).into_iter().map(|(name, _)| name).collect();
    assert_eq!(created, ["conv2d_relu", "dense_none", "pool"], "lazy loading creates what the network runs");
    assert_correct(&report);
}

#[test]
fn demo_device_flag_rejects_a_missing_device() {
    let out = command(&clbake_bin()).args(["demo", "--device", "99"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("device 99 does not exist"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn no_opencl_runtime_is_one_clear_line() {
    // An empty ICD vendor dir and a loader path that does not exist: no platform at all.
    let dir = tempfile::tempdir().unwrap();
    let out = command(&clbake_bin()).args(["demo"]).env("OCL_ICD_VENDORS", dir.path()).env("OCL_ICD_FILENAMES", "").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no OpenCL device") && err.contains("pocl-opencl-icd"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

/// Builds the `clbake` binary with `CLBAKE_BAKE=off` in its own target dir (kept between
/// runs, so only the first run pays for the build).
fn build_without_bake() -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("bake-off");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", "clbake"])
        .current_dir(root)
        .env("CLBAKE_BAKE", "off")
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .unwrap();
    assert!(status.success());
    target.join("debug").join("clbake")
}

#[test]
fn demo_works_when_the_bake_was_skipped() {
    let exe = build_without_bake();
    let report = demo_json(&exe, &[]);
    for p in report["startup"]["programs"]["programs"].as_array().unwrap() {
        assert_eq!(p["path"], "source");
        // No binary for this device: none at all, or only precompiled ones for other devices.
        let kind = p["misses"][0]["kind"].as_str().unwrap();
        assert!(kind == "no_binaries" || kind == "fingerprint_mismatch", "{p}");
    }
    assert_correct(&report);
}

/// PoCL's debug lines about work-group functions in a demo run: (compiled, taken from the
/// program binary).
fn workgroup_function_events(env: &[(&str, &str)]) -> (usize, usize) {
    let mut c = command(&clbake_bin());
    // Known answers off: their replay at load time runs the same launches.
    c.args(["demo", "--json"]).env("POCL_DEBUG", "all").env("CLBAKE_CHECK", "off");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = run_ok(&mut c);
    let err = String::from_utf8_lossy(&out.stderr);
    (err.matches("Linking final module").count(), err.matches("Using a cached WG function").count())
}

#[test]
fn the_first_inference_compiles_nothing_from_embedded_binaries() {
    // The build script ran the demo's declared launches (`// clbake:launch` in kernels/)
    // before capturing, so PoCL finds each launch's work-group function in the binary.
    let (compiled, cached) = workgroup_function_events(&[]);
    assert_eq!(compiled, 0, "PoCL compiled work-group functions at the first inference");
    assert_eq!(cached, 5, "the demo's five launches");
    // From source, PoCL compiles each of them: what the embedded binaries save.
    let (compiled, _) = workgroup_function_events(&[("CLBAKE_EMBEDDED", "off")]);
    assert_eq!(compiled, 5);
}
