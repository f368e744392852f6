//! The tuning table (format 1.1): round trip, lookups, merging, and one test per way a
//! tuning record can be damaged.

use super::*;
use crate::format::{Bundle, FormatError, TunedLaunch, TuningEntry};
use crate::hash::Hash128;

fn launch(kernel: &str, global: &[u64], local: Option<&[u64]>, best_ns: u64) -> TunedLaunch {
    TunedLaunch { kernel: kernel.into(), global: global.to_vec(), local: local.map(<[u64]>::to_vec), best_ns, default_ns: 1000 }
}

/// [`sample_writer`] plus five tuning records, added out of order.
fn tuned_writer() -> BundleWriter {
    let mut w = sample_writer();
    w.add_tuning(1, fp(2).hash(), launch("relu6", &[256], None, 900));
    w.add_tuning(1, fp(2).hash(), launch("relu", &[256], Some(&[64]), 500));
    w.add_tuning(0, fp(3).hash(), launch("add", &[1024], Some(&[32]), 700));
    w.add_tuning(0, fp(1).hash(), launch("add", &[64, 64], Some(&[8, 8]), 300));
    w.add_tuning(0, fp(1).hash(), launch("add", &[1024], Some(&[128]), 200));
    w
}

fn tuned_bundle() -> Vec<u8> {
    tuned_writer().to_bytes()
}

/// Offsets of the tuning records. Field offsets within a record: program +4,
/// program_key +8, fingerprint_hash +24, kernel (u32 length then bytes) +40.
fn tuning_records(bytes: &[u8]) -> Vec<usize> {
    let h = Header::decode(bytes).unwrap();
    let mut offset = h.tuning_table_offset as usize;
    (0..h.tuning_count)
        .map(|_| {
            let at = offset;
            offset += 4 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            at
        })
        .collect()
}

fn corrupted_what(bytes: &[u8]) -> &'static str {
    match Bundle::parse(bytes) {
        Err(e @ FormatError::Corrupted { what, .. }) => {
            assert!(e.may_fall_back());
            what
        }
        other => panic!("expected Corrupted, got {other:?}"),
    }
}

#[test]
fn round_trip_sorted_and_looked_up_per_program_and_device() {
    let bytes = tuned_bundle();
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.header().tuning_count, 5);
    let order: Vec<(u32, &str, &[u64])> = b.tunings().iter().map(|t| (t.program, t.kernel, t.global())).collect();
    assert_eq!(order.len(), 5);
    assert!(b.tunings().windows(2).all(|w| w[0].order() < w[1].order()));
    let add1 = b.tunings_for(0, &fp(1).hash());
    assert_eq!(add1.len(), 2);
    let by_global = |g: &[u64]| add1.iter().find(|t| t.global() == g).unwrap();
    assert_eq!(by_global(&[1024]).local(), Some(&[128][..]));
    assert_eq!(by_global(&[64, 64]).local(), Some(&[8, 8][..]));
    assert_eq!(by_global(&[64, 64]).best_ns, 300);
    assert!(add1.iter().all(|t| t.program_key == b.programs()[0].key()));
    assert_eq!(b.tunings_for(0, &fp(3).hash()).len(), 1);
    assert!(b.tunings_for(0, &fp(2).hash()).is_empty());
    let relu = b.tunings_for(1, &fp(2).hash());
    assert_eq!(relu.iter().map(|t| t.kernel).collect::<Vec<_>>(), ["relu", "relu6"]);
    assert_eq!(relu[1].local(), None, "the driver's choice won");
    assert!(b.tunings_for(7, &fp(2).hash()).is_empty());
    // Programs and binaries are untouched by the table in between.
    assert_eq!(b.program("relu").unwrap().1.source().unwrap(), SRC_RELU);
    assert_eq!(b.find_binary(0, &fp(1).hash()).unwrap().decompress().unwrap(), binary_bytes(0, 1));
}

#[test]
fn same_shape_replaces_and_output_is_deterministic() {
    let mut w = tuned_writer();
    w.add_tuning(0, fp(1).hash(), launch("add", &[1024], Some(&[256]), 150));
    assert_eq!(w.tuning_count(), 5);
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    let t = b.tunings_for(0, &fp(1).hash()).iter().find(|t| t.global() == [1024]).unwrap().clone();
    assert_eq!((t.local(), t.best_ns), (Some(&[256][..]), 150));
    assert_eq!(tuned_bundle(), tuned_bundle());
}

