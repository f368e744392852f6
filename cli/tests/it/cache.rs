//! The disk cache on a real driver, one `clbake` process per start: a second start loads
//! what the first compiled, a driver update compiles once more, processes starting together
//! compile each program once and never see a torn entry, untrusted entries are ignored, and
//! `clbake cache ls|verify|clear`.
//!
//! `POCL_DEVICES=basic` makes the embedded binaries (baked for PoCL's default `pthread`
//! device) miss, so the cache serves. PoCL's own kernel cache is on, in a directory warmed
//! once ([`pocl_cache`]), so that "compiling from source" costs milliseconds instead of
//! seconds of CPU; clbake's cache, what these tests exercise, always starts empty.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// PoCL's kernel cache for these tests (kept in the target dir between runs), warmed for the
/// `basic` device and for the default device compiling from source.
pub fn pocl_cache() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pocl-kernel-cache");
        for env in [[("POCL_DEVICES", "basic"), ("CLBAKE_EMBEDDED", "on")], [("POCL_DEVICES", "pthread"), ("CLBAKE_EMBEDDED", "off")]] {
            let mut c = command(&clbake_bin());
            c.args(["demo", "--json", "--eager"]).env("POCL_KERNEL_CACHE", "1").env("POCL_CACHE_DIR", &dir).envs(env);
            run_ok(&mut c);
        }
        dir
    })
}

/// A command running `program` (the `clbake` binary, or a wrapper such as `unshare`) with
/// the disk cache in `cache` and the warmed PoCL cache.
pub fn cmd_with(program: &Path, cache: &Path) -> Command {
    let mut c = command(program);
    c.env("CLBAKE_CACHE_DIR", cache).env("POCL_KERNEL_CACHE", "1").env("POCL_CACHE_DIR", pocl_cache());
    c
}

/// `clbake` with the disk cache in `cache`.
pub fn clbake(cache: &Path) -> Command {
    cmd_with(&clbake_bin(), cache)
}

/// Parses the JSON a `demo --json` printed.
pub fn parse_report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Runs `clbake demo --json` with the cache in `cache` and extra environment; it must exit 0.
pub fn demo(cache: &Path, env: &[(&str, &str)]) -> Value {
    let mut c = clbake(cache);
    c.args(["demo", "--json", "--eager"]).envs(env.iter().copied());
    let report = parse_report(&run_ok(&mut c));
    assert_correct(&report);
    report
}

/// `demo` on PoCL's `basic` device, where no embedded binary matches.
pub fn basic(cache: &Path) -> Value {
    demo(cache, &[("POCL_DEVICES", "basic")])
}

/// The per-program reports.
pub fn programs(report: &Value) -> &Vec<Value> {
    report["startup"]["programs"]["programs"].as_array().expect("programs array")
}

/// The report of program `name`.
pub fn program<'a>(report: &'a Value, name: &str) -> &'a Value {
    programs(report).iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no program {name}"))
}

/// Kinds of the misses of `path` (`embedded`, `cache`) in a program report.
pub fn miss_kinds(p: &Value, path: &str) -> Vec<String> {
    p["misses"].as_array().unwrap().iter().filter(|m| m["path"] == path).map(|m| m["kind"].as_str().unwrap().to_string()).collect()
}

/// Programs named in cache events of `kind`.
pub fn events(report: &Value, kind: &str) -> Vec<String> {
    let ev = report["startup"]["programs"]["cache"]["events"].as_array().expect("cache events");
    ev.iter().filter(|e| e["kind"] == kind).map(|e| e["program"].as_str().unwrap().to_string()).collect()
}

/// Asserts every program was served by `path`.
pub fn assert_all(report: &Value, path: &str) {
    for p in programs(report) {
        assert_eq!(p["path"], path, "{}: {p}", p["name"]);
    }
}

/// Every entry file under `cache`, sorted.
pub fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for d in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            if f.path().extension().is_some_and(|e| e == "bin") {
                v.push(f.path());
            }
        }
    }
    v.sort();
    v
}

