//! The driver matrix: what must hold on every OpenCL implementation clbake meets — bake,
//! embedded load, source fallback, damaged binaries and tables, the disk cache, recovery of a
//! kernel failing from a binary, and a process dying while several programs compile at once.
//!
//! These tests assume nothing about the driver and run only the `clbake` CLI, each start in a
//! fresh process (a crashing driver takes only that process). `scripts/test-drivers.sh` runs
//! this module on PoCL (pthread), PoCL with `POCL_DEVICES=basic`, Oclgrind
//! (`OCL_ICD_VENDORS`), and the aarch64 build on an emulated PoCL under qemu-user, by setting
//! `CLBAKE_TEST_EXE` to a command that runs that build; in the plain test suite they run on
//! the default device.
//!
//! The module's tests run one at a time (Oclgrind and qemu are slow, and several PoCL
//! processes with its kernel cache off abort), and the demo classifies 24 images instead of
//! 450 (Oclgrind simulates every work-item).

use crate::common::assert_correct;
use clbake::core::format::Bundle;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Images the demo classifies in these tests.
const IMAGES: &str = "24";

/// One test at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The command that runs clbake: `CLBAKE_TEST_EXE` (split at whitespace: a runner and a
/// binary), else the `clbake` built for these tests.
fn exe() -> Command {
    match std::env::var("CLBAKE_TEST_EXE") {
        Ok(cmd) if !cmd.trim().is_empty() => {
            let mut parts = cmd.split_whitespace();
            let mut c = Command::new(parts.next().unwrap_or_default());
            c.args(parts);
            c
        }
        _ => Command::new(crate::common::clbake_bin()),
    }
}

/// Whether clbake is this test build (with the test hooks), not another build given by
/// `CLBAKE_TEST_EXE`.
fn has_hooks() -> bool {
    std::env::var("CLBAKE_TEST_EXE").map_or(true, |v| v.trim().is_empty())
}

/// clbake with the disk cache in `cache` (off when `None`), on the device the environment
/// selects (`POCL_DEVICES`, `OCL_ICD_VENDORS` pass through), PoCL's kernel cache off.
fn cl(cache: Option<&Path>) -> Command {
    let mut c = exe();
    c.env("CLBAKE_CACHE_DIR", cache.map_or_else(|| "off".into(), |p| p.as_os_str().to_owned()));
    c.env("POCL_KERNEL_CACHE", "0");
    for var in
        ["CLBAKE_DEVICE", "CLBAKE_EMBEDDED", "CLBAKE_JOBS", "CLBAKE_CHECK", "CLBAKE_TEST_ABORT_AFTER_SENTINEL", "CLBAKE_TEST_FAIL_ENQUEUE"]
    {
        c.env_remove(var);
    }
    c
}

fn output(c: &mut Command) -> Output {
    c.output().unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `demo --json --eager --images 24` with `args` and `env`; it must exit 0 with the
/// reference's results.
fn demo(cache: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut c = cl(cache);
    c.args(["demo", "--json", "--eager", "--images", IMAGES]).args(args).envs(env.iter().copied());
    let out = output(&mut c);
    assert!(out.status.success(), "{c:?}: {}\nstdout:\n{}\nstderr:\n{}", out.status, text(&out.stdout), text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {}", text(&out.stdout)));
    assert_correct(&report);
    report
}

fn programs(report: &Value) -> &Vec<Value> {
    report["startup"]["programs"]["programs"].as_array().expect("programs")
}

fn path_of<'a>(report: &'a Value, name: &str) -> &'a str {
    programs(report).iter().find(|p| p["name"] == name).and_then(|p| p["path"].as_str()).unwrap_or_else(|| panic!("no program {name}"))
}

fn misses(p: &Value, path: &str) -> Vec<String> {
    p["misses"].as_array().unwrap().iter().filter(|m| m["path"] == path).map(|m| m["kind"].as_str().unwrap().to_string()).collect()
}

