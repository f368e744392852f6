//! One test per error variant (and per class of `Corrupted`), each from a minimal edit of
//! a valid bundle. Edits of the header or tables are resealed (checksums recomputed) so
//! that they reach the check under test.
//!
//! Errors in the core (header, info, program table) fail the parse; errors in the binary
//! table only empty it and are reported by [`Bundle::damage`] (see [`damage_of`]); errors
//! in a payload surface when that payload is decompressed.

use super::*;
use crate::format::{FormatError, MAX_UNCOMPRESSED};

fn parse_err(bytes: &[u8]) -> FormatError {
    let err = Bundle::parse(bytes).expect_err("parse should fail");
    assert!(err.may_fall_back());
    assert!(!err.to_string().is_empty());
    err
}

fn corrupted(bytes: &[u8]) -> (&'static str, String) {
    match parse_err(bytes) {
        FormatError::Corrupted { what, detail } => (what, detail),
        other => panic!("expected Corrupted, got {other:?}"),
    }
}

/// The damage message of a bundle whose binary table is damaged.
fn binary_damage(bytes: &[u8]) -> String {
    damage_of(bytes, Table::Binaries)
}

#[test]
fn bad_magic() {
    let mut b = sample_bundle();
    b[0] = b'X';
    assert!(matches!(parse_err(&b), FormatError::BadMagic { what: "bundle", found } if &found[1..] == b"LBAKE\r\n"));
    // A text-mode transfer that turns CR LF into LF breaks the magic.
    let mut b = sample_bundle();
    b.remove(6);
    assert!(matches!(parse_err(&b), FormatError::BadMagic { .. }));
}

#[test]
fn unsupported_version() {
    let mut b = sample_bundle();
    b[8..10].copy_from_slice(&1u16.to_le_bytes());
    let e = parse_err(&b);
    assert!(
        matches!(e, FormatError::UnsupportedVersion { what: "bundle", major: 1, minor, supported: "2.x" } if minor == crate::format::FORMAT_MINOR),
        "{e:?}"
    );
    assert!(e.is_version() && e.to_string().contains("bake it again once"), "{e}");
    b[8..10].copy_from_slice(&3u16.to_le_bytes());
    let e = parse_err(&b);
    assert!(matches!(e, FormatError::UnsupportedVersion { major: 3, .. }) && e.to_string().contains("newer clbake"), "{e}");
    b[8..10].copy_from_slice(&0u16.to_le_bytes());
    assert!(matches!(parse_err(&b), FormatError::UnsupportedVersion { major: 0, .. }));
}

#[test]
fn truncated() {
    let b = sample_bundle();
    assert!(matches!(parse_err(&b[..4]), FormatError::Truncated { what: "magic", .. }));
    assert!(matches!(parse_err(&b[..10]), FormatError::Truncated { what: "version", .. }));
    assert!(matches!(parse_err(&b[..64]), FormatError::Truncated { what: "header", needed: 176, available: 64, .. }));
    assert!(matches!(parse_err(&b[..200]), FormatError::Truncated { what: "header and tables", available: 200, .. }));
    let n = b.len() - 1;
    assert!(matches!(parse_err(&b[..n]), FormatError::Truncated { what: "bundle", .. }));
    // A record whose length field points past the end of its table.
    let mut b = sample_bundle();
    let rec = program_records(&b)[0];
    put_u32(&mut b, rec, 100_000);
    reseal(&mut b);
    assert!(matches!(parse_err(&b), FormatError::Truncated { what: "program record", needed: 100_000, .. }));
    // The same in the binary table costs the binaries only.
    let mut b = sample_bundle();
    let rec = binary_records(&b)[0];
    put_u32(&mut b, rec, 100_000);
    reseal(&mut b);
    assert!(binary_damage(&b).starts_with("truncated binary record"), "{}", binary_damage(&b));
}

#[test]
fn checksum_mismatch_in_the_core() {
    let mut b = sample_bundle();
    let rec = program_records(&b)[0];
    b[rec + 8] ^= 1; // a letter of the program name
    match parse_err(&b) {
        FormatError::ChecksumMismatch { what: "header and program table", expected, found } => assert_ne!(expected, found),
        other => panic!("{other:?}"),
    }
    let mut b = sample_bundle();
    b[20] ^= 1; // program_count, in the header
    assert!(matches!(parse_err(&b), FormatError::ChecksumMismatch { what: "header and program table", .. }));
    let mut b = sample_bundle();
    b[180] ^= 1; // the info string
    assert!(matches!(parse_err(&b), FormatError::ChecksumMismatch { what: "header and program table", .. }));
}