#[test]
fn merging_copies_fresh_entries_and_refuses_others() {
    let bytes = tuned_bundle();
    let b = Bundle::parse(&bytes).unwrap();
    let mut w = sample_writer();
    for t in b.tunings() {
        w.add_tuning_entry(t.program, t).unwrap();
    }
    assert_eq!(w.to_bytes(), bytes, "copying every record reproduces the bundle");
    let entry: &TuningEntry<'_> = &b.tunings()[0];
    // Another program (different key), a missing program, a kernel the program lacks.
    assert!(matches!(w.add_tuning_entry(1 - entry.program, entry), Err(FormatError::Outdated { what: "tuning entry", .. })));
    assert!(matches!(w.add_tuning_entry(9, entry), Err(FormatError::NoSuchProgram { index: 9, .. })));
    let mut other = BundleWriter::new();
    let prog = &b.programs()[entry.program as usize];
    other.add_program(prog.name, prog.options, &["zzz".into()], &prog.source().unwrap());
    // Same name/options/source but other kernels: the key matches, the kernel does not.
    assert!(matches!(other.add_tuning_entry(0, entry), Err(FormatError::Corrupted { what: "tuning entry", .. })));
}

#[test]
#[should_panic(expected = "has no kernel")]
fn add_tuning_for_an_unknown_kernel_panics() {
    sample_writer().add_tuning(0, Hash128::default(), launch("nope", &[1], None, 1));
}

#[test]
#[should_panic(expected = "global size")]
fn add_tuning_with_bad_sizes_panics() {
    sample_writer().add_tuning(0, Hash128::default(), launch("add", &[0], None, 1));
}

#[test]
fn corrupted_program_index_key_kernel_and_order() {
    let good = tuned_bundle();
    let recs = tuning_records(&good);
    // Program index out of range.
    let mut b = good.clone();
    put_u32(&mut b, recs[0] + 4, 9);
    reseal(&mut b);
    assert_eq!(corrupted_what(&b), "tuning record");
    // Program key of another program.
    let mut b = good.clone();
    b[recs[0] + 8] ^= 1;
    reseal(&mut b);
    assert_eq!(corrupted_what(&b), "tuning record");
    // Kernel name not in the program ("add" -> "adx").
    let mut b = good.clone();
    assert_eq!(&b[recs[0] + 44..recs[0] + 47], b"add");
    b[recs[0] + 46] = b'x';
    reseal(&mut b);
    assert_eq!(corrupted_what(&b), "tuning record");
    // Two records swapped: out of order.
    let mut b = good.clone();
    let (r0, r1, r2) = (recs[0], recs[1], recs[2]);
    let first = good[r0..r1].to_vec();
    let second = good[r1..r2].to_vec();
    let mut swapped = second.clone();
    swapped.extend_from_slice(&first);
    b[r0..r2].copy_from_slice(&swapped);
    reseal(&mut b);
    assert_eq!(corrupted_what(&b), "tuning table");
    // A duplicate: the first record written twice.
    let mut b = good.clone();
    let mut dup = first.clone();
    dup.extend_from_slice(&first);
    if dup.len() == r2 - r0 {
        b[r0..r2].copy_from_slice(&dup);
        reseal(&mut b);
        assert_eq!(corrupted_what(&b), "tuning table");
    }
}

#[test]
fn absurd_tuning_count_is_too_large_and_leftovers_are_corrupted() {
    let good = tuned_bundle();
    let mut b = good.clone();
    put_u32(&mut b, 28, u32::MAX);
    reseal(&mut b);
    assert!(matches!(Bundle::parse(&b), Err(FormatError::TooLarge { what: "tuning count", .. })));
    let mut b = good.clone();
    put_u32(&mut b, 28, 4);
    reseal(&mut b);
    assert_eq!(corrupted_what(&b), "tuning table");
}

#[test]
fn truncation_at_every_offset_and_bit_flips_never_panic() {
    let bytes = tuned_bundle();
    for n in 0..bytes.len() {
        assert!(Bundle::parse(&bytes[..n]).is_err(), "cut at {n}");
    }
    let h = Header::decode(&bytes).unwrap();
    let (start, end) = (h.tuning_table_offset as usize, (h.tuning_table_offset + h.tuning_table_len) as usize);
    let mut rng = XorShift(0x5DEE_CE66_D1CE_4E5B);
    for _ in 0..3000 {
        let mut b = bytes.clone();
        let at = start + rng.below(end - start);
        b[at] ^= 1 << rng.below(8);
        reseal(&mut b);
        if let Ok(parsed) = Bundle::parse(&b) {
            for t in parsed.tunings() {
                assert!((1..=3).contains(&t.work_dim));
                assert!(parsed.programs()[t.program as usize].kernels.contains(&t.kernel));
                let _ = (t.global(), t.local(), t.to_launch());
            }
        }
    }
}
