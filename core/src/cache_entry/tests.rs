//! Unit tests of the cache entry format: round trip, golden bytes, one test per error
//! class, truncation at every offset and a flipped bit at every byte.

use super::*;

fn fp() -> Fingerprint {
    Fingerprint::from_parts(["Portable Computing Language", "pocl", "OpenCL 3.0", "cpu", "AMD", "OpenCL 3.0 PoCL", "6.0", "OpenCL C 1.2"].map(String::from), 64)
}

fn key() -> Hash128 {
    Hash128([7; 16])
}

fn sample() -> Vec<u8> {
    encode("conv2d_relu", &fp(), &key(), b"\x7fELF driver binary bytes").unwrap()
}

#[test]
fn round_trip() {
    let bytes = sample();
    let e = parse(&bytes).unwrap();
    assert_eq!(e.name, "conv2d_relu");
    assert_eq!(e.fingerprint, fp());
    assert_eq!(e.fingerprint_hash, fp().hash());
    assert_eq!(e.program_key, key());
    assert_eq!(e.payload, b"\x7fELF driver binary bytes");
}

/// Fails when the layout changes: bump [`VERSION`] and update the bytes.
#[test]
fn golden_bytes() {
    let fp = Fingerprint { device_name: "d".into(), address_bits: 32, ..Default::default() };
    let bytes = encode("p", &fp, &Hash128([1; 16]), b"bin").unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut expected = String::new();
    expected += "434c424b43450d0a"; // magic
    expected += "01000000"; // version
    expected += "2a000000"; // meta_len: "p" 5 + seven empty strings 28 + "d" 5 + bits 4 = 42
    expected += "0300000000000000"; // payload_len
    expected += &fp.hash().to_hex();
    expected += &"01".repeat(16);
    expected += &Hash128::of(b"bin").to_hex();
    expected += &Hash128::of(&[&bytes[..72], &bytes[88..130]].concat()).to_hex();
    expected += "0100000070"; // "p"
    expected += "000000000000000000000000"; // platform name, vendor, version
    expected += "0100000064"; // device_name "d"
    expected += "00000000000000000000000000000000"; // device vendor, version, driver, C version
    expected += "20000000"; // address bits
    expected += "62696e"; // payload
    assert_eq!(hex, expected);
    assert_eq!(bytes.len(), 88 + 42 + 3);
}

#[test]
fn truncation_at_every_offset_is_rejected() {
    let bytes = sample();
    for n in 0..bytes.len() {
        let err = parse(&bytes[..n]).unwrap_err();
        assert!(matches!(err, CacheEntryError::Truncated { .. }), "cut at {n}: {err}");
    }
}

#[test]
fn a_flipped_bit_anywhere_is_rejected() {
    let bytes = sample();
    for i in 0..bytes.len() {
        for bit in [0, 3, 7] {
            let mut b = bytes.clone();
            b[i] ^= 1 << bit;
            assert!(parse(&b).is_err(), "bit {bit} of byte {i} flipped was accepted");
        }
    }
}

#[test]
fn zero_filled_and_empty_are_rejected() {
    assert!(matches!(parse(&[]), Err(CacheEntryError::Truncated { what: "header", .. })));
    let zeros = vec![0u8; sample().len()];
    assert!(matches!(parse(&zeros), Err(CacheEntryError::BadMagic { .. })));
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut b = sample();
    b.push(0);
    assert_eq!(parse(&b).unwrap_err(), CacheEntryError::TrailingBytes { expected: b.len() as u64 - 1, found: b.len() as u64 });
}

#[test]
fn other_version_is_rejected_even_when_resealed() {
    let mut b = sample();
    b[8] = 2;
    assert!(reseal(&mut b));
    assert_eq!(parse(&b).unwrap_err(), CacheEntryError::UnsupportedVersion { found: 2 });
}