/// Files under `cache` whose name ends with `suffix`.
pub fn files_ending(cache: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for d in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
            if f.file_name().to_string_lossy().ends_with(suffix) {
                v.push(f.path());
            }
        }
    }
    v
}

/// Runs `clbake cache verify --json`; returns whether it passed and its JSON.
pub fn verify(cache: &Path) -> (bool, Value) {
    let out = clbake(cache).args(["cache", "verify", "--json"]).output().unwrap();
    (out.status.success(), parse_report(&out))
}

/// Asserts `clbake cache verify` passes with `n` entries.
pub fn assert_verified(cache: &Path, n: usize) {
    let (ok, inv) = verify(cache);
    assert!(ok, "cache verify failed: {inv:#}");
    assert_eq!(inv["entries"].as_array().unwrap().len(), n, "{inv:#}");
}

#[test]
fn second_start_loads_every_program_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("c");
    let first = basic(&cache);
    assert_all(&first, "source");
    let n = programs(&first).len();
    for p in programs(&first) {
        assert_eq!(miss_kinds(p, "embedded"), ["fingerprint_mismatch"]);
        assert_eq!(miss_kinds(p, "cache"), ["not_cached"]);
        assert_eq!(p["cached"], true, "{p}");
    }
    assert_eq!(events(&first, "stored").len(), n);
    assert_eq!(entries(&cache).len(), n);
    assert_verified(&cache, n);

    let second = basic(&cache);
    assert_all(&second, "cache");
    for p in programs(&second) {
        assert!(miss_kinds(p, "cache").is_empty(), "{p}");
        assert_eq!(p["cached"], false);
        assert!(p["binary_bytes"].as_u64().unwrap() > 0);
    }
    assert!(second["startup"]["programs"]["cache"]["events"].as_array().unwrap().is_empty());
    assert_eq!(second["startup"]["programs"]["cache"]["state"], "enabled");

    // Owner-only: the directories 0700, the entries 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(entries(&cache)[0].parent().unwrap()), 0o700);
    assert!(entries(&cache).iter().all(|e| mode(e) == 0o600));
}

#[test]
fn a_driver_update_compiles_once_then_loads_from_the_cache() {
    // Two real fingerprints of one PoCL: the `pthread` and the `basic` device differ in
    // device name and version, as a driver update would change the driver version.
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    let pthread = [("POCL_DEVICES", "pthread"), ("CLBAKE_EMBEDDED", "off")];
    let basic_dev = [("POCL_DEVICES", "basic"), ("CLBAKE_EMBEDDED", "off")];
    assert_all(&demo(cache, &pthread), "source");
    assert_all(&demo(cache, &pthread), "cache");
    let updated = demo(cache, &basic_dev);
    assert_all(&updated, "source");
    let n = programs(&updated).len();
    assert_eq!(entries(cache).len(), 2 * n, "one entry per (device, program)");
    assert_all(&demo(cache, &basic_dev), "cache");
    // The old device's entries are still there and still used.
    assert_all(&demo(cache, &pthread), "cache");
    let dirs = std::fs::read_dir(cache).unwrap().count();
    assert_eq!(dirs, 2, "one directory per fingerprint");
    assert_verified(cache, 2 * n);
}

