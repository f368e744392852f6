//! Damaged input never panics and never yields bytes that were not baked: truncation at
//! every offset, a bit flip (and a few byte patterns) at every byte with the outcome
//! classified by the region hit, random multi-byte damage with and without recomputed
//! checksums, random headers.

use super::*;
use crate::format::{scan, section, FormatError, TuningEntry, HEADER_LEN, MAGIC};

/// Everything a reader can get out of a bundle, each payload as it decoded (or not).
/// One binary as read back: program, fingerprint hash, fingerprint, known answers, bytes.
type BinaryContents = (u32, Hash128, Option<Fingerprint>, Option<Vec<KnownAnswer>>, Option<Vec<u8>>);

#[derive(Clone, Debug, PartialEq)]
struct Contents {
    info: String,
    /// Name, key, kernels, source.
    programs: Vec<(String, Hash128, Vec<KernelRecord>, Option<String>)>,
    binaries: Vec<BinaryContents>,
    tunings: Vec<(u32, Hash128, TunedLaunch)>,
    damage: Vec<Table>,
}

/// Uses every entry of a parsed bundle; returns what it holds.
fn contents(b: &Bundle<'_>) -> Contents {
    let _ = (b.header(), b.len(), b.as_bytes(), b.program("add"), b.binaries_of(0).count(), b.tunings_for(0, &fp(1).hash()));
    let programs = b
        .programs()
        .iter()
        .map(|p| (p.name.to_string(), p.key(), p.kernels.iter().map(|k| k.to_record()).collect(), p.source().ok()))
        .collect();
    let binaries = b
        .binaries()
        .iter()
        .map(|e| {
            assert!(b.find_binary(e.program, &e.fingerprint_hash).is_some());
            (e.program, e.fingerprint_hash, e.fingerprint().ok(), e.checks().ok(), e.decompress().ok())
        })
        .collect();
    let tunings = b.tunings().iter().map(|t: &TuningEntry<'_>| (t.program, t.fingerprint_hash, t.to_launch())).collect();
    Contents { info: b.info().to_string(), programs, binaries, tunings, damage: b.damage().iter().map(|d| d.0).collect() }
}

/// What a byte of a bundle belongs to, which decides what damage to it may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    /// Header (but the binary and tuning checksums), info, program table: covered by the
    /// core checksum (or the core checksum itself).
    Core,
    /// The binary table or its checksum in the header.
    Binaries,
    /// The tuning table or its checksum in the header.
    Tuning,
    /// The compressed source of program `i`.
    Source(usize),
    /// The compressed payload of binary `i`.
    Binary(usize),
    /// Zero padding before the payload region and after it.
    Padding,
}

fn region_of(b: &Bundle<'_>, at: usize) -> Region {
    let h = b.header();
    let inside = |off: u64, len: u64| (off..off + len).contains(&(at as u64));
    let payload = |off: u64, len: u64| inside(h.payload_offset + off, len);
    if (144..160).contains(&at) || inside(h.binary_table_offset, h.binary_table_len) {
        Region::Binaries
    } else if (160..176).contains(&at) || inside(h.tuning_table_offset, h.tuning_table_len) {
        Region::Tuning
    } else if at < (h.program_table_offset + h.program_table_len) as usize {
        Region::Core
    } else if let Some(i) = b.programs().iter().position(|p| payload(p.source_offset, p.source_compressed_len)) {
        Region::Source(i)
    } else if let Some(i) = b.binaries().iter().position(|e| payload(e.payload_offset, e.compressed_len)) {
        Region::Binary(i)
    } else {
        Region::Padding
    }
}

