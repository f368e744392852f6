//! Fuzzes everything that reads untrusted bundle bytes: `Bundle::parse` (with its damage
//! tolerance), every program's `source()` and kernel records, every binary's
//! `decompress()`, `fingerprint()` and `checks()`, the tuning records, `scan`, and `section`
//! / `bundle_region` (executables of every object format the `object` crate reads).
//!
//! Each input is tried twice: as is (exercising the header checks and the checksums) and
//! "resealed", with all three checksums recomputed over the mutated bytes (`seal`), so that
//! mutations of the tables reach the record validation instead of stopping at a checksum.
#![no_main]

use clbake_core::format::{bundle_region, scan, seal, section, Bundle, ALIGN, HEADER_LEN, SECTION_NAME};
use libfuzzer_sys::fuzz_target;

/// Uses every part of a parsed bundle and checks the invariants parsing promises.
fn exercise(b: &Bundle<'_>, input_len: usize) {
    assert!(b.len() >= HEADER_LEN && b.len() <= input_len && b.len() % ALIGN == 0);
    for (i, p) in b.programs().iter().enumerate() {
        if let Ok(source) = p.source() {
            assert_eq!(source.len() as u64, p.source_len);
        }
        assert_eq!(b.program(p.name).map(|(j, _)| j as usize <= i), Some(true));
        for k in &p.kernels {
            let record = k.to_record();
            let _ = record.why_untyped();
        }
    }
    for e in b.binaries() {
        assert!((e.program as usize) < b.programs().len());
        assert_eq!(e.program_key, b.programs()[e.program as usize].key());
        let fp = e.fingerprint().expect("fingerprints are validated by parse");
        assert_eq!(fp.hash(), e.fingerprint_hash);
        let _ = e.checks();
        if let Ok(bytes) = e.decompress() {
            assert_eq!(bytes.len() as u64, e.uncompressed_len);
        }
        assert!(std::ptr::eq(b.find_binary(e.program, &e.fingerprint_hash).unwrap(), e));
    }
    for t in b.tunings() {
        assert!((t.program as usize) < b.programs().len());
    }
}

fn parse_and_exercise(data: &[u8]) {
    if let Ok(b) = Bundle::parse(data) {
        exercise(&b, data.len());
    }
}

fuzz_target!(|data: &[u8]| {
    parse_and_exercise(data);

    let mut sealed = data.to_vec();
    if seal(&mut sealed).is_ok() {
        parse_and_exercise(&sealed);
    }

    for (offset, result) in scan(data) {
        assert_eq!(offset % ALIGN, 0);
        if let Ok(b) = result {
            exercise(&b, data.len() - offset);
        }
    }

    if let Some(bytes) = section(data, SECTION_NAME) {
        for (_, result) in scan(bytes) {
            if let Ok(b) = result {
                let _ = b.programs().iter().map(|p| p.source()).count();
            }
        }
    }
    let _ = scan(bundle_region(data)).len();
});
