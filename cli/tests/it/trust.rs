//! What a checksum cannot catch, and damage that must not stop the executable: a binary the
//! driver accepts but that computes something else (known answers), a bundle baked for
//! another process ABI, a driver library replaced under unchanged version strings, hundreds
//! of damaged copies of the executable, and a disk cache kept to its limits.
//!
//! Each start runs the `clbake` binary in a fresh process on PoCL's default device. Bundles
//! are rewritten with clbake-core's writer from the bundle `clbake bake` writes here.

use crate::common::*;
use clbake::core::format::{Bundle, BundleWriter, KnownAnswer};
use clbake::core::Fingerprint;
use serde_json::Value;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Images the demo classifies in these tests.
const IMAGES: &str = "24";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// clbake's kernel library baked for this device by `clbake bake` (warm launches and known
/// answers on), in a directory kept for this test process.
fn baked() -> &'static (tempfile::TempDir, PathBuf) {
    static B: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    B.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("here.clbk");
        let kernels = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
        run_ok(command(&clbake_bin()).args(["bake", "--full", "--kernels"]).arg(&kernels).arg("-o").arg(&out));
        (dir, out)
    })
}

/// A binary to store: fingerprint, bytes, known answers.
type Binary = (Fingerprint, Vec<u8>, Vec<KnownAnswer>);

/// The bundle `bytes` written again, each binary as `edit(program name, binary)` says.
fn rewrite(bytes: &[u8], edit: &dyn Fn(&str, Binary, &Bundle<'_>) -> Binary) -> Vec<u8> {
    let b = Bundle::parse(bytes).unwrap();
    let mut w = BundleWriter::new().with_info(b.info());
    let sources: Vec<String> = b.programs().iter().map(|p| p.source().unwrap()).collect();
    for (p, source) in b.programs().iter().zip(&sources) {
        w.add_program(&p.to_spec(source));
    }
    for e in b.binaries() {
        let name = b.programs()[e.program as usize].name;
        let (fp, bin, checks) = edit(name, (e.fingerprint().unwrap(), e.decompress().unwrap(), e.checks().unwrap()), &b);
        w.add_binary(e.program, &fp, &bin, &checks);
    }
    w.to_bytes()
}

/// Runs `demo --json --eager --images 24 --bundle BUNDLE` with `env`; it must exit 0 with
/// the reference's results.
fn demo_with(bundle: &Path, env: &[(&str, &str)]) -> Value {
    let mut c = command(&clbake_bin());
    c.args(["demo", "--json", "--eager", "--images", IMAGES, "--bundle"]).arg(bundle).envs(env.iter().copied());
    let report: Value = serde_json::from_slice(&run_ok(&mut c).stdout).unwrap();
    assert_correct(&report);
    report
}

fn program<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["startup"]["programs"]["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no program {name}"))
}