#[test]
fn truncation_at_every_offset_is_a_truncated_error() {
    // Every region is present, so every cut lands in each kind of region at least once.
    let bytes = tuned_bundle();
    let good = Bundle::parse(&bytes).unwrap();
    let h = good.header().clone();
    let core_end = (h.program_table_offset + h.program_table_len) as usize;
    assert!(h.binary_table_len > 0 && h.tuning_table_len > 0 && h.payload_len > 0 && core_end < bytes.len());
    for n in 0..bytes.len() {
        let err = Bundle::parse(&bytes[..n]).expect_err("a truncated bundle must not parse");
        // Which structure the cut is found in: the magic, the version, the fixed header,
        // the core (header, info and program table, whose end the header gives), and
        // past the core, the bundle as a whole. `total_len` sits in the checksummed
        // header, so a cut inside the binary table, the tuning table, the payload region
        // or the padding refuses the whole bundle at parse time (a cut-off file is not a
        // damaged table: it is not known to be a bundle that this header describes).
        let expected = match n {
            0..=7 => "magic",
            8..=11 => "version",
            12..=175 => "header",
            n if n < core_end => "header and tables",
            _ => "bundle",
        };
        match &err {
            FormatError::Truncated { what, available, needed, .. } => {
                assert_eq!(*what, expected, "cut at {n}");
                if n >= 12 {
                    assert_eq!(*available, n as u64, "cut at {n}");
                }
                if n >= core_end {
                    assert_eq!(*needed, h.total_len, "cut at {n}");
                }
            }
            other => panic!("cut at {n}: {other:?}"),
        }
        assert!(scan(&bytes[..n]).iter().all(|(_, r)| r.is_err()), "cut at {n}");
    }
    assert!(Bundle::parse(&bytes).is_ok());
}

#[test]
fn a_flip_at_every_byte_costs_only_what_it_hits() {
    let bytes = tuned_bundle();
    let good_bundle = Bundle::parse(&bytes).unwrap();
    let good = contents(&good_bundle);
    assert!(good.damage.is_empty() && good.binaries.len() == 4 && good.tunings.len() == 5);
    let mut stats = std::collections::BTreeMap::<String, (usize, usize)>::new();
    for at in 0..bytes.len() {
        let region = region_of(&good_bundle, at);
        for pattern in [0x01u8, 0x10, 0x80, 0xff] {
            let mut b = bytes.clone();
            b[at] ^= pattern;
            let case = format!("byte {at} ^ {pattern:#04x} in {region:?}");
            let parsed = Bundle::parse(&b);
            let found = parsed.as_ref().map(contents);
            let _ = scan(&b);
            // (outcomes in which the hit part was lost, outcomes in which it survived)
            let tally = stats.entry(format!("{region:?}").split('(').next().unwrap().to_string()).or_default();
            match region {
                Region::Core => {
                    assert!(found.is_err(), "{case}");
                    tally.0 += 1;
                }
                Region::Binaries => {
                    let found = found.unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert_eq!(found, Contents { binaries: Vec::new(), damage: vec![Table::Binaries], ..good.clone() }, "{case}");
                    tally.0 += 1;
                }
                Region::Tuning => {
                    let found = found.unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert_eq!(found, Contents { tunings: Vec::new(), damage: vec![Table::Tuning], ..good.clone() }, "{case}");
                    tally.0 += 1;
                }
                Region::Padding => {
                    assert_eq!(found.unwrap_or_else(|e| panic!("{case}: {e}")), good, "{case}");
                    tally.1 += 1;
                }
                Region::Source(i) => {
                    let mut found = found.unwrap_or_else(|e| panic!("{case}: {e}"));
                    // The hit source fails its checks or decodes to exactly the baked text
                    // (zstd ignores a few bits); everything else is untouched.
                    match found.programs[i].3.take() {
                        None => tally.0 += 1,
                        Some(s) => {
                            assert_eq!(Some(s), good.programs[i].3, "{case}");
                            tally.1 += 1;
                        }
                    }
                    found.programs[i].3 = good.programs[i].3.clone();
                    assert_eq!(found, good, "{case}");
                }
                Region::Binary(i) => {
                    let mut found = found.unwrap_or_else(|e| panic!("{case}: {e}"));
                    match found.binaries[i].4.take() {
                        None => tally.0 += 1,
                        Some(x) => {
                            assert_eq!(Some(x), good.binaries[i].4, "{case}");
                            tally.1 += 1;
                        }
                    }
                    found.binaries[i].4 = good.binaries[i].4.clone();
                    assert_eq!(found, good, "{case}");
                }
            }
        }
    }
    eprintln!("flips by region (lost, intact): {stats:?}");
    for region in ["Core", "Binaries", "Tuning", "Source", "Binary", "Padding"] {
        assert!(stats.contains_key(region), "no byte of the sample is in {region}");
    }
    // Almost every flip of a payload is caught by its checks.
    for region in ["Source", "Binary"] {
        let (lost, intact) = stats[region];
        assert!(lost > 20 * intact, "{region}: {lost} caught, {intact} ignored by zstd");
    }
}

