//! One test per error variant (and per class of `Corrupted`), each from a minimal edit of
//! a valid bundle. Edits of the header or tables are resealed (checksum recomputed) so
//! that they reach the check under test.

use super::*;
use crate::format::{Bundle, FormatError, MAX_UNCOMPRESSED};
use crate::hash::Hash128;

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

#[test]
fn bad_magic() {
    let mut b = sample_bundle();
    b[0] = b'X';
    assert!(
        matches!(parse_err(&b), FormatError::BadMagic { found } if &found[1..] == b"LBAKE\r\n")
    );
    // A text-mode transfer that turns CR LF into LF breaks the magic.
    let mut b = sample_bundle();
    b.remove(6);
    assert!(matches!(parse_err(&b), FormatError::BadMagic { .. }));
}

#[test]
fn unsupported_version() {
    let mut b = sample_bundle();
    b[8..10].copy_from_slice(&2u16.to_le_bytes());
    assert!(matches!(
        parse_err(&b),
        FormatError::UnsupportedVersion { major: 2, minor } if minor == crate::format::FORMAT_MINOR
    ));
    b[8..10].copy_from_slice(&0u16.to_le_bytes());
    assert!(matches!(
        parse_err(&b),
        FormatError::UnsupportedVersion { major: 0, .. }
    ));
}

#[test]
fn truncated() {
    let b = sample_bundle();
    assert!(matches!(
        parse_err(&b[..4]),
        FormatError::Truncated { what: "magic", .. }
    ));
    assert!(matches!(
        parse_err(&b[..64]),
        FormatError::Truncated {
            what: "header",
            needed: 128,
            available: 64,
            ..
        }
    ));
    assert!(matches!(
        parse_err(&b[..150]),
        FormatError::Truncated {
            what: "header and tables",
            available: 150,
            ..
        }
    ));
    let n = b.len() - 1;
    assert!(matches!(
        parse_err(&b[..n]),
        FormatError::Truncated { what: "bundle", .. }
    ));
    // A record whose length field points past the end of its table.
    let mut b = sample_bundle();
    let rec = program_records(&b)[0];
    put_u32(&mut b, rec, 100_000);
    reseal(&mut b);
    assert!(matches!(
        parse_err(&b),
        FormatError::Truncated {
            what: "program record",
            needed: 100_000,
            ..
        }
    ));
}

#[test]
fn checksum_mismatch_in_tables() {
    let mut b = sample_bundle();
    let rec = binary_records(&b)[0];
    b[rec + 80 + 4] ^= 1; // a letter of the fingerprint's platform name
    match parse_err(&b) {
        FormatError::ChecksumMismatch {
            what: "header and tables",
            expected,
            found,
        } => assert_ne!(expected, found),
        other => panic!("{other:?}"),
    }
}

#[test]
fn checksum_mismatch_in_binary_and_source() {
    let mut b = sample_bundle();
    let rec = binary_records(&b)[0];
    b[rec + 56] ^= 1; // the stored checksum of the uncompressed binary
    reseal(&mut b);
    let bundle = Bundle::parse(&b).unwrap();
    assert!(matches!(
        bundle.binaries()[0].decompress(),
        Err(FormatError::ChecksumMismatch { what: "binary", .. })
    ));

    let mut w = BundleWriter::new();
    w.add_program("p", "", &[], "kernel void k() {}");
    let mut b = w.to_bytes();
    let rec = program_records(&b)[0];
    b[rec + 4 + 4 + 1 + 4] ^= 1; // first byte of source_hash (after name "p" and empty options)
    reseal(&mut b);
    let bundle = Bundle::parse(&b).unwrap();
    assert!(matches!(
        bundle.programs()[0].source(),
        Err(FormatError::ChecksumMismatch {
            what: "program source",
            ..
        })
    ));
}

#[test]
fn decompress_error_on_damaged_payload() {
    let mut b = sample_bundle();
    let bundle = Bundle::parse(&b).unwrap();
    let e = &bundle.binaries()[1];
    let start = (bundle.header().payload_offset + e.payload_offset) as usize;
    let range = start..start + e.compressed().len();
    b[range].fill(0xEE); // not a zstd frame any more; payloads are not in the table checksum
    let bundle = Bundle::parse(&b).unwrap();
    assert!(matches!(
        bundle.binaries()[1].decompress(),
        Err(FormatError::Decompress { what: "binary", .. })
    ));
    assert!(
        bundle.binaries()[0].decompress().is_ok(),
        "other entries are unaffected"
    );
}

