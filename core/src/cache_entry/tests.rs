//! Unit tests of the cache entry format: round trip, golden bytes, one test per error
//! class, truncation at every offset and a flipped bit at every byte.

use super::*;

fn fp() -> Fingerprint {
    Fingerprint::from_parts(
        [
            "Portable Computing Language",
            "pocl",
            "OpenCL 3.0",
            "cpu",
            "AMD",
            "OpenCL 3.0 PoCL",
            "6.0",
            "OpenCL C 1.2",
            "x86_64/64",
            "libpocl.so.2 size=1 build-id=ab",
        ]
        .map(String::from),
        64,
    )
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
    assert_eq!(VERSION, 2, "a new version needs new golden bytes");
    let fp =
        Fingerprint { device_name: "d".into(), host_abi: "a".into(), driver_library: "l".into(), address_bits: 32, ..Default::default() };
    let bytes = encode("p", &fp, &Hash128([1; 16]), b"bin").unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut expected = String::new();
    expected += "434c424b43450d0a"; // magic
    expected += "02000000"; // version
    expected += "34000000"; // meta_len: "p" 5 + seven empty strings 28 + "d", "a", "l" 15 + bits 4 = 52
    expected += "0300000000000000"; // payload_len
    expected += &fp.hash().to_hex();
    expected += &"01".repeat(16);
    expected += &Hash128::of(b"bin").to_hex();
    expected += &Hash128::of(&[&bytes[..72], &bytes[88..140]].concat()).to_hex();
    expected += "0100000070"; // "p"
    expected += "000000000000000000000000"; // platform name, vendor, version
    expected += "0100000064"; // device_name "d"
    expected += "00000000000000000000000000000000"; // device vendor, version, driver, C version
    expected += "0100000061"; // host_abi "a"
    expected += "010000006c"; // driver_library "l"
    expected += "20000000"; // address bits
    expected += "62696e"; // payload
    assert_eq!(hex, expected);
    assert_eq!(bytes.len(), 88 + 52 + 3);
}

#[test]
fn truncation_at_every_offset_is_rejected() {
    let bytes = sample();
    for n in 0..bytes.len() {
        let err = parse(&bytes[..n]).unwrap_err();
        let what = if n < HEADER_LEN { "cache entry header" } else { "cache entry" };
        assert!(matches!(err, FormatError::Truncated { what: w, .. } if w == what), "cut at {n}: {err}");
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
    assert!(matches!(parse(&[]), Err(FormatError::Truncated { what: "cache entry header", .. })));
    let zeros = vec![0u8; sample().len()];
    assert!(matches!(parse(&zeros), Err(FormatError::BadMagic { what: "cache entry", found }) if found == [0; 8]));
    // A bundle is not a cache entry.
    assert!(matches!(parse(b"CLBAKE\r\n\x02\x00\x00\x00"), Err(FormatError::BadMagic { .. })));
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut b = sample();
    b.push(0);
    match parse(&b).unwrap_err() {
        FormatError::Corrupted { what: "cache entry", detail } => {
            assert_eq!(detail, format!("{} bytes, its header declares {}", b.len(), b.len() - 1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_version_is_rejected_even_when_resealed() {
    let mut b = sample();
    b[8] = 3;
    assert!(reseal(&mut b));
    let e = parse(&b).unwrap_err();
    assert!(matches!(e, FormatError::UnsupportedVersion { what: "cache entry", major: 3, minor: 0, supported: "2" }), "{e:?}");
    assert!(e.is_version() && e.may_fall_back());
    b[8..12].copy_from_slice(&0x1_0000u32.to_le_bytes());
    assert!(matches!(parse(&b), Err(FormatError::UnsupportedVersion { major: u16::MAX, .. })));
}

#[test]
fn an_entry_of_version_1_is_refused() {
    // The layout of version 1 (clbake 0.1): the same header, a fingerprint of eight strings.
    let mut v1 = Vec::new();
    v1.extend_from_slice(&MAGIC);
    v1.extend_from_slice(&1u32.to_le_bytes());
    v1.extend_from_slice(&42u32.to_le_bytes());
    v1.extend_from_slice(&3u64.to_le_bytes());
    v1.extend_from_slice(&[0x5a; 64]); // fingerprint hash, program key, payload and header checksums
    v1.extend_from_slice(b"\x01\x00\x00\x00p");
    for s in ["", "", "", "d", "", "", "", ""] {
        v1.extend_from_slice(&(s.len() as u32).to_le_bytes());
        v1.extend_from_slice(s.as_bytes());
    }
    v1.extend_from_slice(&32u32.to_le_bytes());
    v1.extend_from_slice(b"bin");
    assert_eq!(v1.len(), 88 + 42 + 3);
    let e = parse(&v1).unwrap_err();
    assert!(matches!(e, FormatError::UnsupportedVersion { what: "cache entry", major: 1, minor: 0, supported: "2" }), "{e:?}");
    assert_eq!(e.to_string(), "cache entry format 1.0 is not supported (this clbake reads 2)");
    // Whatever else is in it: the version is checked first.
    assert!(parse(&v1[..12]).unwrap_err().is_version());
}

#[test]
fn huge_lengths_are_rejected_before_allocating() {
    let mut b = sample();
    b[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(parse(&b), Err(FormatError::TooLarge { what: "cache entry payload", .. })));
    let mut b = sample();
    b[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(parse(&b), Err(FormatError::TooLarge { what: "cache entry metadata", .. })));
    let mut b = sample();
    b[16..24].copy_from_slice(&0u64.to_le_bytes());
    assert!(matches!(parse(&b), Err(FormatError::Corrupted { what: "cache entry payload", .. })));
}

#[test]
fn wrong_lengths_are_caught_by_the_length_check() {
    let mut b = sample();
    let payload_len = u64::from_le_bytes(b[16..24].try_into().unwrap());
    b[16..24].copy_from_slice(&(payload_len + 1).to_le_bytes());
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(FormatError::Truncated { what: "cache entry", .. })));
    b[16..24].copy_from_slice(&(payload_len - 1).to_le_bytes());
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(FormatError::Corrupted { what: "cache entry", .. })));
}

#[test]
fn header_and_payload_checksums_are_checked() {
    let mut b = sample();
    b[30] ^= 1; // inside the fingerprint hash
    assert!(matches!(parse(&b), Err(FormatError::ChecksumMismatch { what: "cache entry header", .. })));
    let mut b = sample();
    let last = b.len() - 1;
    b[last] ^= 1;
    assert!(matches!(parse(&b), Err(FormatError::ChecksumMismatch { what: "cache entry payload", .. })));
}

#[test]
fn fingerprint_that_disagrees_with_its_hash_is_rejected() {
    let mut b = sample();
    b[24] ^= 1;
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(FormatError::Corrupted { what: "cache entry fingerprint", .. })));
}