#[test]
fn random_flips_never_panic_and_never_yield_wrong_bytes() {
    let bytes = tuned_bundle();
    let good_bundle = Bundle::parse(&bytes).unwrap();
    let good = contents(&good_bundle);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut err) = (0, 0);
    for i in 0..3000 {
        let mut b = bytes.clone();
        let mut positions = Vec::new();
        for _ in 0..1 + i % 4 {
            let at = rng.below(b.len());
            if !positions.contains(&at) {
                b[at] ^= 1 << rng.below(8);
                positions.push(at);
            }
        }
        let hit: Vec<Region> = positions.iter().map(|&p| region_of(&good_bundle, p)).collect();
        match Bundle::parse(&b) {
            Ok(parsed) => {
                ok += 1;
                assert!(!hit.contains(&Region::Core), "{positions:?} {hit:?}");
                let found = contents(&parsed);
                assert_eq!(found.programs.len(), good.programs.len());
                for (s, g) in found.programs.iter().zip(&good.programs) {
                    assert!(s.3.is_none() || s.3 == g.3);
                    assert_eq!((&s.0, &s.1, &s.2), (&g.0, &g.1, &g.2));
                }
                // The binary table is all there or not at all; what decompresses is the baked binary.
                assert!(found.binaries.is_empty() || found.binaries.len() == good.binaries.len());
                for (x, g) in found.binaries.iter().zip(&good.binaries) {
                    assert!(x.4.is_none() || x.4 == g.4);
                    assert_eq!((x.0, x.1, &x.2, &x.3), (g.0, g.1, &g.2, &g.3));
                }
                assert!(found.tunings.is_empty() || found.tunings == good.tunings);
                assert_eq!(found.damage.contains(&Table::Binaries), hit.contains(&Region::Binaries));
                assert_eq!(found.damage.contains(&Table::Tuning), hit.contains(&Region::Tuning));
            }
            Err(_) => {
                err += 1;
                assert!(hit.contains(&Region::Core), "{positions:?} {hit:?}");
            }
        }
        let _ = scan(&b);
    }
    eprintln!("bit flips: {ok} parsed, {err} rejected");
    assert!(err > 300 && ok > 1000, "{ok} {err}");
}

#[test]
fn random_flips_in_resealed_tables_never_panic() {
    // With the checksums recomputed, the flips reach the record validation itself.
    let bytes = tuned_bundle();
    let h = Header::decode(&bytes).unwrap();
    let tables = HEADER_LEN..h.payload_offset as usize;
    let mut rng = XorShift(42);
    let (mut parsed, mut damaged) = (0, 0);
    for i in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..(1 + i % 3) {
            let at = if i % 5 == 0 { rng.below(HEADER_LEN) } else { tables.start + rng.below(tables.len()) };
            b[at] ^= 1 << rng.below(8);
        }
        if i % 7 == 0 {
            // Overwrite a whole word with a random value: big lengths and offsets.
            let at = tables.start + rng.below(tables.len() - 8);
            b[at..at + 8].copy_from_slice(&rng.next().to_le_bytes());
        }
        let _ = seal(&mut b);
        if let Ok(bundle) = Bundle::parse(&b) {
            parsed += 1;
            damaged += usize::from(!bundle.damage().is_empty());
            let found = contents(&bundle);
            for (_, _, kernels, _) in &found.programs {
                for k in kernels {
                    assert!(k.origin != SignatureOrigin::Unknown || k.params.is_empty());
                }
            }
            for t in bundle.tunings() {
                assert!(bundle.programs()[t.program as usize].kernel(t.kernel).is_some());
            }
        }
    }
    eprintln!("resealed flips: {parsed} of 3000 still parsed, {damaged} of them with a damaged table");
}

#[test]
fn random_headers_and_garbage_never_panic() {
    let mut rng = XorShift(7);
    for i in 0..2000 {
        let len = rng.below(800);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && b.len() >= 12 {
            b[..8].copy_from_slice(&MAGIC);
            b[8..12].copy_from_slice(&[2, 0, 0, 0]);
            if b.len() >= HEADER_LEN && i % 4 == 0 {
                // Plausible small offsets so that the layout checks are passed sometimes.
                put_u32(&mut b, 12, HEADER_LEN as u32);
                for at in (32..120).step_by(8) {
                    put_u64(&mut b, at, rng.below(len + 1) as u64);
                }
                let _ = seal(&mut b);
            }
        }
        if let Ok(bundle) = Bundle::parse(&b) {
            contents(&bundle);
        }
        let _ = scan(&b);
        let _ = section(&b, ".clbake");
    }
}