fn miss(p: &Value, path: &str) -> Vec<(String, String)> {
    p["misses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["path"] == path)
        .map(|m| (m["kind"].as_str().unwrap().to_string(), m["detail"].as_str().unwrap_or_default().to_string()))
        .collect()
}

#[test]
fn a_binary_that_computes_something_else_is_caught_by_its_known_answers() {
    let (dir, here) = baked();
    let bytes = std::fs::read(here).unwrap();
    // conv2d_relu's slot holds conv2d_relu6's binary: valid, checksummed, for this device,
    // accepted by the driver — and clamping at 6 where relu does not.
    let swapped = rewrite(&bytes, &|name, (fp, bin, checks), b| {
        if name != "conv2d_relu" {
            return (fp, bin, checks);
        }
        assert!(!checks.is_empty(), "conv2d_relu was baked with known answers");
        let (i, _) = b.program("conv2d_relu6").unwrap();
        let other = b.binaries_of(i).next().unwrap().decompress().unwrap();
        assert_ne!(other, bin);
        (fp, other, checks)
    });
    let bundle = dir.path().join("swapped.clbk");
    std::fs::write(&bundle, swapped).unwrap();

    // With a disk cache: the first start replays the launch, sees other results, quarantines
    // the binary for this device, builds from source; later starts skip it without a replay.
    let cache = tempfile::tempdir().unwrap();
    let env = [("CLBAKE_CACHE_DIR", cache.path().to_str().unwrap())];
    let first = demo_with(&bundle, &env);
    let p = program(&first, "conv2d_relu");
    assert_eq!(p["path"], "source", "{p}");
    let m = miss(p, "embedded");
    assert_eq!(m.len(), 1, "{p}");
    assert_eq!(m[0].0, "wrong_results", "{p}");
    // Programs whose binary is right pass their check and are served embedded.
    assert_eq!(program(&first, "conv2d_relu6")["path"], "embedded");
    assert!(program(&first, "conv2d_relu6")["check_ms"].as_f64().unwrap() > 0.0, "the check ran");
    let second = demo_with(&bundle, &env);
    let p = program(&second, "conv2d_relu");
    assert_ne!(p["path"], "embedded", "{p}");
    let m = miss(p, "embedded");
    assert_eq!(m[0].0, "quarantined", "{p}");
    assert!(m[0].1.contains("wrong results"), "{p}");
    assert_eq!(program(&second, "conv2d_relu6")["check_ms"].as_f64().unwrap(), 0.0, "checked once per device, not every start");

    // Without a disk cache there is nowhere to remember a check: it runs at every start,
    // and still catches the binary.
    let off = demo_with(&bundle, &[]);
    assert_eq!(miss(program(&off, "conv2d_relu"), "embedded")[0].0, "wrong_results");
    // CLBAKE_CHECK=off: no replay; the wrong binary is served (what the check is for).
    let unchecked = {
        let mut c = command(&clbake_bin());
        c.args(["demo", "--json", "--eager", "--images", IMAGES, "--bundle"]).arg(&bundle).env("CLBAKE_CHECK", "off");
        serde_json::from_slice::<Value>(&c.output().unwrap().stdout).unwrap()
    };
    assert_eq!(program(&unchecked, "conv2d_relu")["path"], "embedded");
}

#[test]
fn a_bundle_baked_by_a_process_of_another_abi_is_not_served() {
    let (dir, here) = baked();
    let bytes = std::fs::read(here).unwrap();
    let ours = Bundle::parse(&bytes).unwrap().binaries()[0].fingerprint().unwrap().host_abi;
    assert_eq!(ours, clbake::core::fingerprint::this_host_abi(), "a bake records the ABI of the process that baked");
    // The same binaries, as an armv7 process (32-bit pointers) on a board with the same
    // driver strings would have baked them.
    let other = rewrite(&bytes, &|_, (mut fp, bin, checks), _| {
        fp.host_abi = "arm/32".into();
        (fp, bin, checks)
    });
    let bundle = dir.path().join("armv7.clbk");
    std::fs::write(&bundle, other).unwrap();
    let report = demo_with(&bundle, &[]);
    for p in report["startup"]["programs"]["programs"].as_array().unwrap() {
        assert_eq!(p["path"], "source", "{p}");
        let m = miss(p, "embedded");
        assert_eq!(m[0].0, "fingerprint_mismatch", "{p}");
        let diff: Vec<&str> = p["misses"][0]["diff"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert_eq!(diff, ["host_abi"], "{p}");
    }
    let mut c = command(&clbake_bin());
    c.args(["demo", "--eager", "--images", IMAGES, "--bundle"]).arg(&bundle);
    let out = run_ok(&mut c);
    assert!(text(&out.stdout).contains("built for another process ABI"), "{}", text(&out.stdout));
    // The untouched bundle is served embedded: the ABI field alone made the difference.
    let report = demo_with(here, &[]);
    assert!(report["startup"]["programs"]["programs"].as_array().unwrap().iter().all(|p| p["path"] == "embedded"), "{report}");
}

/// The file behind `/etc/OpenCL/vendors/pocl.icd`, resolved.
fn pocl_library() -> PathBuf {
    let named = std::fs::read_to_string("/etc/OpenCL/vendors/pocl.icd").expect("PoCL's ICD file");
    let named = named.trim();
    let path = if named.starts_with('/') { PathBuf::from(named) } else { Path::new("/usr/lib/x86_64-linux-gnu").join(named) };
    std::fs::canonicalize(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_driver_library_replaced_under_the_same_version_strings_is_a_miss() {
    // A copy of PoCL's library with one more ELF section: every version string the same, the
    // file different. PoCL is relocatable: it finds its device plugins and kernel library
    // beside itself (lib/<triple>/pocl, share/pocl), which the copy's tree links back to.
    let lib = pocl_library();
    let libdir = lib.parent().unwrap();
    let triple = libdir.file_name().unwrap();
    let root = tempfile::tempdir().unwrap();
    let new_libdir = root.path().join("lib").join(triple);
    std::fs::create_dir_all(&new_libdir).unwrap();
    std::fs::create_dir_all(root.path().join("share")).unwrap();
    std::os::unix::fs::symlink(libdir.join("pocl"), new_libdir.join("pocl")).unwrap();
    std::os::unix::fs::symlink(libdir.parent().unwrap().parent().unwrap().join("share/pocl"), root.path().join("share/pocl")).unwrap();
    let note = root.path().join("note");
    std::fs::write(&note, b"rebuilt by the vendor, version strings unchanged").unwrap();
    let copy = new_libdir.join(lib.file_name().unwrap());
    let status = Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".clbake_test={}", note.display()))
        .arg(&lib)
        .arg(&copy)
        .status()
        .expect("objcopy (binutils)");
    assert!(status.success());
    let icd = root.path().join("icd");
    std::fs::create_dir(&icd).unwrap();
    std::fs::write(icd.join("pocl.icd"), format!("{}\n", copy.display())).unwrap();

    // The executable's embedded binaries were baked with the original library.
    let mut c = command(&clbake_bin());
    c.args(["demo", "--json", "--images", IMAGES]).env("OCL_ICD_VENDORS", &icd);
    let report: Value = serde_json::from_slice(&run_ok(&mut c).stdout).unwrap();
    assert_correct(&report);
    assert_eq!(report["device"]["driver_version"], demo_json(&clbake_bin(), &[])["device"]["driver_version"], "same version strings");
    for p in report["startup"]["programs"]["programs"].as_array().unwrap() {
        assert_eq!(p["path"], "source", "{p}");
        let diff: Vec<&str> = p["misses"][0]["diff"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert_eq!(diff, ["driver_library"], "only the library differs: {p}");
    }
    let mut c = command(&clbake_bin());
    c.args(["demo", "--images", IMAGES]).env("OCL_ICD_VENDORS", &icd);
    let out = run_ok(&mut c);
    assert!(text(&out.stdout).contains("driver library changed"), "{}", text(&out.stdout));
}

/// Regions of the `.clbake` section of an executable, as (name, start, end) in file offsets.
fn regions(exe: &[u8]) -> Vec<(String, usize, usize)> {
    let section = clbake::core::format::section(exe, clbake::core::format::SECTION_NAME).expect(".clbake section");
    let base = section.as_ptr() as usize - exe.as_ptr() as usize;
    let b = Bundle::parse(section).unwrap();
    let h = b.header();
    let at = |o: u64| base + o as usize;
    let mut r = vec![
        ("header".to_string(), base, base + clbake::core::format::HEADER_LEN),
        ("info".into(), at(h.info_offset), at(h.info_offset + h.info_len)),
        ("program table".into(), at(h.program_table_offset), at(h.program_table_offset + h.program_table_len)),
        ("binary table".into(), at(h.binary_table_offset), at(h.binary_table_offset + h.binary_table_len)),
    ];
    if h.tuning_table_len > 0 {
        r.push(("tuning table".into(), at(h.tuning_table_offset), at(h.tuning_table_offset + h.tuning_table_len)));
    }
    for p in b.programs() {
        let s = p.compressed_source();
        let start = s.as_ptr() as usize - exe.as_ptr() as usize;
        r.push((format!("source of {}", p.name), start, start + s.len()));
    }
    for e in b.binaries() {
        let s = e.compressed();
        let start = s.as_ptr() as usize - exe.as_ptr() as usize;
        r.push((format!("binary of {}", b.programs()[e.program as usize].name), start, start + s.len()));
    }
    r
}

/// The outcome of one damaged start.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Outcome {
    Correct,
    Refused,
    Signal,
    Other,
}

/// Runs a command whose executable was just written. A process forked by another thread
/// while the file was open for writing holds it open until its own exec, and the kernel
/// refuses to run a file open for writing (ETXTBSY): try again shortly.
fn spawn_fresh(c: &mut Command) -> std::process::Output {
    for _ in 0..50 {
        match c.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => std::thread::sleep(std::time::Duration::from_millis(20)),
            r => return r.unwrap(),
        }
    }
    panic!("{c:?}: the executable stayed busy")
}

#[test]
fn damaged_executables_run_correctly_or_refuse_in_one_line_and_never_die() {
    let exe = std::fs::read(clbake_bin()).unwrap();
    let regions = regions(&exe);
    // At least 200 offsets over the section: 16 in the header and in each table, 4 in the
    // info string, 6 in each source and binary payload, spread evenly (first and last byte
    // included).
    let mut offsets: Vec<(String, usize)> = Vec::new();
    for (name, start, end) in &regions {
        let n = match name.as_str() {
            "header" | "program table" | "binary table" | "tuning table" => 16,
            "info" => 4,
            _ => 6,
        };
        let len = end - start;
        for k in 0..n.min(len) {
            offsets.push((name.clone(), start + k * (len - 1) / (n - 1).max(1)));
        }
    }
    assert!(offsets.len() >= 200, "{} offsets", offsets.len());

    // Two workers (this machine has 2 cores), each with its own copy, patched in place.
    // PoCL's kernel cache (warmed) keeps the source fallbacks quick.
    let pocl = crate::cache::pocl_cache();
    let dir = tempfile::tempdir().unwrap();
    let results = std::sync::Mutex::new(Vec::new());
    let chunks: Vec<&[(String, usize)]> = offsets.chunks(offsets.len().div_ceil(2)).collect();
    std::thread::scope(|s| {
        for (w, chunk) in chunks.iter().enumerate() {
            let (exe, dir, results) = (&exe, dir.path(), &results);
            s.spawn(move || {
                let path = dir.join(format!("clbake-{w}"));
                let mut bytes = exe.clone();
                for (region, at) in chunk.iter() {
                    bytes[*at] ^= 0x20;
                    std::fs::write(&path, &bytes).unwrap();
                    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
                    bytes[*at] ^= 0x20;
                    let mut c = command(&path);
                    c.args(["demo", "--json", "--eager", "--images", IMAGES]).env("POCL_KERNEL_CACHE", "1").env("POCL_CACHE_DIR", pocl);
                    let out = spawn_fresh(&mut c);
                    let stderr = text(&out.stderr);
                    let outcome = if out.status.signal().is_some() {
                        Outcome::Signal
                    } else if out.status.success() {
                        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
                        let ok = std::panic::catch_unwind(|| assert_correct(&report)).is_ok();
                        if ok {
                            Outcome::Correct
                        } else {
                            Outcome::Other
                        }
                    } else if out.status.code() == Some(1)
                        && stderr.lines().count() == 1
                        && stderr.starts_with("error: ")
                        && !stderr.contains("panicked")
                    {
                        Outcome::Refused
                    } else {
                        Outcome::Other
                    };
                    results.lock().unwrap().push((region.clone(), *at, outcome, out.status.to_string(), stderr));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let count = |o: Outcome| results.iter().filter(|r| r.2 == o).count();
    eprintln!(
        "damaged executables: {} offsets over {} regions: {} correct, {} refused in one line, {} killed by a signal, {} other",
        results.len(),
        regions.len(),
        count(Outcome::Correct),
        count(Outcome::Refused),
        count(Outcome::Signal),
        count(Outcome::Other)
    );
    let mut by_region: std::collections::BTreeMap<String, [usize; 4]> = std::collections::BTreeMap::new();
    for (region, _, o, _, _) in &results {
        let key = if region.starts_with("source of") {
            "sources"
        } else if region.starts_with("binary of") {
            "binaries"
        } else {
            region.as_str()
        };
        by_region.entry(key.to_string()).or_default()[*o as usize] += 1;
    }
    for (region, [c, r, s, o]) in &by_region {
        eprintln!("  {region:<14} {c:>4} correct {r:>4} refused {s:>3} signal {o:>3} other");
    }
    let bad: Vec<_> = results.iter().filter(|r| matches!(r.2, Outcome::Signal | Outcome::Other)).collect();
    assert!(bad.is_empty(), "{} starts died or misbehaved: {bad:#?}", bad.len());
    // Damage to what can be done without (binaries, their table, the tuning table, sources
    // of programs that have a binary) never stops the executable; a refusal comes only from
    // the core (header, info, program table), and says so once.
    for (region, at, o, _, stderr) in &results {
        let core = matches!(region.as_str(), "header" | "info" | "program table");
        if !core {
            assert_eq!(*o, Outcome::Correct, "{region} at {at}: {stderr}");
        }
        if *o == Outcome::Refused {
            assert!(stderr.contains("embedded kernel bundle is unreadable"), "{region} at {at}: {stderr}");
        }
    }
}

#[test]
fn the_disk_cache_is_kept_to_its_size_and_pruned_on_demand() {
    let cache = tempfile::tempdir().unwrap();
    // Entries are about 50-110 KB: a 300 KB limit keeps a few of the 14.
    let report = crate::cache::demo(cache.path(), &[("POCL_DEVICES", "basic"), ("CLBAKE_CACHE_MAX_BYTES", "300000")]);
    let entries = crate::cache::entries(cache.path());
    let bytes: u64 = entries.iter().map(|e| std::fs::metadata(e).unwrap().len()).sum();
    assert!(!entries.is_empty() && entries.len() < 14 && bytes <= 300_000, "{} entries, {bytes} bytes", entries.len());
    assert!(report["startup"]["programs"]["programs"].as_array().unwrap().iter().all(|p| p["path"] == "source"));
    assert!(!crate::cache::events(&report, "pruned").is_empty(), "the report says the cache was pruned");
    // A limit that cannot be parsed is an error naming the variable, not a silent default.
    let out = crate::cache::clbake(cache.path()).args(["demo", "--images", IMAGES]).env("CLBAKE_CACHE_MAX_BYTES", "lots").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("CLBAKE_CACHE_MAX_BYTES=\"lots\""), "{}", text(&out.stderr));
    // `clbake cache prune` with an age limit of 0 days removes what was not served since.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
    for e in &entries {
        std::fs::File::options().write(true).open(e).unwrap().set_modified(past).unwrap();
    }
    let out = run_ok(crate::cache::clbake(cache.path()).args(["cache", "prune", "--json"]).env("CLBAKE_CACHE_MAX_AGE_DAYS", "1"));
    let pruned: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pruned["removed"].as_u64().unwrap() as usize, entries.len(), "{pruned}");
    assert!(crate::cache::entries(cache.path()).is_empty());
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0, "the emptied device directory is gone too");
}
