//! Damaged input never panics: truncation at every offset, random bit flips (with and
//! without a recomputed table checksum), random headers.

use super::*;
use crate::format::{elf_section, scan, Bundle, FormatError, MAGIC};

/// Uses every entry of a parsed bundle; returns the decoded contents that verified.
fn exercise(b: &Bundle<'_>) -> (Vec<Option<String>>, Vec<Option<Vec<u8>>>) {
    let _ = (
        b.header(),
        b.len(),
        b.program("add"),
        b.binaries_of(0).count(),
    );
    let sources = b.programs().iter().map(|p| p.source().ok()).collect();
    let binaries = b
        .binaries()
        .iter()
        .map(|e| {
            let _ = e.fingerprint();
            let _ = b.find_binary(e.program, &e.fingerprint_hash);
            e.decompress().ok()
        })
        .collect();
    (sources, binaries)
}

#[test]
fn truncation_at_every_offset_is_an_error() {
    let bytes = sample_bundle();
    for n in 0..bytes.len() {
        let err = Bundle::parse(&bytes[..n]).expect_err("a truncated bundle must not parse");
        if n >= 8 {
            assert!(
                matches!(err, FormatError::Truncated { .. }),
                "cut at {n}: {err:?}"
            );
        }
        let found = scan(&bytes[..n]);
        assert!(found.iter().all(|(_, r)| r.is_err()));
    }
    assert!(Bundle::parse(&bytes).is_ok());
}

#[test]
fn random_bit_flips_never_panic_and_never_yield_wrong_bytes() {
    let bytes = sample_bundle();
    let good = Bundle::parse(&bytes).unwrap();
    let (good_sources, good_binaries) = exercise(&good);
    let payload_end = (good.header().payload_offset + good.header().payload_len) as usize;
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut err) = (0, 0);
    for i in 0..3000 {
        let mut b = bytes.clone();
        let flips = 1 + i % 4;
        let mut positions = Vec::new();
        for _ in 0..flips {
            let at = rng.below(b.len());
            if !positions.contains(&at) {
                b[at] ^= 1 << rng.below(8);
                positions.push(at);
            }
        }
        match Bundle::parse(&b) {
            Ok(parsed) => {
                ok += 1;
                // Flips inside header and tables are caught by the checksum; only payload
                // or padding flips may parse, and then every entry is still the original's
                // or fails its own check.
                assert!(
                    positions
                        .iter()
                        .all(|&p| p >= good.header().payload_offset as usize),
                    "{positions:?}"
                );
                let (sources, binaries) = exercise(&parsed);
                for (s, g) in sources.iter().zip(&good_sources) {
                    assert!(s.is_none() || s == g);
                }
                for (x, g) in binaries.iter().zip(&good_binaries) {
                    assert!(x.is_none() || x == g);
                }
                if positions.iter().all(|&p| p >= payload_end) {
                    assert_eq!(
                        (sources, binaries),
                        (good_sources.clone(), good_binaries.clone())
                    );
                }
            }
            Err(_) => err += 1,
        }
        let _ = scan(&b);
    }
    eprintln!("bit flips: {ok} parsed (payload/padding hits), {err} rejected");
    assert!(err > 1000 && ok > 100, "{ok} {err}");
}

#[test]
fn random_flips_in_resealed_tables_never_panic() {
    // With the checksum recomputed, the flips reach the record validation itself.
    let bytes = sample_bundle();
    let h = Header::decode(&bytes).unwrap();
    let tables = HEADER_LEN..h.payload_offset as usize;
    let mut rng = XorShift(42);
    let mut parsed = 0;
    for i in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..(1 + i % 3) {
            let at = if i % 5 == 0 {
                rng.below(HEADER_LEN)
            } else {
                tables.start + rng.below(tables.len())
            };
            b[at] ^= 1 << rng.below(8);
        }
        if i % 7 == 0 {
            // Overwrite a whole word with a random value: big lengths and offsets.
            let at = tables.start + rng.below(tables.len() - 8);
            b[at..at + 8].copy_from_slice(&rng.next().to_le_bytes());
        }
        reseal(&mut b);
        if let Ok(bundle) = Bundle::parse(&b) {
            parsed += 1;
            exercise(&bundle);
        }
    }
    eprintln!("resealed flips: {parsed} of 3000 still parsed");
}

#[test]
fn random_headers_and_garbage_never_panic() {
    let mut rng = XorShift(7);
    for i in 0..2000 {
        let len = rng.below(600);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && b.len() >= 12 {
            b[..8].copy_from_slice(&MAGIC);
            b[8..12].copy_from_slice(&[1, 0, 0, 0]);
            if b.len() >= HEADER_LEN && i % 4 == 0 {
                // Plausible small offsets so that the layout checks are passed sometimes.
                for at in (32..104).step_by(8) {
                    put_u64(&mut b, at, rng.below(len + 1) as u64);
                }
                put_u32(&mut b, 12, 128);
                reseal(&mut b);
            }
        }
        if let Ok(bundle) = Bundle::parse(&b) {
            exercise(&bundle);
        }
        let _ = scan(&b);
        let _ = elf_section(&b, ".clbake");
    }
}