#[test]
fn huge_lengths_are_rejected_before_allocating() {
    let mut b = sample();
    b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(parse(&b), Err(CacheEntryError::TooLarge { what: "payload", .. })));
    let mut b = sample();
    b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(parse(&b), Err(CacheEntryError::TooLarge { what: "metadata", .. })));
    let mut b = sample();
    b[16..24].copy_from_slice(&0u64.to_le_bytes());
    assert!(matches!(parse(&b), Err(CacheEntryError::Corrupted { what: "payload", .. })));
}

#[test]
fn wrong_lengths_are_caught_by_the_length_check() {
    let mut b = sample();
    let payload_len = u64::from_le_bytes(b[16..24].try_into().unwrap());
    b[16..24].copy_from_slice(&(payload_len + 1).to_le_bytes());
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(CacheEntryError::Truncated { what: "entry", .. })));
    b[16..24].copy_from_slice(&(payload_len - 1).to_le_bytes());
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(CacheEntryError::TrailingBytes { .. })));
}

#[test]
fn header_and_payload_checksums_are_checked() {
    let mut b = sample();
    b[30] ^= 1; // inside the fingerprint hash
    assert!(matches!(parse(&b), Err(CacheEntryError::ChecksumMismatch { what: "header", .. })));
    let mut b = sample();
    let last = b.len() - 1;
    b[last] ^= 1;
    assert!(matches!(parse(&b), Err(CacheEntryError::ChecksumMismatch { what: "payload", .. })));
}

#[test]
fn fingerprint_that_disagrees_with_its_hash_is_rejected() {
    let mut b = sample();
    b[24] ^= 1;
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(CacheEntryError::Corrupted { what: "fingerprint", .. })));
}

#[test]
fn bad_metadata_is_rejected() {
    // A string length pointing past the metadata block.
    let mut b = sample();
    b[88..92].copy_from_slice(&1000u32.to_le_bytes());
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(CacheEntryError::Corrupted { what: "metadata", .. })));
    // Invalid UTF-8 in the name.
    let mut b = sample();
    b[92] = 0xff;
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(CacheEntryError::Corrupted { what: "metadata", .. })));
    // Metadata one byte longer than its fields (the extra byte taken from the payload).
    let mut b = sample();
    let meta_len = u32::from_le_bytes(b[12..16].try_into().unwrap());
    b[12..16].copy_from_slice(&(meta_len + 1).to_le_bytes());
    let payload_len = u64::from_le_bytes(b[16..24].try_into().unwrap());
    b[16..24].copy_from_slice(&(payload_len - 1).to_le_bytes());
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(CacheEntryError::Corrupted { what: "metadata", .. })));
}

#[test]
fn encode_refuses_what_parse_would_refuse() {
    assert!(encode("p", &fp(), &key(), b"").is_err());
    let long = "x".repeat(MAX_META as usize);
    assert!(matches!(encode(&long, &fp(), &key(), b"x"), Err(CacheEntryError::TooLarge { what: "metadata", .. })));
}

#[test]
fn reseal_needs_the_whole_header_and_metadata() {
    let b = sample();
    for n in [0, 15, HEADER_LEN, HEADER_LEN + 3] {
        assert!(!reseal(&mut b[..n].to_vec()), "{n}");
    }
}

/// Writes seed inputs for the `cache_entry` fuzz target into `$CLBAKE_FUZZ_CORPUS`:
/// `cargo test -p clbake-core --lib write_cache_entry_fuzz_seeds -- --ignored`.
#[test]
#[ignore = "writes files; run by hand to refresh the fuzz corpus"]
fn write_cache_entry_fuzz_seeds() {
    let Some(dir) = std::env::var_os("CLBAKE_FUZZ_CORPUS") else { return };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = [
        sample(),
        encode("p", &Fingerprint::default(), &Hash128::default(), b"x").unwrap(),
        encode("gemm_t16", &fp(), &key(), &[0x7f; 300]).unwrap(),
    ];
    for (i, s) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}.bin")), s).unwrap();
    }
}
