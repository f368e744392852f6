//! Golden bytes: a tiny bundle of every kind of record whose exact bytes are pinned, region
//! by region, and the header's field offsets.
//!
//! If `writer_output_is_pinned` fails, the bytes a writer produces changed. The message
//! names the regions that differ and prints the new value. Then:
//! - if the format changed (a field added, moved, resized, re-encoded), bump
//!   `FORMAT_MINOR` when old readers can still read the new bytes (fields appended at
//!   the end of records or of the header, new regions) or `FORMAT_MAJOR` when they cannot,
//!   add a new golden constant next to `GOLDEN_2_0` and keep `GOLDEN_2_0` as it is;
//! - if only the payload region differs (a new zstd version compresses differently) and
//!   `golden_2_0_bytes_parse` passes, nothing is wrong with the format: update `GOLDEN_2_0`;
//! - if only the program key differs (the 16 bytes after the options in the program table,
//!   and again in the binary and tuning records), `clc::key::token_hash` changed: every
//!   binary baked before is stale from now on (it still parses, but no longer matches).
//!   Update `GOLDEN_2_0` if that is intended.
//!
//! `golden_2_0_bytes_parse` must never be changed while `FORMAT_MAJOR` stays 2: bundles
//! written by earlier versions of clbake 2.x must stay readable. The bundles of format 1
//! (`GOLDEN_1_0`, `GOLDEN_1_1`, written by clbake 0.1) stay as they are: they must be
//! refused with a message that says to bake them again.

use super::*;
use crate::format::{
    scan, ArgValue, FormatError, OutputDigest, ParamEntry, CHECKSUMS_OFFSET, FORMAT_MAJOR, FORMAT_MINOR, HEADER_LEN, MAGIC,
};
use crate::hash::program_key_of_source;

const NAME: &str = "dir/k_v";
const OPTIONS: &str = "-DV=1";
const SOURCE: &str = "kernel void k(global const float* restrict a, float s) { }";
const BINARY: &[u8] = b"\x7fBIN";

fn golden_fp() -> Fingerprint {
    Fingerprint::from_parts(
        ["P", "PV", "OpenCL 3.0", "D", "DV", "OpenCL 3.0 D", "1.0", "OpenCL C 1.2", "x86_64/64", "libD.so size=1 build-id=ab"]
            .map(String::from),
        64,
    )
}

fn golden_kernel() -> KernelRecord {
    KernelRecord {
        name: "k".into(),
        origin: SignatureOrigin::Driver,
        note: String::new(),
        reqd_work_group_size: Some([16, 2, 1]),
        params: vec![
            param(
                "a",
                AddressQualifier::Global,
                AccessQualifier::None,
                "float*",
                TypeQualifiers(TypeQualifiers::CONST.0 | TypeQualifiers::RESTRICT.0),
            ),
            param("s", AddressQualifier::Private, AccessQualifier::None, "float", TypeQualifiers::NONE),
        ],
    }
}

fn golden_answer() -> KnownAnswer {
    KnownAnswer {
        kernel: "k".into(),
        global: vec![64, 4],
        local: None,
        args: vec![ArgValue::Int(256), ArgValue::Float(-2.5)],
        tolerance: 0.25,
        seed: 42,
        outputs: vec![OutputDigest { param: 0, bytes: 1024, hash: Hash128([0xab; 16]), samples: vec![1, 2, 3, 4] }],
    }
}

fn golden_launch() -> TunedLaunch {
    TunedLaunch { kernel: "k".into(), global: vec![64, 4], local: Some(vec![16, 2]), best_ns: 1500, default_ns: 2500 }
}

