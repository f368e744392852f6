//! Fuzzes everything that reads untrusted bundle bytes: `Bundle::parse`, every entry's
//! `source()`, `decompress()` and `fingerprint()`, `scan` and `elf_section`.
//!
//! Each input is tried twice: as is (exercising the header checks and the table checksum)
//! and "resealed", with the table checksum recomputed over the mutated bytes, so that
//! mutations of the tables reach the record validation instead of stopping at the checksum.
#![no_main]

use clbake_core::format::{
    compute_table_checksum, elf_section, scan, Bundle, ALIGN, CHECKSUM_OFFSET, HEADER_LEN, SECTION_NAME,
};
use libfuzzer_sys::fuzz_target;

/// Uses every part of a parsed bundle and checks the invariants parsing promises.
fn exercise(b: &Bundle<'_>, input_len: usize) {
    assert!(b.len() >= HEADER_LEN && b.len() <= input_len && b.len() % ALIGN == 0);
    for (i, p) in b.programs().iter().enumerate() {
        if let Ok(source) = p.source() {
            assert_eq!(source.len() as u64, p.source_len);
        }
        assert_eq!(b.program(p.name).map(|(j, _)| j as usize <= i), Some(true));
    }
    for e in b.binaries() {
        assert!((e.program as usize) < b.programs().len());
        assert_eq!(e.program_key, b.programs()[e.program as usize].key());
        let fp = e.fingerprint().expect("fingerprints are validated by parse");
        assert_eq!(fp.hash(), e.fingerprint_hash);
        if let Ok(bytes) = e.decompress() {
            assert_eq!(bytes.len() as u64, e.uncompressed_len);
        }
        assert!(std::ptr::eq(b.find_binary(e.program, &e.fingerprint_hash).unwrap(), e));
    }
}

fn parse_and_exercise(data: &[u8]) {
    if let Ok(b) = Bundle::parse(data) {
        exercise(&b, data.len());
    }
}

fuzz_target!(|data: &[u8]| {
    parse_and_exercise(data);

    if data.len() >= HEADER_LEN {
        let mut sealed = data.to_vec();
        let payload_offset = u64::from_le_bytes(sealed[80..88].try_into().unwrap());
        if let Some(c) = compute_table_checksum(&sealed, payload_offset) {
            sealed[CHECKSUM_OFFSET..HEADER_LEN].copy_from_slice(&c.0);
            parse_and_exercise(&sealed);
        }
    }

    for (offset, result) in scan(data) {
        assert_eq!(offset % ALIGN, 0);
        if let Ok(b) = result {
            exercise(&b, data.len() - offset);
        }
    }

    if let Some(section) = elf_section(data, SECTION_NAME) {
        for (_, result) in scan(section) {
            if let Ok(b) = result {
                let _ = b.programs().iter().map(|p| p.source()).count();
            }
        }
    }
});
