//! Fault injection against the disk cache and the binary paths, one `clbake` process per
//! start on real PoCL: corrupted entries of every kind, a read-only and a full disk, writers
//! killed at random times, a process killed while the driver loads a binary (crash
//! sentinel), and a kernel failing to run from a binary. Every start must exit 0 with correct
//! results, and the cache must heal. Helpers (warmed PoCL cache, report accessors) are in
//! `cache.rs`.

use crate::cache::*;
use crate::common::*;
use clbake::core::cache_entry::{self, HEADER_LEN};
use clbake::core::Hash128;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Cores of this machine.
fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// The program name of an entry file (`<name>-<key>.bin`).
fn program_of(entry: &Path) -> String {
    entry.file_name().unwrap().to_string_lossy().rsplit_once('-').unwrap().0.to_string()
}

/// Metadata length of an entry (to aim at the boundaries of its regions).
fn meta_len(bytes: &[u8]) -> usize {
    u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize
}

/// Applies one damage per entry (`damage[i]` to the i-th entry), starts clbake, and checks:
/// exit 0, correct results, each damaged program served from source with a cache miss of
/// an expected kind and its bad entry removed and replaced; the rest from the cache. Then
/// `cache verify` passes and the next start is served from the cache entirely.
/// One damage: what it is, the cache miss kinds it may cause, and how to apply it.
type Damage = (&'static str, &'static [&'static str], Box<dyn Fn(&Path)>);

fn damage_and_heal(cache: &Path, damage: &[Damage]) {
    let all = entries(cache);
    assert!(damage.len() <= all.len(), "{} damages for {} entries", damage.len(), all.len());
    let mut expect: BTreeMap<String, (&str, &[&str])> = BTreeMap::new();
    for ((what, kinds, f), entry) in damage.iter().zip(&all) {
        f(entry);
        expect.insert(program_of(entry), (what, kinds));
    }
    let report = basic(cache);
    for p in programs(&report) {
        let name = p["name"].as_str().unwrap();
        match expect.get(name) {
            Some((what, kinds)) => {
                assert_eq!(p["path"], "source", "{what}: {p}");
                let got = miss_kinds(p, "cache");
                assert!(got.len() == 1 && kinds.contains(&got[0].as_str()), "{what}: cache misses {got:?}, expected one of {kinds:?}: {p}");
                assert_eq!(p["cached"], true, "{what}: not replaced: {p}");
            }
            None => assert_eq!(p["path"], "cache", "{name} was not damaged: {p}"),
        }
    }
    let removed = events(&report, "removed");
    for name in expect.keys() {
        assert!(removed.contains(name), "{name}: bad entry not removed: {removed:?}");
    }
    assert_verified(cache, all.len());
    assert_all(&basic(cache), "cache");
}

fn truncate_at(at: usize) -> impl Fn(&Path) {
    move |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..at.min(bytes.len() - 1)]).unwrap();
    }
}

fn truncate_from_end(back: usize) -> impl Fn(&Path) {
    move |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        std::fs::write(p, &bytes[..bytes.len() - back]).unwrap();
    }
}

/// Flips bit `bit` of the byte at `at(len, meta_len)`.
fn flip(at: fn(usize, usize) -> usize, bit: u8) -> impl Fn(&Path) {
    move |p: &Path| {
        let mut bytes = std::fs::read(p).unwrap();
        let i = at(bytes.len(), meta_len(&bytes));
        bytes[i] ^= 1 << bit;
        std::fs::write(p, bytes).unwrap();
    }
}

/// Rewrites the entry with `f` applied to its bytes, then reseals the header checksum so the
/// damage reaches the checks behind it.
fn resealed(f: fn(&mut Vec<u8>)) -> impl Fn(&Path) {
    move |p: &Path| {
        let mut bytes = std::fs::read(p).unwrap();
        f(&mut bytes);
        assert!(cache_entry::reseal(&mut bytes));
        std::fs::write(p, bytes).unwrap();
    }
}

const CORRUPT: &[&str] = &["corrupt"];