/// Asserts every program came by `path`.
fn all_by(report: &Value, path: &str) {
    for p in programs(report) {
        assert_eq!(p["path"], path, "{}: {p}", p["name"]);
    }
}

/// A directory for this test process's files.
fn work() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("drivers-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// clbake's kernel library baked on this device by `clbake bake` (compile workers as the
/// driver allows; no warm launches or known answers, which a simulator runs slowly).
fn baked() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let out = work().join("here.clbk");
        let kernels = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
        let mut c = cl(None);
        c.args(["bake", "--no-warm", "--no-check", "--full", "--kernels"]).arg(&kernels).arg("-o").arg(&out);
        let o = output(&mut c);
        assert!(o.status.success(), "bake on this device: {}\n{}", o.status, text(&o.stderr));
        out
    })
}

/// Writes `bytes` to a new file in the work directory.
fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = work().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn a_bundle_baked_on_this_device_serves_every_program_embedded() {
    let _one = serial();
    let bundle = baked().to_str().unwrap().to_string();
    let report = demo(None, &["--bundle", &bundle], &[]);
    all_by(&report, "embedded");
    // The embedded bundle of the test build, baked for the build machine's default device:
    // embedded where it matches, else compiled from source; correct either way.
    let report = demo(None, &[], &[]);
    for p in programs(&report) {
        assert!(p["path"] == "embedded" || (p["path"] == "source" && misses(p, "embedded") == ["fingerprint_mismatch"]), "{p}");
    }
}

#[test]
fn without_embedded_binaries_every_program_compiles_from_source() {
    let _one = serial();
    let bundle = baked().to_str().unwrap().to_string();
    let report = demo(None, &["--bundle", &bundle], &[("CLBAKE_EMBEDDED", "off")]);
    all_by(&report, "source");
    for p in programs(&report) {
        assert_eq!(misses(p, "embedded"), ["disabled"], "{p}");
    }
}

#[test]
fn damaged_binaries_and_a_damaged_binary_table_degrade_to_source() {
    let _one = serial();
    let bytes = std::fs::read(baked()).unwrap();
    let parsed = Bundle::parse(&bytes).unwrap();
    // One bit of two binaries' compressed payloads: those two from source, the rest embedded.
    let mut payload = bytes.clone();
    for name in ["conv2d_relu", "pool"] {
        let (index, _) = parsed.program(name).unwrap();
        let frame = parsed.binaries_of(index).next().unwrap_or_else(|| panic!("no binary of {name}")).compressed();
        let at = frame.as_ptr() as usize - bytes.as_ptr() as usize + frame.len() / 2;
        payload[at] ^= 0x10;
    }
    let damaged = write("payload-damaged.clbk", &payload);
    let report = demo(None, &["--bundle", damaged.to_str().unwrap()], &[]);
    for p in programs(&report) {
        let name = p["name"].as_str().unwrap();
        if name == "conv2d_relu" || name == "pool" {
            assert_eq!((p["path"].as_str(), misses(p, "embedded")), (Some("source"), vec!["corrupt".to_string()]), "{p}");
        } else {
            assert_eq!(p["path"], "embedded", "{p}");
        }
    }
    // One bit of the binary table: no binary is used, every program from source, one warning.
    let h = parsed.header();
    let mut table = bytes.clone();
    table[(h.binary_table_offset + h.binary_table_len / 2) as usize] ^= 0x01;
    let damaged = write("table-damaged.clbk", &table);
    let mut c = cl(None);
    c.args(["demo", "--json", "--eager", "--images", IMAGES, "--bundle"]).arg(&damaged);
    let out = output(&mut c);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_correct(&report);
    all_by(&report, "source");
    for p in programs(&report) {
        assert_eq!(misses(p, "embedded"), ["table_damaged"], "{p}");
    }
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("binary table is damaged").count(), 1, "one warning, the cause once: {stderr}");
    // A damaged program table (the core) is a clear refusal naming the bundle, never a crash.
    let mut core = bytes.clone();
    core[(h.program_table_offset + h.program_table_len / 2) as usize] ^= 0x01;
    let damaged = write("core-damaged.clbk", &core);
    let mut c = cl(None);
    c.args(["demo", "--images", IMAGES, "--bundle"]).arg(&damaged);
    let out = output(&mut c);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains("core-damaged.clbk") && stderr.contains("checksum"), "{stderr}");
}

