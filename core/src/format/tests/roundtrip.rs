//! Writing then reading: contents, lookups, determinism, merging, scale.

use super::*;
use crate::format::{Bundle, FormatError, ALIGN, FORMAT_MAJOR, FORMAT_MINOR, MAGIC};
use crate::hash::Hash128;

#[test]
fn round_trip_programs_and_binaries() {
    let bytes = sample_bundle();
    assert_eq!(bytes.len() % ALIGN, 0);
    let b = Bundle::parse(&bytes).unwrap();
    let h = b.header();
    assert_eq!(
        (h.magic, h.major, h.minor),
        (MAGIC, FORMAT_MAJOR, FORMAT_MINOR)
    );
    assert_eq!((h.program_count, h.binary_count, h.tuning_count), (2, 4, 0));
    assert_eq!(b.len(), bytes.len());

    let (add, p) = b.program("add").unwrap();
    assert_eq!(add, 0);
    assert_eq!(p.options, "-cl-fast-relaxed-math");
    assert_eq!(p.kernels, vec!["add"]);
    assert_eq!(p.source_hash, Hash128::of(SRC_ADD.as_bytes()));
    assert_eq!(p.source_len, SRC_ADD.len() as u64);
    assert_eq!(p.source().unwrap(), SRC_ADD);
    let (relu, r) = b.program("relu").unwrap();
    assert_eq!(relu, 1);
    assert_eq!(r.kernels, vec!["relu", "relu6"]);
    assert_eq!(r.source().unwrap(), SRC_RELU);
    assert!(b.program("missing").is_none());

    for f in [1, 2, 3] {
        let e = b.find_binary(add, &fp(f).hash()).unwrap();
        assert_eq!(e.program, add);
        assert_eq!(e.program_key, p.key());
        assert_eq!(e.fingerprint().unwrap(), fp(f));
        assert_eq!(e.decompress().unwrap(), binary_bytes(add, f));
        assert_eq!(e.compressed().len() as u64, e.compressed_len);
    }
    assert!(b.find_binary(add, &fp(4).hash()).is_none());
    assert!(b.find_binary(relu, &fp(1).hash()).is_none());
    assert_eq!(
        b.find_binary(relu, &fp(2).hash())
            .unwrap()
            .decompress()
            .unwrap(),
        binary_bytes(relu, 2)
    );
    assert!(b.find_binary(7, &fp(2).hash()).is_none());

    assert_eq!(b.binaries_of(add).count(), 3);
    assert!(b.binaries_of(add).all(|e| e.program == add));
    assert_eq!(b.binaries_of(relu).count(), 1);
    assert_eq!(b.binaries_of(9).count(), 0);
    assert_eq!(b.binaries().len(), 4);
}

#[test]
fn writes_are_deterministic_and_independent_of_binary_insertion_order() {
    assert_eq!(sample_bundle(), sample_bundle());
    let mut w = BundleWriter::new().with_level(3);
    let add = w.add_program(
        "add",
        "-cl-fast-relaxed-math",
        &["add".to_string()],
        SRC_ADD,
    );
    let relu = w.add_program(
        "relu",
        "",
        &["relu".to_string(), "relu6".to_string()],
        SRC_RELU,
    );
    w.add_binary(relu, &fp(2), &binary_bytes(relu, 2));
    for f in [3, 1, 2] {
        w.add_binary(add, &fp(f), &binary_bytes(add, f));
    }
    assert_eq!(w.to_bytes(), sample_bundle());
    assert_eq!(w.to_bytes(), w.to_bytes());
}

#[test]
fn empty_bundle() {
    let bytes = BundleWriter::new().to_bytes();
    assert_eq!(bytes.len(), HEADER_LEN);
    let b = Bundle::parse(&bytes).unwrap();
    assert!(b.programs().is_empty() && b.binaries().is_empty());
}

#[test]
fn empty_source_and_empty_binary() {
    let mut w = BundleWriter::new();
    let p = w.add_program("", "", &[], "");
    w.add_binary(p, &fp(0), b"");
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.programs()[0].source().unwrap(), "");
    assert_eq!(b.binaries()[0].decompress().unwrap(), b"");
}

#[test]
fn add_program_dedupes_and_add_binary_replaces() {
    let mut w = sample_writer();
    assert_eq!(
        w.add_program(
            "add",
            "-cl-fast-relaxed-math",
            &["add".to_string()],
            SRC_ADD
        ),
        0
    );
    assert_eq!(
        w.add_program("add", "-DVARIANT", &["add".to_string()], SRC_ADD),
        2
    );
    w.add_binary(0, &fp(1), b"replaced");
    assert_eq!((w.program_count(), w.binary_count()), (3, 4));
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(
        b.find_binary(0, &fp(1).hash())
            .unwrap()
            .decompress()
            .unwrap(),
        b"replaced"
    );
    assert_eq!(
        b.program("add").unwrap().0,
        0,
        "the first program of a name is returned"
    );
    assert_ne!(b.programs()[0].key(), b.programs()[2].key());
}

#[test]
fn merging_entries_keeps_compressed_bytes() {
    let src = sample_bundle();
    let a = Bundle::parse(&src).unwrap();
    // The new writer has the programs in another order.
    let mut w = BundleWriter::new().with_level(1);
    let relu = w.add_program(
        "relu",
        "",
        &["relu".to_string(), "relu6".to_string()],
        SRC_RELU,
    );
    let add = w.add_program(
        "add",
        "-cl-fast-relaxed-math",
        &["add".to_string()],
        SRC_ADD,
    );
    for e in a.binaries() {
        let to = if e.program == 0 { add } else { relu };
        w.add_binary_entry(to, e).unwrap();
    }
    let merged = w.to_bytes();
    let b = Bundle::parse(&merged).unwrap();
    for e in a.binaries() {
        let to = if e.program == 0 { add } else { relu };
        let m = b.find_binary(to, &e.fingerprint_hash).unwrap();
        assert_eq!(m.compressed(), e.compressed());
        assert_eq!(
            (m.checksum, m.uncompressed_len),
            (e.checksum, e.uncompressed_len)
        );
        assert_eq!(m.fingerprint().unwrap(), e.fingerprint().unwrap());
        assert_eq!(m.decompress().unwrap(), e.decompress().unwrap());
    }
}

