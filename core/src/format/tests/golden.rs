//! Golden bytes: a tiny bundle whose exact bytes are pinned.
//!
//! If `writer_output_is_pinned` fails, the bytes a writer produces changed. Then:
//! - if the format changed (a field added, moved, resized, re-encoded), bump
//!   `FORMAT_MINOR` when old readers can still read the new bytes (fields appended at
//!   the end of records or of the header, new tables) or `FORMAT_MAJOR` when they cannot,
//!   and update `GOLDEN` (the test prints the new hex);
//! - if only the zstd frames differ (a new zstd version compresses differently) and
//!   `golden_bytes_still_parse` passes, nothing is wrong with the format: update `GOLDEN`.
//!
//! `golden_bytes_still_parse` must never be changed while `FORMAT_MAJOR` stays the same:
//! bundles written by earlier versions of clbake must stay readable. `GOLDEN` holds the
//! bytes of format 1.0 (no tuning table) and stays as it is; `GOLDEN_1_1` the bytes of the
//! current writer (1.1: with a tuning record), pinned by `writer_output_is_pinned`.

use super::*;
use crate::format::{Bundle, TunedLaunch, FORMAT_MAJOR, FORMAT_MINOR};
use crate::hash::Hash128;

const SOURCE: &str = "kernel void k(global int* a) { a[0] = 1; }";
const BINARY: &[u8] = b"\x7fBIN";

fn golden_fp() -> Fingerprint {
    Fingerprint::from_parts(
        [
            "P",
            "PV",
            "OpenCL 3.0",
            "D",
            "DV",
            "OpenCL 3.0 D",
            "1.0",
            "OpenCL C 1.2",
        ]
        .map(String::from),
        64,
    )
}

fn golden_launch() -> TunedLaunch {
    TunedLaunch { kernel: "k".into(), global: vec![64, 4], local: Some(vec![16, 2]), best_ns: 1500, default_ns: 2500 }
}

fn golden_writer() -> Vec<u8> {
    let mut w = BundleWriter::new();
    let p = w.add_program("k", "-DN=1", &["k".to_string()], SOURCE);
    w.add_binary(p, &golden_fp(), BINARY);
    w.add_tuning(p, golden_fp().hash(), golden_launch());
    w.to_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const GOLDEN: &str = "
    434c42414b450d0a010000008000000000000000010000000100000000000000
    80000000000000004300000000000000c3000000000000009f00000000000000
    6201000000000000000000000000000070010000000000004000000000000000
    b00100000000000000000000000000002b172f98f76fbcacb0c3d69ba40c20cf
    3f000000010000006b050000002d444e3d31dc455330d544ac5f0bd9eb701aab
    0eef01000000010000006b000000000000000033000000000000002a00000000
    0000009b00000000000000a90264d0117a6a6f7627af02f6106ce5696a3b2bb6
    41cf98e11af9965e979f7e04000000000000000d00000000000000066a2d2d4c
    a55cb215ec5075bb694bf4330000000000000001000000500200000050560a00
    00004f70656e434c20332e3001000000440200000044560c0000004f70656e43
    4c20332e30204403000000312e300c0000004f70656e434c204320312e324000
    0000000000000000000000000000000028b52ffd202a5101006b65726e656c20
    766f6964206b28676c6f62616c20696e742a206129207b20615b305d203d2031
    3b207d28b52ffd20042100007f42494e";

/// Format 1.1: `GOLDEN` plus one tuning record.
const GOLDEN_1_1: &str = "
    434c42414b450d0a010001008000000000000000010000000100000001000000
    80000000000000004300000000000000c3000000000000009f00000000000000
    62010000000000007100000000000000e0010000000000004000000000000000
    2002000000000000000000000000000062ab87bd1a2d92188ec45bd122d49f1b
    3f000000010000006b050000002d444e3d31dc455330d544ac5f0bd9eb701aab
    0eef01000000010000006b000000000000000033000000000000002a00000000
    0000009b00000000000000a90264d0117a6a6f7627af02f6106ce5696a3b2bb6
    41cf98e11af9965e979f7e04000000000000000d00000000000000066a2d2d4c
    a55cb215ec5075bb694bf4330000000000000001000000500200000050560a00
    00004f70656e434c20332e3001000000440200000044560c0000004f70656e43
    4c20332e30204403000000312e300c0000004f70656e434c204320312e324000
    00006d00000000000000a90264d0117a6a6f7627af02f6106ce5696a3b2bb641
    cf98e11af9965e979f7e010000006b0200000040000000000000000400000000
    0000000100000000000000100000000000000002000000000000000100000000
    000000dc05000000000000c40900000000000000000000000000000000000000
    28b52ffd202a5101006b65726e656c20766f6964206b28676c6f62616c20696e
    742a206129207b20615b305d203d20313b207d28b52ffd20042100007f42494e";

#[test]
fn writer_output_is_pinned() {
    let bytes = golden_writer();
    let lines: Vec<String> = bytes.chunks(32).map(hex).collect();
    assert_eq!(FORMAT_MINOR, 1, "a new minor version needs a new golden bundle next to GOLDEN_1_1");
    assert_eq!(
        hex(&bytes),
        hex(&unhex(GOLDEN_1_1)),
        "format bytes changed: read the comment at the top of golden.rs. New value:\n{}",
        lines.join("\n")
    );
    assert_eq!(
        FORMAT_MAJOR, 1,
        "a new major version needs a new golden bundle"
    );
}

#[test]
fn golden_bytes_still_parse() {
    let bytes = unhex(GOLDEN);
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.len(), bytes.len());
    let (i, p) = b.program("k").unwrap();
    assert_eq!(
        (i, p.options, p.kernels.as_slice()),
        (0, "-DN=1", &["k"][..])
    );
    assert_eq!(p.source().unwrap(), SOURCE);
    let e = b.find_binary(0, &golden_fp().hash()).unwrap();
    assert_eq!(e.fingerprint().unwrap(), golden_fp());
    assert_eq!(e.decompress().unwrap(), BINARY);
    assert_eq!(e.checksum, Hash128::of(BINARY));
    assert_eq!(e.program_key, p.key());
}

#[test]
fn golden_1_0_has_no_tuning_table() {
    let bytes = unhex(GOLDEN);
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.header().minor, 0);
    assert!(b.tunings().is_empty());
}

#[test]
fn golden_1_1_bytes_parse() {
    let bytes = unhex(GOLDEN_1_1);
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!((b.header().minor, b.header().tuning_count), (1, 1));
    let (i, p) = b.program("k").unwrap();
    assert_eq!(p.source().unwrap(), SOURCE);
    assert_eq!(b.find_binary(i, &golden_fp().hash()).unwrap().decompress().unwrap(), BINARY);
    let t = b.tunings_for(i, &golden_fp().hash());
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].kernel, t[0].global(), t[0].local()), ("k", &[64, 4][..], Some(&[16, 2][..])));
    assert_eq!((t[0].best_ns, t[0].default_ns, t[0].program_key), (1500, 2500, p.key()));
    assert_eq!(t[0].to_launch(), golden_launch());
}