#[test]
fn the_disk_cache_serves_the_next_start() {
    let _one = serial();
    let cache = tempfile::tempdir().unwrap();
    let off = [("CLBAKE_EMBEDDED", "off")];
    let first = demo(Some(cache.path()), &[], &off);
    all_by(&first, "source");
    assert!(programs(&first).iter().all(|p| p["cached"] == true), "{first}");
    let second = demo(Some(cache.path()), &[], &off);
    all_by(&second, "cache");
    let mut c = cl(Some(cache.path()));
    c.args(["cache", "verify"]);
    let out = output(&mut c);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn a_kernel_failing_from_a_binary_is_rebuilt_from_source_and_retried() {
    assert!(has_hooks(), "needs the test hooks of this test build: skip this test for another build");
    let _one = serial();
    let bundle = baked().to_str().unwrap().to_string();
    let report = demo(None, &["--bundle", &bundle], &[("CLBAKE_TEST_FAIL_ENQUEUE", "conv2d_relu")]);
    let p = programs(&report).iter().find(|p| p["name"] == "conv2d_relu").unwrap();
    assert_eq!((p["path"].as_str(), p["recovered"].as_bool()), (Some("source"), Some(true)), "{p}");
    assert_eq!(misses(p, "embedded").last().map(String::as_str), Some("execution_failed"), "{p}");
    assert_eq!(path_of(&report, "dense_none"), "embedded");
}

/// Whether the device is Oclgrind (which really crashes under concurrent builds).
fn is_oclgrind() -> bool {
    let out = output(cl(None).args(["devices", "--json"]));
    text(&out.stdout).contains("Oclgrind")
}

#[test]
fn a_process_dying_during_parallel_compiles_makes_the_next_start_serial() {
    assert!(has_hooks(), "needs the test hooks of this test build: skip this test for another build");
    let _one = serial();
    let cache = tempfile::tempdir().unwrap();
    // Oclgrind crashes by itself when two programs build at once in one process (what
    // CLBAKE_JOBS=4 asks for); elsewhere the hook aborts while the parallel sentinel is armed.
    let real = is_oclgrind();
    let mut c = cl(Some(cache.path()));
    c.args(["demo", "--eager", "--images", IMAGES]).env("CLBAKE_EMBEDDED", "off").env("CLBAKE_JOBS", "4");
    if !real {
        c.env("CLBAKE_TEST_ABORT_AFTER_SENTINEL", "parallel");
    }
    let first = output(&mut c);
    assert!(!first.status.success(), "the first start was expected to die (real crash: {real}): {}", text(&first.stderr));
    // The next start finds the sentinel of the dead process, compiles one program at a time,
    // says why, and is correct; the start after it stays serial and quiet.
    let second = demo(Some(cache.path()), &[], &[("CLBAKE_EMBEDDED", "off"), ("CLBAKE_JOBS", "4")]);
    let events = second["startup"]["programs"]["cache"]["events"].as_array().unwrap();
    let serialized: Vec<&Value> = events.iter().filter(|e| e["kind"] == "serialized").collect();
    assert_eq!(serialized.len(), 1, "{events:?}");
    assert!(serialized[0]["detail"].as_str().unwrap().contains("one at a time"), "{serialized:?}");
    assert_eq!(second["startup"]["programs"]["serial"], true);
    let third = demo(Some(cache.path()), &[], &[("CLBAKE_EMBEDDED", "off"), ("CLBAKE_JOBS", "4")]);
    assert_eq!(third["startup"]["programs"]["serial"], true);
    all_by(&third, "cache");
}