#[test]
fn merging_refuses_a_damaged_entry() {
    let mut src = sample_bundle();
    let b = Bundle::parse(&src).unwrap();
    let e = &b.binaries()[0];
    let at = (b.header().payload_offset + e.payload_offset) as usize + e.compressed().len() / 2;
    src[at] ^= 0xff;
    let b = Bundle::parse(&src).unwrap();
    let mut w = BundleWriter::new();
    w.add_program(
        "add",
        "-cl-fast-relaxed-math",
        &["add".to_string()],
        SRC_ADD,
    );
    let err = w.add_binary_entry(0, &b.binaries()[0]).unwrap_err();
    assert!(
        matches!(
            err,
            FormatError::ChecksumMismatch { .. } | FormatError::Decompress { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn ten_thousand_binaries_parse_and_look_up_fast() {
    let mut w = BundleWriter::new().with_level(1);
    let p = w.add_program("p", "", &["k".to_string()], "kernel void k() {}");
    let q = w.add_program("q", "", &["k".to_string()], "kernel void k() { }");
    let n = 10_000u32;
    for i in 0..n {
        let prog = if i % 2 == 0 { p } else { q };
        w.add_binary(prog, &fp(i), &i.to_le_bytes().repeat(8));
    }
    let bytes = w.to_bytes();
    let start = std::time::Instant::now();
    let b = Bundle::parse(&bytes).unwrap();
    let parsed = start.elapsed();
    assert_eq!(b.binaries().len(), n as usize);
    let start = std::time::Instant::now();
    for i in 0..n {
        let prog = if i % 2 == 0 { p } else { q };
        let e = b.find_binary(prog, &fp(i).hash()).unwrap();
        assert_eq!(e.uncompressed_len, 32);
    }
    let looked_up = start.elapsed();
    assert_eq!(b.binaries_of(q).count(), (n / 2) as usize);
    eprintln!(
        "{n} binaries, {} bytes: parse {parsed:?}, {n} lookups {looked_up:?}",
        bytes.len()
    );
    // Generous bounds for unoptimized builds on a slow machine.
    assert!(parsed.as_secs_f64() < 2.0, "parse took {parsed:?}");
    assert_eq!(
        b.find_binary(p, &fp(5000).hash())
            .unwrap()
            .decompress()
            .unwrap(),
        5000u32.to_le_bytes().repeat(8)
    );
}

#[test]
fn trailing_bytes_after_a_bundle_are_not_part_of_it() {
    let mut bytes = sample_bundle();
    let len = bytes.len();
    bytes.extend_from_slice(&[0xAB; 40]);
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.len(), len);
    assert_eq!(b.as_bytes(), &bytes[..len]);
}

#[test]
fn higher_minor_with_longer_header_and_records_is_accepted() {
    // Simulates a writer of the next minor: the minor is higher and a record has an extra
    // trailing field.
    let next_minor = (FORMAT_MINOR + 1) as u8;
    let mut bytes = sample_bundle();
    bytes[10] = next_minor;
    reseal(&mut bytes);
    Bundle::parse(&bytes).unwrap();
    // The current minor is strict about unknown trailing bytes inside a record; the next is not.
    let mut w = sample_writer();
    w.add_program("z", "", &[], "");
    let bytes = w.to_bytes();
    let rec = *program_records(&bytes).last().unwrap();
    let body_len = u32::from_le_bytes(bytes[rec..rec + 4].try_into().unwrap());
    let h = Header::decode(&bytes).unwrap();
    // Insert 4 extra bytes at the end of the last program record (before the binary table).
    let insert_at = rec + 4 + body_len as usize;
    let mut v = bytes[..rec].to_vec();
    v.extend_from_slice(&(body_len + 4).to_le_bytes());
    v.extend_from_slice(&bytes[rec + 4..insert_at]);
    v.extend_from_slice(&[9, 9, 9, 9]);
    v.extend_from_slice(&bytes[insert_at..]);
    // Shift every later offset by 4 (tables, payload keep their relative layout; the
    // payload moves by 4, which breaks 16-alignment of payload_offset, allowed by readers).
    let mut h2 = h.clone();
    h2.program_table_len += 4;
    h2.binary_table_offset += 4;
    h2.tuning_table_offset += 4;
    h2.payload_offset += 4;
    h2.total_len += 16;
    v.extend_from_slice(&[0; 12]);
    v[..HEADER_LEN].copy_from_slice(&h2.encode());
    reseal(&mut v);
    assert!(matches!(
        Bundle::parse(&v),
        Err(FormatError::Corrupted {
            what: "program record",
            ..
        })
    ));
    v[10] = next_minor;
    reseal(&mut v);
    let b = Bundle::parse(&v).unwrap();
    assert_eq!(b.program("z").unwrap().1.source().unwrap(), "");
    assert_eq!(b.programs()[0].source().unwrap(), SRC_ADD);
    assert_eq!(
        b.find_binary(0, &fp(1).hash())
            .unwrap()
            .decompress()
            .unwrap(),
        binary_bytes(0, 1)
    );
}
