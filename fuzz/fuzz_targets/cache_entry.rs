//! Fuzzes the disk-cache entry parser, `clbake_core::cache_entry::parse`, which reads files
//! any process (or a torn write, or bit rot) may have left in the cache directory.
//!
//! Each input is tried as is and "resealed": its payload checksum and header checksum
//! recomputed over the mutated bytes, so that mutations of the lengths, metadata and
//! fingerprint reach the checks behind the checksums. Whatever parses must re-encode to the
//! very same bytes and carry a fingerprint that hashes to the stored hash.
#![no_main]

use clbake_core::cache_entry::{encode, parse, reseal, HEADER_LEN};
use clbake_core::Hash128;
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8]) {
    if let Ok(e) = parse(data) {
        assert_eq!(e.fingerprint.hash(), e.fingerprint_hash);
        assert!(!e.payload.is_empty());
        let again = encode(e.name, &e.fingerprint, &e.program_key, e.payload).expect("a parsed entry encodes");
        assert_eq!(again, data, "parse then encode changed the bytes");
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    if data.len() < HEADER_LEN {
        return;
    }
    let mut sealed = data.to_vec();
    let meta_len = u32::from_le_bytes([data[12], data[13], data[14], data[15]]) as usize;
    if let Some(payload) = HEADER_LEN.checked_add(meta_len).and_then(|start| data.get(start..)) {
        sealed[56..72].copy_from_slice(&Hash128::of(payload).0);
    }
    if reseal(&mut sealed) {
        check(&sealed);
    }
});