fn golden_writer() -> Vec<u8> {
    let mut w = BundleWriter::new().with_level(3).with_info("clbake golden");
    let spec = ProgramSpec { name: NAME, stem: "dir/k", variant: "v", options: OPTIONS, source: SOURCE, kernels: vec![golden_kernel()] };
    let p = w.add_program(&spec);
    w.add_binary(p, &golden_fp(), BINARY, &[golden_answer()]);
    w.add_tuning(p, golden_fp().hash(), golden_launch());
    w.to_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The regions of a bundle in file order, as its header places them (all of its bytes).
fn regions(bytes: &[u8]) -> Vec<(&'static str, &[u8])> {
    let h = Header::decode(bytes).unwrap();
    let at = |off: u64, len: u64| (off as usize, (off + len) as usize);
    let parts = [
        ("header", (0, h.header_size as usize)),
        ("info", at(h.info_offset, h.info_len)),
        ("program table", at(h.program_table_offset, h.program_table_len)),
        ("binary table", at(h.binary_table_offset, h.binary_table_len)),
        ("tuning table", at(h.tuning_table_offset, h.tuning_table_len)),
        ("padding", (h.tuning_table_offset as usize + h.tuning_table_len as usize, h.payload_offset as usize)),
        ("payload", at(h.payload_offset, h.payload_len)),
        ("tail padding", ((h.payload_offset + h.payload_len) as usize, h.total_len as usize)),
    ];
    let mut end = 0;
    for (name, (start, stop)) in parts {
        assert_eq!(start, end, "{name} follows the region before it");
        end = stop;
    }
    assert_eq!(end, bytes.len());
    parts.into_iter().map(|(name, (start, stop))| (name, &bytes[start..stop])).collect()
}

/// Format 2.0, region by region, 32 bytes a line.
const GOLDEN_2_0: &[(&str, &str)] = &[
    (
        "header",
        "
        434c42414b450d0a02000000b000000000000000010000000100000001000000
        b0000000000000001100000000000000c100000000000000b100000000000000
        72010000000000005501000000000000c7020000000000007100000000000000
        4003000000000000500000000000000090030000000000000000000000000000
        ab8dbc1643b1f8e41e24d1a2550c03adc2ced9dd6e936f847b4a1afe8b92a8cf
        fa29a069e1b438e5593afeba49c6c893",
    ),
    ("info", "0d000000636c62616b6520676f6c64656e"),
    (
        "program table",
        "
        ad000000070000006469722f6b5f76050000006469722f6b0100000076050000
        002d44563d31e734eead3b886e9faef04a900f93fc1439ff1cc3f1a77fb09986
        e2c9b83ace1c000000000000000043000000000000003a000000000000000100
        0000010000006b02000000001000000002000000010000000200000001000000
        619b110000a31100000300000006000000666c6f61742a01000000739e110000
        a31100000000000005000000666c6f6174",
    ),
    (
        "binary table",
        "
        5101000000000000e734eead3b886e9faef04a900f93fc1422b677ca7a223fe7
        55518475f066087c04000000000000000d00000000000000066a2d2d4ca55cb2
        15ec5075bb694bf4430000000000000001000000500200000050560a0000004f
        70656e434c20332e3001000000440200000044560c0000004f70656e434c2033
        2e30204403000000312e300c0000004f70656e434c204320312e320900000078
        38365f36342f36341a0000006c6962442e736f2073697a653d31206275696c64
        2d69643d6162400000000100000083000000010000006b020000004000000000
        0000000400000000000000010000000000000000000000000000000000000000
        0000000000000000000000020000000000010000000000000100000000000004
        c00000803e2a0000000000000001000000000000000004000000000000ababab
        ababababababababababababab0400000001020304",
    ),
    (
        "tuning table",
        "
        6d00000000000000e734eead3b886e9faef04a900f93fc1422b677ca7a223fe7
        55518475f066087c010000006b02000000400000000000000004000000000000
        0001000000000000001000000000000000020000000000000001000000000000
        00dc05000000000000c409000000000000",
    ),
    ("padding", "0000000000000000"),
    (
        "payload",
        "
        28b52ffd203ad101006b65726e656c20766f6964206b28676c6f62616c20636f
        6e737420666c6f61742a20726573747269637420612c20666c6f617420732920
        7b207d28b52ffd20042100007f42494e",
    ),
    ("tail padding", ""),
];

fn golden_2_0() -> Vec<u8> {
    GOLDEN_2_0.iter().flat_map(|(_, h)| unhex(h)).collect()
}

#[test]
fn writer_output_is_pinned() {
    assert_eq!((FORMAT_MAJOR, FORMAT_MINOR), (2, 0), "a new version needs a new golden bundle next to GOLDEN_2_0");
    let bytes = golden_writer();
    let found = regions(&bytes);
    let differ: Vec<&str> = found
        .iter()
        .zip(GOLDEN_2_0)
        .filter(|((name, b), (gname, g))| name != gname || hex(b) != hex(&unhex(g)))
        .map(|((name, _), _)| *name)
        .collect();
    let new_value: String = found
        .iter()
        .map(|(name, b)| {
            let lines: Vec<String> = b.chunks(32).map(|c| format!("        {}", hex(c))).collect();
            format!("    (\n        {name:?},\n        \"\n{}\",\n    ),\n", lines.join("\n"))
        })
        .collect();
    assert!(differ.is_empty(), "format bytes changed in {differ:?}: read the comment at the top of golden.rs. New value:\n{new_value}");
    assert_eq!(bytes, golden_2_0());
}

#[test]
fn golden_2_0_bytes_parse() {
    let bytes = golden_2_0();
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.len(), bytes.len());
    assert!(b.damage().is_empty(), "{:?}", b.damage());
    let h = b.header();
    assert_eq!((h.major, h.minor, h.header_size, h.flags), (2, 0, HEADER_LEN as u32, 0));
    assert_eq!((h.program_count, h.binary_count, h.tuning_count), (1, 1, 1));
    assert_eq!(b.info(), "clbake golden");

    let (i, p) = b.program(NAME).unwrap();
    assert_eq!((i, p.name, p.stem, p.variant, p.options), (0, NAME, "dir/k", "v", OPTIONS));
    assert_eq!(p.key(), program_key_of_source(NAME, OPTIONS, SOURCE));
    assert_eq!(p.source_hash, Hash128::of(SOURCE.as_bytes()));
    assert_eq!(p.source().unwrap(), SOURCE);
    assert_eq!(p.kernels.len(), 1);
    let (_, k) = p.kernel("k").unwrap();
    assert_eq!(k.to_record(), golden_kernel());
    assert_eq!(
        k.params[0],
        ParamEntry {
            name: "a",
            address: AddressQualifier::Global,
            access: AccessQualifier::None,
            type_qualifiers: TypeQualifiers(3),
            type_name: "float*"
        }
    );

    let e = b.find_binary(i, &golden_fp().hash()).unwrap();
    assert_eq!(e.fingerprint().unwrap(), golden_fp());
    assert_eq!(e.decompress().unwrap(), BINARY);
    assert_eq!(e.checksum, Hash128::of(BINARY));
    assert_eq!(e.program_key, p.key());
    assert_eq!(e.checks().unwrap(), vec![golden_answer()]);

    let t = b.tunings_for(i, &golden_fp().hash());
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].kernel, t[0].global(), t[0].local()), ("k", &[64, 4][..], Some(&[16, 2][..])));
    assert_eq!((t[0].best_ns, t[0].default_ns, t[0].program_key), (1500, 2500, p.key()));
    assert_eq!(t[0].to_launch(), golden_launch());
}