#[test]
fn checksum_mismatch_in_the_binary_table_costs_only_the_binaries() {
    let good = sample_bundle();
    let mut b = good.clone();
    let rec = binary_records(&b)[0];
    b[rec + 84] ^= 1; // a letter of the fingerprint's platform name
    let msg = binary_damage(&b);
    assert!(msg.starts_with("checksum mismatch in binary table"), "{msg}");
    // The same for damage to the stored checksum itself.
    let mut b = good.clone();
    b[150] ^= 1;
    assert!(binary_damage(&b).starts_with("checksum mismatch in binary table"));
    // Programs are as they were; the bundle still says which table is missing.
    let parsed = Bundle::parse(&b).unwrap();
    let intact = Bundle::parse(&good).unwrap();
    assert_eq!(parsed.programs(), intact.programs());
    assert_eq!(parsed.damage()[0].0.to_string(), "binary table");
    assert!(intact.damage().is_empty());
}

#[test]
fn checksum_mismatch_in_binary_and_source() {
    let mut b = sample_bundle();
    let rec = binary_records(&b)[0];
    b[rec + 56] ^= 1; // the stored checksum of the uncompressed binary
    reseal(&mut b);
    let bundle = Bundle::parse(&b).unwrap();
    assert!(matches!(bundle.binaries()[0].decompress(), Err(FormatError::ChecksumMismatch { what: "binary", .. })));
    assert!(bundle.binaries()[1].decompress().is_ok(), "other binaries are unaffected");

    let mut w = BundleWriter::new();
    w.add_program(&ProgramSpec::simple("p", "", &[], "kernel void k() {}"));
    let mut b = w.to_bytes();
    let rec = program_records(&b)[0];
    let at = field_at(&b, rec, &Hash128::of(b"kernel void k() {}").0); // source_hash
    b[at] ^= 1;
    reseal(&mut b);
    let bundle = Bundle::parse(&b).unwrap();
    assert!(matches!(bundle.programs()[0].source(), Err(FormatError::ChecksumMismatch { what: "program source", .. })));
}

#[test]
fn decompress_error_on_damaged_payload() {
    let mut b = sample_bundle();
    let bundle = Bundle::parse(&b).unwrap();
    let e = &bundle.binaries()[1];
    let start = (bundle.header().payload_offset + e.payload_offset) as usize;
    let range = start..start + e.compressed().len();
    b[range].fill(0xEE); // not a zstd frame any more; payloads are in no table checksum
    let bundle = Bundle::parse(&b).unwrap();
    assert!(bundle.damage().is_empty());
    assert!(matches!(bundle.binaries()[1].decompress(), Err(FormatError::Decompress { what: "binary", .. })));
    assert!(bundle.binaries()[0].decompress().is_ok(), "other entries are unaffected");

    let mut b = sample_bundle();
    let bundle = Bundle::parse(&b).unwrap();
    let p = &bundle.programs()[1];
    let range = (bundle.header().payload_offset + p.source_offset) as usize
        ..(bundle.header().payload_offset + p.source_offset + p.source_compressed_len) as usize;
    b[range].fill(0xEE);
    let bundle = Bundle::parse(&b).unwrap();
    assert!(matches!(bundle.programs()[1].source(), Err(FormatError::Decompress { what: "program source", .. })));
    assert_eq!(bundle.programs()[0].source().unwrap(), SRC_ADD, "other programs are unaffected");
}

#[test]
fn decompress_error_when_stored_size_is_too_small() {
    let mut b = sample_bundle();
    let rec = binary_records(&b)[0];
    put_u64(&mut b, rec + 40, 10);
    reseal(&mut b);
    let bundle = Bundle::parse(&b).unwrap();
    assert!(matches!(bundle.binaries()[0].decompress(), Err(FormatError::Decompress { .. })));
}