#[test]
fn host_abi_and_driver_library_change_the_fingerprint_hash() {
    let base = parse(&sample()).unwrap().fingerprint_hash;
    let abi = Fingerprint { host_abi: "arm/32".into(), ..fp() };
    let lib = Fingerprint { driver_library: "libpocl.so.2 size=2 build-id=ab".into(), ..fp() };
    let abi_bytes = encode("conv2d_relu", &abi, &key(), b"x").unwrap();
    let lib_bytes = encode("conv2d_relu", &lib, &key(), b"x").unwrap();
    let (a, l) = (parse(&abi_bytes).unwrap(), parse(&lib_bytes).unwrap());
    assert_ne!(a.fingerprint_hash, base);
    assert_ne!(l.fingerprint_hash, base);
    assert_ne!(a.fingerprint_hash, l.fingerprint_hash);
    assert_eq!((a.fingerprint_hash, l.fingerprint_hash), (abi.hash(), lib.hash()));
    assert_eq!((a.fingerprint.host_abi.as_str(), l.fingerprint.driver_library.as_str()), ("arm/32", "libpocl.so.2 size=2 build-id=ab"));
    // The stored hash sits at 24..40, where a cache lookup compares it.
    assert_eq!(&abi_bytes[24..40], &abi.hash().0);
    assert_ne!(&abi_bytes[24..40], &sample()[24..40]);
}

#[test]
fn bad_metadata_is_rejected() {
    // A string length pointing past the metadata block.
    let mut b = sample();
    b[88..92].copy_from_slice(&1000u32.to_le_bytes());
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(FormatError::Truncated { what: "cache entry program name", needed: 1000, .. })));
    // Invalid UTF-8 in the name.
    let mut b = sample();
    b[92] = 0xff;
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(FormatError::Corrupted { what: "cache entry program name", .. })));
    // Invalid UTF-8 in a fingerprint string (the first byte of the platform name).
    let mut b = sample();
    b[92 + "conv2d_relu".len() + 4] = 0xff;
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(FormatError::Corrupted { what: "cache entry fingerprint", .. })));
    // Metadata one byte longer than its fields (the extra byte taken from the payload).
    let mut b = sample();
    let meta_len = u32::from_le_bytes(b[12..16].try_into().unwrap());
    b[12..16].copy_from_slice(&(meta_len + 1).to_le_bytes());
    let payload_len = u64::from_le_bytes(b[16..24].try_into().unwrap());
    b[16..24].copy_from_slice(&(payload_len - 1).to_le_bytes());
    assert!(reseal(&mut b));
    assert!(matches!(parse(&b), Err(FormatError::Corrupted { what: "cache entry metadata", .. })));
}

#[test]
fn encode_refuses_what_parse_would_refuse() {
    assert!(matches!(encode("p", &fp(), &key(), b""), Err(FormatError::Corrupted { what: "cache entry payload", .. })));
    let long = "x".repeat(MAX_META as usize);
    assert!(matches!(encode(&long, &fp(), &key(), b"x"), Err(FormatError::TooLarge { what: "cache entry metadata", .. })));
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
    let Some(dir) = std::env::var_os("CLBAKE_FUZZ_CORPUS") else {
        return;
    };
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