#[test]
fn header_field_offsets_are_pinned() {
    assert_eq!((HEADER_LEN, CHECKSUMS_OFFSET, MAGIC), (176, 128, *b"CLBAKE\r\n"));
    let h = Header {
        magic: MAGIC,
        major: 0x0102,
        minor: 0x0304,
        header_size: 0x0506_0708,
        flags: 0x090a_0b0c,
        program_count: 0x1001,
        binary_count: 0x1002,
        tuning_count: 0x1003,
        info_offset: 0x2001,
        info_len: 0x2002,
        program_table_offset: 0x2003,
        program_table_len: 0x2004,
        binary_table_offset: 0x2005,
        binary_table_len: 0x2006,
        tuning_table_offset: 0x2007,
        tuning_table_len: 0x2008,
        payload_offset: 0x2009,
        payload_len: 0x200a,
        total_len: 0x200b,
        reserved: 0x200c,
        core_checksum: Hash128([0xc1; 16]),
        binary_checksum: Hash128([0xc2; 16]),
        tuning_checksum: Hash128([0xc3; 16]),
    };
    let b = h.encode();
    let le = |v: u64, n: usize| v.to_le_bytes()[..n].to_vec();
    let fields: [(&str, usize, Vec<u8>); 23] = [
        ("magic", 0, MAGIC.to_vec()),
        ("major", 8, le(0x0102, 2)),
        ("minor", 10, le(0x0304, 2)),
        ("header_size", 12, le(0x0506_0708, 4)),
        ("flags", 16, le(0x090a_0b0c, 4)),
        ("program_count", 20, le(0x1001, 4)),
        ("binary_count", 24, le(0x1002, 4)),
        ("tuning_count", 28, le(0x1003, 4)),
        ("info_offset", 32, le(0x2001, 8)),
        ("info_len", 40, le(0x2002, 8)),
        ("program_table_offset", 48, le(0x2003, 8)),
        ("program_table_len", 56, le(0x2004, 8)),
        ("binary_table_offset", 64, le(0x2005, 8)),
        ("binary_table_len", 72, le(0x2006, 8)),
        ("tuning_table_offset", 80, le(0x2007, 8)),
        ("tuning_table_len", 88, le(0x2008, 8)),
        ("payload_offset", 96, le(0x2009, 8)),
        ("payload_len", 104, le(0x200a, 8)),
        ("total_len", 112, le(0x200b, 8)),
        ("reserved", 120, le(0x200c, 8)),
        ("core_checksum", 128, vec![0xc1; 16]),
        ("binary_checksum", 144, vec![0xc2; 16]),
        ("tuning_checksum", 160, vec![0xc3; 16]),
    ];
    let mut end = 0;
    for (name, at, value) in &fields {
        assert_eq!(*at, end, "{name} follows the field before it");
        assert_eq!(&b[*at..at + value.len()], &value[..], "{name} at {at}");
        end = at + value.len();
    }
    assert_eq!(end, HEADER_LEN);

    // The golden bundle's header holds the offsets of its regions where they are.
    let bytes = golden_2_0();
    let h = Header::decode(&bytes).unwrap();
    assert_eq!((h.info_offset, h.payload_offset % 16, h.total_len), (HEADER_LEN as u64, 0, bytes.len() as u64));
    assert_eq!(&bytes[12..16], &176u32.to_le_bytes());
}

/// Format 1.0 (clbake 0.1, no tuning table): a 128-byte header and one table checksum.
const GOLDEN_1_0: &str = "
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

/// Format 1.1 (clbake 0.1): `GOLDEN_1_0` plus one tuning record.
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
fn format_1_bundles_are_refused_with_the_fix() {
    for (golden, minor) in [(GOLDEN_1_0, 0), (GOLDEN_1_1, 1)] {
        let bytes = unhex(golden);
        let e = Bundle::parse(&bytes).unwrap_err();
        assert!(
            matches!(e, FormatError::UnsupportedVersion { what: "bundle", major: 1, minor: m, supported: "2.x" } if m == minor),
            "{e:?}"
        );
        assert!(e.is_version() && e.may_fall_back());
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("bundle format 1.{minor} is not supported (this clbake reads 2.x)")), "{msg}");
        assert!(msg.contains("bake it again once"), "{msg}");
        // Found by a scan too, with the same answer (and the scan goes on after it).
        assert!(matches!(&scan(&bytes)[..], [(0, Err(e))] if e.is_version()));
    }
}