#[test]
fn entries_truncated_at_many_offsets_heal() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    basic(cache);
    let n = entries(cache).len();
    // Every boundary of the layout: inside the magic, version, lengths, hashes, checksums,
    // metadata, payload, and one byte short of the end.
    type Cut = Box<dyn Fn(&Path)>;
    let cuts: Vec<Cut> = vec![
        Box::new(truncate_at(1)),
        Box::new(truncate_at(7)),
        Box::new(truncate_at(8)),
        Box::new(truncate_at(12)),
        Box::new(truncate_at(16)),
        Box::new(truncate_at(24)),
        Box::new(truncate_at(40)),
        Box::new(truncate_at(56)),
        Box::new(truncate_at(72)),
        Box::new(truncate_at(HEADER_LEN - 1)),
        Box::new(truncate_at(HEADER_LEN)),
        Box::new(truncate_at(HEADER_LEN + 1)),
        Box::new(truncate_at(HEADER_LEN + 30)),
        Box::new(truncate_from_end(1)),
        Box::new(truncate_from_end(2)),
        Box::new(truncate_from_end(4096)),
        Box::new(truncate_from_end(20_000)),
        Box::new(|p: &Path| {
            let bytes = std::fs::read(p).unwrap();
            let end_of_meta = HEADER_LEN + meta_len(&bytes);
            std::fs::write(p, &bytes[..end_of_meta]).unwrap();
        }),
        Box::new(|p: &Path| {
            let bytes = std::fs::read(p).unwrap();
            std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
        }),
    ];
    let mut damage: Vec<Damage> = cuts.into_iter().map(|f| ("truncated", CORRUPT, f)).collect();
    while !damage.is_empty() {
        let rest = damage.split_off(damage.len().min(n));
        damage_and_heal(cache, &damage);
        damage = rest;
    }
}

#[test]
fn flipped_bits_zero_fill_empty_files_and_directories_heal() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    basic(cache);
    let zero_all = |p: &Path| {
        let len = std::fs::metadata(p).unwrap().len() as usize;
        std::fs::write(p, vec![0u8; len]).unwrap();
    };
    let zero_header = |p: &Path| {
        let mut b = std::fs::read(p).unwrap();
        b[..HEADER_LEN].fill(0);
        std::fs::write(p, b).unwrap();
    };
    let zero_payload_run = |p: &Path| {
        let mut b = std::fs::read(p).unwrap();
        // 64 bytes from the middle on that are not all zero already.
        let at = (b.len() / 2..b.len() - 64).find(|&i| b[i..i + 64].iter().any(|&x| x != 0)).unwrap();
        b[at..at + 64].fill(0);
        std::fs::write(p, b).unwrap();
    };
    let empty = |p: &Path| std::fs::write(p, b"").unwrap();
    let directory = |p: &Path| {
        std::fs::remove_file(p).unwrap();
        std::fs::create_dir_all(p.join("inside")).unwrap();
        std::fs::write(p.join("inside/file"), b"x").unwrap();
    };
    let first: Vec<Damage> = vec![
        ("magic bit", CORRUPT, Box::new(flip(|_, _| 0, 0))),
        ("version bit", CORRUPT, Box::new(flip(|_, _| 8, 1))),
        ("meta_len bit", CORRUPT, Box::new(flip(|_, _| 12, 2))),
        ("payload_len bit", CORRUPT, Box::new(flip(|_, _| 16, 3))),
        ("payload_len high bit", CORRUPT, Box::new(flip(|_, _| 23, 7))),
        ("fingerprint hash bit", CORRUPT, Box::new(flip(|_, _| 24, 4))),
        ("program key bit", CORRUPT, Box::new(flip(|_, _| 40, 5))),
        ("payload checksum bit", CORRUPT, Box::new(flip(|_, _| 56, 6))),
        ("header checksum bit", CORRUPT, Box::new(flip(|_, _| 72, 7))),
        ("metadata bit", CORRUPT, Box::new(flip(|_, _| HEADER_LEN + 2, 0))),
        ("first payload bit", CORRUPT, Box::new(flip(|_, m| HEADER_LEN + m, 0))),
        ("middle payload bit", CORRUPT, Box::new(flip(|len, _| len / 2, 3))),
        ("last payload bit", CORRUPT, Box::new(flip(|len, _| len - 1, 7))),
    ];
    damage_and_heal(cache, &first);
    let second: Vec<Damage> = vec![
        ("zero-filled", CORRUPT, Box::new(zero_all)),
        ("zeroed header", CORRUPT, Box::new(zero_header)),
        ("zeroed run of payload", CORRUPT, Box::new(zero_payload_run)),
        ("emptied", CORRUPT, Box::new(empty)),
        ("replaced by a directory", CORRUPT, Box::new(directory)),
    ];
    damage_and_heal(cache, &second);
}