#[test]
fn cache_off_and_the_default_directory() {
    let tmp = tempfile::tempdir().unwrap();
    // off: nothing written, the cache step reports `disabled`.
    let off = demo(Path::new("off"), &[("POCL_DEVICES", "basic"), ("HOME", tmp.path().to_str().unwrap())]);
    assert_eq!(off["startup"]["programs"]["cache"]["state"], "disabled");
    assert!(programs(&off).iter().all(|p| miss_kinds(p, "cache") == ["disabled"]));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    // Unset: $XDG_CACHE_HOME/clbake/<exe>, else ~/.cache/clbake/<exe>.
    let mut c = clbake(Path::new("unused"));
    c.env_remove("CLBAKE_CACHE_DIR").env_remove("XDG_CACHE_HOME").env("HOME", tmp.path()).env("POCL_DEVICES", "basic");
    c.args(["demo", "--json", "--eager"]);
    let report = parse_report(&run_ok(&mut c));
    let dir = tmp.path().join(".cache/clbake/clbake");
    assert_eq!(report["startup"]["programs"]["cache"]["dir"], dir.to_str().unwrap());
    assert_eq!(entries(&dir).len(), programs(&report).len());
    c.env("XDG_CACHE_HOME", tmp.path().join("xdg"));
    run_ok(&mut c);
    assert_eq!(entries(&tmp.path().join("xdg/clbake/clbake")).len(), programs(&report).len());
}

#[test]
fn processes_starting_together_compile_each_program_once_and_never_see_a_torn_entry() {
    const PROCESSES: usize = 8;
    const ROUNDS: usize = 20;
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..ROUNDS {
        let cache = tmp.path().join(format!("round{round}"));
        let children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                let mut c = clbake(&cache);
                c.args(["demo", "--json", "--eager"])
                    .env("POCL_DEVICES", "basic")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                c.spawn().unwrap()
            })
            .collect();
        let mut stored = 0;
        let mut n = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
            let report = parse_report(&out);
            assert_correct(&report);
            n = programs(&report).len();
            for p in programs(&report) {
                // Every miss of the cache is `not_cached`: no process ever read a bad entry.
                assert!(miss_kinds(p, "cache").iter().all(|k| k == "not_cached"), "round {round}: {p}");
                assert!(p["path"] == "cache" || p["path"] == "source", "{p}");
            }
            assert!(events(&report, "write_failed").is_empty() && events(&report, "removed").is_empty(), "{report:#}");
            stored += events(&report, "stored").len();
        }
        // The locks make the processes wait for each other instead of compiling the same
        // program again: each program is compiled and stored exactly once per round.
        assert_eq!(stored, n, "round {round}: {stored} entries stored for {n} programs");
        assert_verified(&cache, n);
        assert!(files_ending(&cache, ".tmp").is_empty(), "round {round}: temporary files left");
    }
}

#[test]
fn entries_of_other_users_or_writable_by_others_are_ignored_and_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    basic(cache);
    let all = entries(cache);
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().rsplit_once('-').unwrap().0.to_string();
    std::fs::set_permissions(&all[0], std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut untrusted = vec![name(&all[0])];
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&all[1], Some(65534), Some(65534)).unwrap();
        untrusted.push(name(&all[1]));
    }
    // A link to another (valid) entry: never followed.
    std::fs::remove_file(&all[2]).unwrap();
    std::os::unix::fs::symlink(&all[3], &all[2]).unwrap();
    untrusted.push(name(&all[2]));

    let report = basic(cache);
    for n in &untrusted {
        let p = program(&report, n);
        assert_eq!(p["path"], "source", "{p}");
        assert_eq!(miss_kinds(p, "cache"), ["insecure"], "{p}");
    }
    assert_eq!(
        report["startup"]["programs"]["programs"].as_array().unwrap().iter().filter(|p| p["path"] == "cache").count(),
        all.len() - untrusted.len()
    );
    // Replaced by fresh, owner-only entries.
    assert_all(&basic(cache), "cache");
    assert_verified(cache, all.len());

    // A device directory others may write to: the cache is not used at all, and says why.
    let dir = all[0].parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let report = basic(cache);
    assert_all(&report, "source");
    assert_eq!(report["startup"]["programs"]["cache"]["state"], "unavailable");
    assert!(report["startup"]["programs"]["cache"]["detail"].as_str().unwrap().contains("writable by group or others"));
    assert!(programs(&report).iter().all(|p| miss_kinds(p, "cache") == ["unavailable"]));
    let (ok, inv) = verify(cache);
    assert!(!ok, "{inv:#}");
}