#[test]
fn length_mismatch() {
    let mut b = sample_bundle();
    let rec = binary_records(&b)[0];
    let real = u64::from_le_bytes(b[rec + 40..rec + 48].try_into().unwrap());
    put_u64(&mut b, rec + 40, real + 1);
    reseal(&mut b);
    let bundle = Bundle::parse(&b).unwrap();
    match bundle.binaries()[0].decompress() {
        Err(FormatError::LengthMismatch { what: "binary", expected, found }) => assert_eq!((expected, found), (real + 1, real)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_large_counts_and_sizes() {
    let mut b = sample_bundle();
    put_u32(&mut b, 20, 1_000); // program_count
    reseal(&mut b);
    assert!(matches!(parse_err(&b), FormatError::TooLarge { what: "program count", .. }));

    let mut b = sample_bundle();
    let rec = program_records(&b)[1]; // "relu": after the source_len, the kernel_count
    let at = field_at(&b, rec, &(SRC_RELU.len() as u64).to_le_bytes()) + 8;
    assert_eq!(&b[at..at + 4], &2u32.to_le_bytes());
    put_u32(&mut b, at, 1 << 30);
    reseal(&mut b);
    assert!(matches!(parse_err(&b), FormatError::TooLarge { what: "kernel count", .. }));

    let mut b = sample_bundle();
    let at = field_at(&b, program_records(&b)[1], &(SRC_RELU.len() as u64).to_le_bytes());
    put_u64(&mut b, at, MAX_UNCOMPRESSED + 1); // source_len
    reseal(&mut b);
    assert!(matches!(parse_err(&b), FormatError::TooLarge { what: "program source", limit: MAX_UNCOMPRESSED, .. }));

    // Counts and sizes of the binary table cost the binaries only.
    let mut b = sample_bundle();
    put_u32(&mut b, 24, u32::MAX); // binary_count
    reseal(&mut b);
    assert!(binary_damage(&b).starts_with("binary count is too large: 4294967295"), "{}", binary_damage(&b));

    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 40;
    put_u64(&mut b, at, MAX_UNCOMPRESSED + 1);
    reseal(&mut b);
    assert!(binary_damage(&b).starts_with("binary is too large"), "{}", binary_damage(&b));
}

#[test]
fn outdated_entry_is_refused_when_merging() {
    let src = sample_bundle();
    let a = Bundle::parse(&src).unwrap();
    let mut w = BundleWriter::new();
    let p = w.add_program(&ProgramSpec { source: "kernel void add() { /* v2 */ }", ..add_spec() });
    match w.add_binary_entry(p, &a.binaries()[0]) {
        Err(FormatError::Outdated { what: "binary entry", expected, found }) => {
            assert_eq!(found, a.programs()[0].key());
            assert_ne!(expected, found);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_such_program_when_merging() {
    let src = sample_bundle();
    let a = Bundle::parse(&src).unwrap();
    let mut w = BundleWriter::new();
    assert!(matches!(w.add_binary_entry(3, &a.binaries()[0]), Err(FormatError::NoSuchProgram { index: 3, count: 0 })));
}

#[test]
fn corrupted_program_index_and_key() {
    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 4;
    put_u32(&mut b, at, 7);
    reseal(&mut b);
    let msg = binary_damage(&b);
    assert!(msg.starts_with("corrupted binary record") && msg.contains("program 7 of 2"), "{msg}");

    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 8;
    b[at] ^= 1;
    reseal(&mut b);
    let msg = binary_damage(&b);
    assert!(msg.starts_with("corrupted binary record") && msg.contains("program key"), "{msg}");
}

#[test]
fn corrupted_fingerprint_hash() {
    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 24;
    b[at] ^= 1;
    reseal(&mut b);
    assert!(binary_damage(&b).starts_with("corrupted binary fingerprint"), "{}", binary_damage(&b));
}

#[test]
fn corrupted_known_answers() {
    // The relu binary (the last record) holds a known answer with tolerance 0.0: make it
    // negative, which no writer produces.
    let mut b = sample_bundle();
    let rec = *binary_records(&b).last().unwrap();
    let at = field_at(&b, rec, &7u64.to_le_bytes()) - 4; // the tolerance precedes the seed
    assert_eq!(&b[at..at + 4], &0f32.to_bits().to_le_bytes());
    put_u32(&mut b, at, (-1f32).to_bits());
    reseal(&mut b);
    assert!(binary_damage(&b).starts_with("corrupted known answer"), "{}", binary_damage(&b));
}

#[test]
fn corrupted_utf8_in_strings() {
    let mut b = sample_bundle();
    let at = program_records(&b)[0] + 8;
    b[at] = 0xff; // first byte of the name "add"
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "program name");
}

#[test]
fn corrupted_payload_range() {
    let mut b = sample_bundle();
    let h = Header::decode(&b).unwrap();
    let at = binary_records(&b)[0] + 72;
    put_u64(&mut b, at, h.payload_len - 2);
    reseal(&mut b);
    assert!(binary_damage(&b).starts_with("corrupted binary payload"), "{}", binary_damage(&b));

    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 72;
    put_u64(&mut b, at, u64::MAX);
    reseal(&mut b);
    assert!(binary_damage(&b).starts_with("corrupted binary payload"));

    // A source outside the payload region is a damaged core.
    let mut b = sample_bundle();
    let rec = program_records(&b)[1];
    let at = field_at(&b, rec, &Hash128::of(SRC_RELU.as_bytes()).0) + 16; // source_offset
    put_u64(&mut b, at, u64::MAX);
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "program source");
}

#[test]
fn corrupted_order_and_duplicates() {
    let mut b = sample_bundle();
    let recs = binary_records(&b);
    // Records 0 and 1 have the same length (same program, same-length fingerprints): swap them.
    let (r0, r1) = (recs[0], recs[1]);
    let len = r1 - r0;
    assert_eq!(recs[2] - r1, len);
    let first = b[r0..r1].to_vec();
    b.copy_within(r1..r1 + len, r0);
    b[r1..r1 + len].copy_from_slice(&first);
    reseal(&mut b);
    let msg = binary_damage(&b);
    assert!(msg.starts_with("corrupted binary table") && msg.contains("out of order"), "{msg}");
    // A duplicate: record 1 replaced by a copy of record 0.
    let mut b = sample_bundle();
    b.copy_within(r0..r1, r1);
    reseal(&mut b);
    assert!(binary_damage(&b).starts_with("corrupted binary table"));
}

#[test]
fn corrupted_layout_and_leftovers() {
    let mut b = sample_bundle();
    let total = Header::decode(&b).unwrap().total_len;
    put_u64(&mut b, 112, total - 8); // total_len not a multiple of 16
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "header");

    // The program table inside the header: refused before any checksum (seal refuses too).
    let mut b = sample_bundle();
    put_u64(&mut b, 48, 64);
    assert!(seal(&mut b).is_err());
    let (what, detail) = corrupted(&b);
    assert!(what == "header" && detail.contains("does not follow"), "{what}: {detail}");

    // The binary table overlapping the program table: the layout is part of the core.
    let mut b = sample_bundle();
    let h = Header::decode(&b).unwrap();
    put_u64(&mut b, 64, h.binary_table_offset - 1);
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "binary table");

    let mut b = sample_bundle();
    put_u32(&mut b, 12, 64); // header_size below 176
    assert!(seal(&mut b).is_err());
    assert_eq!(corrupted(&b).0, "header");

    // One binary record fewer than the table holds: leftovers cost the binaries.
    let mut b = sample_bundle();
    put_u32(&mut b, 24, 3);
    reseal(&mut b);
    let msg = binary_damage(&b);
    assert!(msg.starts_with("corrupted binary table") && msg.contains("unexpected bytes"), "{msg}");

    // The same in the program table fails the parse.
    let mut b = sample_bundle();
    put_u32(&mut b, 20, 1);
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "program table");
}

#[test]
fn every_error_may_fall_back() {
    let errs = [
        FormatError::BadMagic { what: "bundle", found: [0; 8] },
        FormatError::UnsupportedVersion { what: "bundle", major: 9, minor: 0, supported: "2.x" },
        FormatError::Truncated { what: "x", offset: 0, needed: 1, available: 0 },
        FormatError::Corrupted { what: "x", detail: String::new() },
        FormatError::ChecksumMismatch { what: "x", expected: Hash128::default(), found: Hash128::default() },
        FormatError::Decompress { what: "x", source: std::io::Error::other("x") },
        FormatError::LengthMismatch { what: "x", expected: 1, found: 2 },
        FormatError::TooLarge { what: "x", value: 2, limit: 1 },
        FormatError::Outdated { what: "x", expected: Hash128::default(), found: Hash128::default() },
        FormatError::NoSuchProgram { index: 1, count: 0 },
    ];
    for e in errs {
        assert!(e.may_fall_back(), "{e}");
        assert_eq!(e.is_version(), matches!(e, FormatError::UnsupportedVersion { .. }));
    }
}