#[test]
fn wrong_magic_version_fingerprint_key_and_lengths_heal() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    basic(cache);
    // An intact entry for another device (valid checksums) stored under this device's name,
    // and one for another program key: found by the full comparison, not the file name.
    let other_device = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        let e = cache_entry::parse(&bytes).unwrap();
        let mut fp = e.fingerprint.clone();
        fp.driver_version = "99.0-after-an-update".into();
        std::fs::write(p, cache_entry::encode(e.name, &fp, &e.program_key, e.payload).unwrap()).unwrap();
    };
    let other_key = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        let e = cache_entry::parse(&bytes).unwrap();
        std::fs::write(p, cache_entry::encode(e.name, &e.fingerprint, &Hash128::of(b"old sources"), e.payload).unwrap()).unwrap();
    };
    let other_name = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        let e = cache_entry::parse(&bytes).unwrap();
        std::fs::write(p, cache_entry::encode("someone_else", &e.fingerprint, &e.program_key, e.payload).unwrap()).unwrap();
    };
    let trailing = |p: &Path| {
        let mut b = std::fs::read(p).unwrap();
        b.extend_from_slice(b"trailing garbage");
        std::fs::write(p, b).unwrap();
    };
    let damage: Vec<Damage> = vec![
        ("wrong magic", CORRUPT, Box::new(resealed(|b| b[..8].copy_from_slice(b"CLBAKE\r\n")))),
        ("version 1", CORRUPT, Box::new(resealed(|b| b[8..12].copy_from_slice(&1u32.to_le_bytes())))),
        ("version 3", CORRUPT, Box::new(resealed(|b| b[8..12].copy_from_slice(&3u32.to_le_bytes())))),
        ("payload_len + 1", CORRUPT, Box::new(resealed(|b| bump_u64(b, 16, 1)))),
        ("payload_len - 1", CORRUPT, Box::new(resealed(|b| bump_u64(b, 16, -1)))),
        ("payload_len huge", CORRUPT, Box::new(resealed(|b| b[16..24].copy_from_slice(&u64::MAX.to_le_bytes())))),
        ("meta_len + 4", CORRUPT, Box::new(resealed(|b| bump_u32(b, 12, 4)))),
        (
            "meta_len huge",
            CORRUPT,
            Box::new(|p: &Path| {
                let mut b = std::fs::read(p).unwrap();
                b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
                std::fs::write(p, b).unwrap();
            }),
        ),
        ("fingerprint hash", CORRUPT, Box::new(resealed(|b| b[24] ^= 0xff))),
        ("trailing bytes", CORRUPT, Box::new(trailing)),
        ("another device", &["fingerprint_mismatch"], Box::new(other_device)),
        ("another program key", &["stale"], Box::new(other_key)),
        ("another program name", &["stale"], Box::new(other_name)),
    ];
    damage_and_heal(cache, &damage);
}

fn bump_u64(b: &mut [u8], at: usize, by: i64) {
    let v = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    b[at..at + 8].copy_from_slice(&v.wrapping_add_signed(by).to_le_bytes());
}

fn bump_u32(b: &mut [u8], at: usize, by: u32) {
    let v = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    b[at..at + 4].copy_from_slice(&v.wrapping_add(by).to_le_bytes());
}