#[test]
fn cache_cli_lists_verifies_and_clears() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    let empty = run_ok(clbake(cache).args(["cache", "ls"]));
    assert!(String::from_utf8_lossy(&empty.stdout).contains("0 entries"));
    let report = basic(cache);
    let n = programs(&report).len();
    let ls = run_ok(clbake(cache).args(["cache", "ls"]));
    let text = String::from_utf8_lossy(&ls.stdout);
    assert!(text.contains(&format!("{n} entries")) && text.contains("conv2d_relu for basic"), "{text}");
    // One corrupted entry: verify names it and fails; ls lists it and succeeds.
    let victim = entries(cache)[0].clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let out = clbake(cache).args(["cache", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BAD") && text.contains("checksum mismatch in cache entry payload"), "{text}");
    let (_, inv) = verify(cache);
    let bad: Vec<&Value> = inv["entries"].as_array().unwrap().iter().filter(|e| e["ok"] == false).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["path"], victim.to_str().unwrap());
    run_ok(clbake(cache).args(["cache", "ls", "--json"]));
    // clear: nothing of clbake's left, a foreign file kept.
    std::fs::write(cache.join("notes.txt"), b"mine").unwrap();
    let out = run_ok(clbake(cache).args(["cache", "clear", "--json"]));
    let cleared = parse_report(&out);
    assert!(cleared["removed"].as_u64().unwrap() as usize > n);
    assert_eq!(cleared["kept"].as_array().unwrap().len(), 1);
    assert!(entries(cache).is_empty());
    assert_eq!(std::fs::read_dir(cache).unwrap().count(), 1);
    // Off, with no --dir: one clear line.
    let out = clbake(Path::new("off")).args(["cache", "ls"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the disk cache is off"));
}

mod in_process {
    use clbake::{KernelSet, LoadOptions, LoadPath, MissReason, Session};

    mod kernels {
        clbake::include_kernels!();
    }

    #[test]
    fn recover_evicts_the_cache_entry_and_rebuilds_from_source() {
        let session = Session::from_env().expect("an OpenCL device");
        let tmp = tempfile::tempdir().unwrap();
        // Embedded binaries off: this process must not drop an embedded binary that other
        // in-process tests load.
        let opts = LoadOptions::default().with_embedded(false).with_cache_dir(Some(tmp.path().to_path_buf()));
        let first = KernelSet::load_eager(&session, &kernels::BUNDLE, &opts).unwrap();
        assert!(first.report().all(LoadPath::Source));
        let programs = KernelSet::load_eager(&session, &kernels::BUNDLE, &opts).unwrap();
        assert!(programs.report().all(LoadPath::Cache), "{}", programs.report());
        let id = kernels::Program::Pool;
        programs.recover(id, &"CL_INVALID_PROGRAM_EXECUTABLE (test)").unwrap();
        assert_eq!(programs.path(id), Some(LoadPath::Source));
        let report = programs.report();
        let r = &report.programs[id as usize];
        assert!(r.recovered && r.cached);
        let last = r.misses.last().unwrap();
        assert_eq!(last.path, LoadPath::Cache);
        assert!(matches!(&last.reason, MissReason::ExecutionFailed { detail } if detail.contains("CL_INVALID_PROGRAM_EXECUTABLE")));
        let kinds: Vec<_> = report.cache.events.iter().map(|e| (e.program.as_str(), e.kind)).collect();
        assert!(
            kinds.contains(&("pool", clbake::CacheEventKind::Evicted)) && kinds.contains(&("pool", clbake::CacheEventKind::Stored)),
            "{kinds:?}"
        );
        for k in 0..id.kernels().len() {
            assert!(programs.launch(id, k).is_ok());
        }
        // The rebuilt binary was stored: the next load takes it from the cache.
        let again = KernelSet::load_eager(&session, &kernels::BUNDLE, &opts).unwrap();
        assert!(again.report().all(LoadPath::Cache));
    }
}