#[test]
fn decompress_error_when_stored_size_is_too_small() {
    let mut b = sample_bundle();
    let rec = binary_records(&b)[0];
    put_u64(&mut b, rec + 40, 10);
    reseal(&mut b);
    let bundle = Bundle::parse(&b).unwrap();
    assert!(matches!(
        bundle.binaries()[0].decompress(),
        Err(FormatError::Decompress { .. })
    ));
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
        Err(FormatError::LengthMismatch {
            what: "binary",
            expected,
            found,
        }) => assert_eq!((expected, found), (real + 1, real)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_large_counts_and_sizes() {
    let mut b = sample_bundle();
    put_u32(&mut b, 24, u32::MAX); // binary_count
    reseal(&mut b);
    assert!(matches!(
        parse_err(&b),
        FormatError::TooLarge {
            what: "binary count",
            value: 0xffff_ffff,
            ..
        }
    ));

    let mut b = sample_bundle();
    put_u32(&mut b, 20, 1_000); // program_count
    reseal(&mut b);
    assert!(matches!(
        parse_err(&b),
        FormatError::TooLarge {
            what: "program count",
            ..
        }
    ));

    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 40;
    put_u64(&mut b, at, MAX_UNCOMPRESSED + 1);
    reseal(&mut b);
    assert!(matches!(
        parse_err(&b),
        FormatError::TooLarge {
            what: "binary",
            limit: MAX_UNCOMPRESSED,
            ..
        }
    ));

    let mut b = sample_bundle();
    let rec = program_records(&b)[1]; // "relu", options "", then hash, then kernel_count
    put_u32(&mut b, rec + 4 + 8 + 4 + 16, 1 << 30);
    reseal(&mut b);
    assert!(matches!(
        parse_err(&b),
        FormatError::TooLarge {
            what: "kernel count",
            ..
        }
    ));
}

#[test]
fn outdated_entry_is_refused_when_merging() {
    let src = sample_bundle();
    let a = Bundle::parse(&src).unwrap();
    let mut w = BundleWriter::new();
    let p = w.add_program(
        "add",
        "-cl-fast-relaxed-math",
        &["add".to_string()],
        "kernel void add() { /* v2 */ }",
    );
    match w.add_binary_entry(p, &a.binaries()[0]) {
        Err(FormatError::Outdated {
            what: "binary entry",
            expected,
            found,
        }) => {
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
    assert!(matches!(
        w.add_binary_entry(3, &a.binaries()[0]),
        Err(FormatError::NoSuchProgram { index: 3, count: 0 })
    ));
}

#[test]
fn corrupted_program_index_and_key() {
    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 4;
    put_u32(&mut b, at, 7);
    reseal(&mut b);
    let (what, detail) = corrupted(&b);
    assert_eq!(what, "binary record");
    assert!(detail.contains("program 7 of 2"), "{detail}");

    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 8;
    b[at] ^= 1;
    reseal(&mut b);
    let (what, detail) = corrupted(&b);
    assert_eq!(what, "binary record");
    assert!(detail.contains("program key"), "{detail}");
}

#[test]
fn corrupted_fingerprint_hash() {
    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 24;
    b[at] ^= 1;
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "binary fingerprint");
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
    assert_eq!(corrupted(&b).0, "binary payload");

    let mut b = sample_bundle();
    let at = binary_records(&b)[0] + 72;
    put_u64(&mut b, at, u64::MAX);
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "binary payload");
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
    assert_eq!(corrupted(&b).0, "binary table");
    // A duplicate: record 1 replaced by a copy of record 0.
    let mut b = sample_bundle();
    b.copy_within(r0..r1, r1);
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "binary table");
}

#[test]
fn corrupted_layout_and_leftovers() {
    let mut b = sample_bundle();
    let total = Header::decode(&b).unwrap().total_len;
    put_u64(&mut b, 96, total - 8); // not a multiple of 16
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "header");

    let mut b = sample_bundle();
    put_u64(&mut b, 32, 64); // program table inside the header
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "program table");

    let mut b = sample_bundle();
    put_u32(&mut b, 24, 3); // one binary record fewer than the table holds
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "binary table");

    let mut b = sample_bundle();
    put_u32(&mut b, 12, 64); // header_size below 128
    reseal(&mut b);
    assert_eq!(corrupted(&b).0, "header");
}

#[test]
fn every_error_may_fall_back() {
    let errs = [
        FormatError::BadMagic { found: [0; 8] },
        FormatError::UnsupportedVersion { major: 9, minor: 0 },
        FormatError::Truncated {
            what: "x",
            offset: 0,
            needed: 1,
            available: 0,
        },
        FormatError::Corrupted {
            what: "x",
            detail: String::new(),
        },
        FormatError::ChecksumMismatch {
            what: "x",
            expected: Hash128::default(),
            found: Hash128::default(),
        },
        FormatError::Decompress {
            what: "x",
            source: std::io::Error::other("x"),
        },
        FormatError::LengthMismatch {
            what: "x",
            expected: 1,
            found: 2,
        },
        FormatError::TooLarge {
            what: "x",
            value: 2,
            limit: 1,
        },
        FormatError::Outdated {
            what: "x",
            expected: Hash128::default(),
            found: Hash128::default(),
        },
        FormatError::NoSuchProgram { index: 1, count: 0 },
    ];
    for e in errs {
        assert!(e.may_fall_back(), "{e}");
    }
}