/// Runs `clbake <args>` with `dir` made read-only: a read-only bind mount in a private mount
/// namespace when running as root (root ignores permission bits), else mode 0500. `None`
/// when, as root, mount namespaces are not permitted here.
fn read_only(cache: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<std::process::Output> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let mut c = cmd_with(Path::new("unshare"), cache);
        c.args(["--mount", "sh", "-c", r#"mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" || exit 99; exec "$@""#]);
        c.arg(dir).arg(clbake_bin()).args(args).envs(env.iter().copied());
        let out = c.output().unwrap();
        if out.status.code() == Some(99) || String::from_utf8_lossy(&out.stderr).contains("unshare failed") {
            eprintln!("mount namespaces are not permitted here: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        Some(out)
    } else {
        use std::os::unix::fs::PermissionsExt;
        let mode = |m| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(m)).unwrap();
        mode(0o500);
        let out = clbake(cache).args(args).envs(env.iter().copied()).output();
        mode(0o700);
        Some(out.unwrap())
    }
}

fn ok_report(out: std::process::Output) -> Value {
    assert!(out.status.success(), "{}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    let report = parse_report(&out);
    assert_correct(&report);
    report
}

#[test]
fn a_read_only_cache_is_used_for_reading_and_never_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("c");
    basic(&cache);
    let all = entries(&cache);
    let device_dir = all[0].parent().unwrap().to_path_buf();
    // A damaged entry that cannot be removed, in a directory that cannot be written.
    truncate_from_end(1)(&all[0]);
    let Some(out) = read_only(&cache, &device_dir, &["demo", "--json", "--eager"], &[("POCL_DEVICES", "basic")]) else { return };
    let report = ok_report(out);
    let victim = program(&report, &program_of(&all[0]));
    assert_eq!(victim["path"], "source");
    assert_eq!(miss_kinds(victim, "cache"), ["corrupt"]);
    assert_eq!(events(&report, "remove_failed"), [program_of(&all[0])]);
    assert_eq!(events(&report, "write_failed"), [program_of(&all[0])]);
    assert_eq!(programs(&report).iter().filter(|p| p["path"] == "cache").count(), all.len() - 1);
    // Writable again: healed.
    let healed = basic(&cache);
    assert_eq!(program(&healed, &program_of(&all[0]))["path"], "source");
    assert_all(&basic(&cache), "cache");

    // A cache directory that cannot even be created: no cache, no error.
    let empty = tmp.path().join("ro");
    std::fs::create_dir(&empty).unwrap();
    let report = ok_report(
        read_only(&empty.join("cache"), &empty, &["demo", "--json", "--eager"], &[("POCL_DEVICES", "basic")]).expect("worked above"),
    );
    assert_eq!(report["startup"]["programs"]["cache"]["state"], "unavailable");
    assert_all(&report, "source");
}

/// A command running `script` (sh, `$0` = `arg0`, then `args`) in a private mount namespace:
/// as root directly, else in a user namespace mapped to root. `None` when namespaces are not
/// permitted here. Runs on PoCL's `basic` device.
fn in_mount_namespace(cache: &Path, script: &str, arg0: &Path, args: &[&std::ffi::OsStr]) -> Option<std::process::Output> {
    let mut c = cmd_with(Path::new("unshare"), cache);
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        c.args(["--user", "--map-root-user"]);
    }
    c.args(["--mount", "sh", "-c", script]).arg(arg0).args(args).env("POCL_DEVICES", "basic");
    let out = c.output().unwrap();
    if out.status.code() == Some(99) || String::from_utf8_lossy(&out.stderr).contains("unshare failed") {
        eprintln!("mount namespaces are not permitted here: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(out)
}

#[test]
fn a_full_disk_degrades_to_no_cache() {
    // A 256 KiB tmpfs holds two or three entries (50-110 KB each): the next writes fail with
    // ENOSPC part-way. Mounted in a private mount namespace, so nothing outlives the test.
    // (RLIMIT_FSIZE cannot stand in for a full disk here: PoCL itself writes files of more
    // than 100 KB during every build and dies with "LLVM ERROR: IO failure on output stream:
    // File too large"; EFBIG is covered by the unit test cache::store::tests::efbig_*.)
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("tiny");
    std::fs::create_dir(&mnt).unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let script = r#"mount -t tmpfs -o size=256k,mode=0700 tmpfs "$0" || exit 99
        for i in 1 2; do "$1" demo --json > "$2/demo$i.json" || exit 1; done
        "$1" cache verify --json > "$2/verify.json" || exit 2
        ls -la "$0"/*/ > "$2/ls.txt""#;
    let Some(run) = in_mount_namespace(&mnt, script, &mnt, &[clbake_bin().as_os_str(), out.as_os_str()]) else { return };
    assert!(run.status.success(), "{}: {}", run.status, String::from_utf8_lossy(&run.stderr));
    let read = |f: &str| -> Value { serde_json::from_slice(&std::fs::read(out.join(f)).unwrap()).unwrap() };
    let stored_first = events(&read("demo1.json"), "stored").len();
    assert!(stored_first > 0, "nothing fit on the tmpfs");
    for i in 1..=2 {
        let report = read(&format!("demo{i}.json"));
        assert_correct(&report);
        assert!(!events(&report, "write_failed").is_empty(), "the tmpfs did not fill: {report:#}");
        assert!(
            events(&report, "write_failed").len()
                + events(&report, "stored").len()
                + programs(&report).iter().filter(|p| p["path"] == "cache").count()
                == programs(&report).len()
        );
        let from_cache = programs(&report).iter().filter(|p| p["path"] == "cache").count();
        assert_eq!(from_cache, if i == 1 { 0 } else { stored_first }, "{report:#}");
    }
    let inv = read("verify.json");
    assert!(inv["entries"].as_array().unwrap().iter().all(|e| e["ok"] == true), "{inv:#}");
    assert!(!std::fs::read_to_string(out.join("ls.txt")).unwrap().contains(".tmp"), "a partial entry was left");
}

#[test]
fn writers_killed_at_random_times_leave_nothing_that_is_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    // A fixed pseudo-random sequence of kill delays spread over a start-up.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed_with_temp = 0;
    let mut left = Vec::new();
    for round in 0..16 {
        if round % 4 == 0 {
            run_ok(clbake(cache).args(["cache", "clear"]));
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay = Duration::from_millis(20 + x % 600);
        let mut child = clbake(cache)
            .args(["demo", "--json", "--eager"])
            .env("POCL_DEVICES", "basic")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        killed_with_temp += usize::from(!files_ending(cache, ".tmp").is_empty());
        left.push(entries(cache).len());
        // Whatever was left: every entry that exists is intact (temporary files are never read).
        let (ok, inv) = verify(cache);
        assert!(ok, "round {round} (killed after {delay:?}): {inv:#}");
    }
    eprintln!("{killed_with_temp} of 16 kills left a temporary file behind; entries left after each kill: {left:?}");
    let report = basic(cache);
    assert!(files_ending(cache, ".tmp").is_empty(), "temporary files of dead writers were not cleaned up");
    // A process killed while the driver loaded an entry left a sentinel: that entry was
    // evicted and rebuilt, never trusted again.
    for p in programs(&report) {
        assert!(miss_kinds(p, "cache").iter().all(|k| k == "not_cached" || k == "crash_sentinel"), "{p}");
    }
    assert_all(&basic(cache), "cache");
    assert!(files_ending(cache, ".sentinel").is_empty());
}

#[test]
fn an_embedded_binary_that_crashed_the_process_is_skipped_from_then_on() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    // The default device: embedded binaries match. Abort right after the first sentinel,
    // as a driver crashing inside clCreateProgramWithBinary / clBuildProgram would.
    let out =
        clbake(cache).args(["demo", "--json", "--eager"]).env(clbake::core::env::TEST_ABORT_AFTER_SENTINEL, "embedded").output().unwrap();
    assert!(!out.status.success(), "the hook did not abort");
    // Embedded binaries load on several threads on a CPU device: each one in flight when the
    // process died left a sentinel, and each is a suspect (beside them, the sentinel of the
    // parallel load itself).
    let sentinels = files_ending(cache, ".sentinel");
    assert_eq!(sentinels.iter().filter(|s| s.to_string_lossy().contains("all.parallel.")).count(), 1, "{sentinels:?}");
    let sentinels: Vec<&PathBuf> = sentinels.iter().filter(|s| s.to_string_lossy().contains(".embedded.")).collect();
    assert!((1..=clbake::MIN_BINARY_THREADS.max(cores())).contains(&sentinels.len()), "{sentinels:?}");
    let mut crashed: Vec<String> = sentinels
        .iter()
        .map(|s| program_of(&PathBuf::from(s.to_string_lossy().split(".embedded.").next().unwrap().to_string() + ".bin")))
        .collect();
    crashed.sort();

    let next = demo(cache, &[]);
    for name in &crashed {
        let p = program(&next, name);
        assert_eq!(miss_kinds(p, "embedded"), ["crash_sentinel"], "{p}");
        assert_eq!(p["path"], "source", "{p}");
    }
    let mut quarantined = events(&next, "quarantined");
    quarantined.sort();
    assert_eq!(quarantined, crashed);
    assert_eq!(programs(&next).iter().filter(|p| p["path"] == "embedded").count(), programs(&next).len() - crashed.len());
    assert!(files_ending(cache, ".sentinel").is_empty());

    // Still skipped (quarantined), now served by the cache entries the source builds wrote.
    let third = demo(cache, &[]);
    for name in &crashed {
        let p = program(&third, name);
        assert_eq!(miss_kinds(p, "embedded"), ["quarantined"], "{p}");
        assert_eq!(p["path"], "cache", "{p}");
    }
    // `cache clear` lifts the quarantine.
    run_ok(clbake(cache).args(["cache", "clear"]));
    assert_all(&demo(cache, &[]), "embedded");
}

#[test]
fn a_cache_entry_that_crashed_the_process_is_evicted_and_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    basic(cache);
    let out = clbake(cache)
        .args(["demo", "--json", "--eager"])
        .env("POCL_DEVICES", "basic")
        .env(clbake::core::env::TEST_ABORT_AFTER_SENTINEL, "cache")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the hook did not abort");
    assert!(!files_ending(cache, ".sentinel").is_empty());
    let next = basic(cache);
    let crashed: Vec<&Value> = programs(&next).iter().filter(|p| miss_kinds(p, "cache") == ["crash_sentinel"]).collect();
    assert!(!crashed.is_empty(), "{next:#}");
    for p in &crashed {
        assert_eq!(p["path"], "source", "{p}");
        assert_eq!(p["cached"], true, "{p}");
    }
    assert_eq!(events(&next, "evicted").len(), crashed.len());
    assert!(files_ending(cache, ".sentinel").is_empty(), "sentinels not cleared after the rebuild");
    assert_all(&basic(cache), "cache");
}

#[test]
fn a_kernel_failing_from_a_binary_is_rebuilt_from_source_and_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    let hook = ("CLBAKE_TEST_FAIL_ENQUEUE", "conv2d_relu");
    // From the embedded binary: dropped for this process, rebuilt, retried; correct.
    let report = demo(cache, &[hook]);
    let p = program(&report, "conv2d_relu");
    assert_eq!(p["path"], "source", "{p}");
    assert_eq!(p["recovered"], true);
    let last = p["misses"].as_array().unwrap().last().unwrap();
    assert_eq!((last["path"].as_str(), last["kind"].as_str()), (Some("embedded"), Some("execution_failed")), "{p}");
    assert!(last["detail"].as_str().unwrap().contains("CL_INVALID_PROGRAM_EXECUTABLE"));
    // From a cache entry: evicted and replaced; the next start loads the fresh entry.
    basic(cache);
    let report = demo(cache, &[hook, ("POCL_DEVICES", "basic")]);
    let p = program(&report, "conv2d_relu");
    assert_eq!((p["path"].as_str(), p["recovered"].as_bool()), (Some("source"), Some(true)), "{p}");
    assert_eq!(miss_kinds(p, "cache"), ["execution_failed"]);
    assert_eq!(events(&report, "evicted"), ["conv2d_relu"]);
    assert!(events(&report, "stored").contains(&"conv2d_relu".to_string()));
    assert_all(&basic(cache), "cache");
    // A program built from source has no binary to blame: the failure is an error.
    let mut c = clbake(cache);
    c.args(["demo"]).env("POCL_DEVICES", "basic").env("CLBAKE_CACHE_DIR", "off").env("CLBAKE_TEST_FAIL_ENQUEUE", "conv2d_relu");
    assert!(c.output().unwrap().status.success(), "the hook fires only for programs served from a binary");
}
