//! The tuning table: round trip, lookups, merging, and one test per way a tuning record
//! can be damaged. A damaged tuning table costs the tuned work sizes only: the bundle still
//! parses with its programs and binaries, and [`Bundle::damage`] names the table.

use super::*;
use crate::format::{FormatError, TuningEntry};

/// The damage message of a bundle whose tuning table is damaged.
fn tuning_damage(bytes: &[u8]) -> String {
    let msg = damage_of(bytes, Table::Tuning);
    let good = tuned_bundle();
    let (good, damaged) = (Bundle::parse(&good).unwrap(), Bundle::parse(bytes).unwrap());
    assert_eq!(damaged.programs(), good.programs());
    msg
}

#[test]
fn round_trip_sorted_and_looked_up_per_program_and_device() {
    let bytes = tuned_bundle();
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.header().tuning_count, 5);
    assert!(b.damage().is_empty());
    assert_eq!(b.tunings().len(), 5);
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
    assert_eq!(b.find_binary(1, &fp(2).hash()).unwrap().checks().unwrap(), [relu_answer()]);
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
    let source = prog.source().unwrap();
    other.add_program(&ProgramSpec::simple(prog.name, prog.options, &["zzz"], &source));
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
    let msg = tuning_damage(&b);
    assert!(msg.starts_with("corrupted tuning record") && msg.contains("names program 9 of 2"), "{msg}");
    // Program key of another program.
    let mut b = good.clone();
    b[recs[0] + 8] ^= 1;
    reseal(&mut b);
    let msg = tuning_damage(&b);
    assert!(msg.starts_with("corrupted tuning record") && msg.contains("program key"), "{msg}");
    // Kernel name not in the program ("add" -> "adx").
    let mut b = good.clone();
    assert_eq!(&b[recs[0] + 44..recs[0] + 47], b"add");
    b[recs[0] + 46] = b'x';
    reseal(&mut b);
    let msg = tuning_damage(&b);
    assert!(msg.starts_with("corrupted tuning record") && msg.contains("\"adx\""), "{msg}");
    // Two records swapped: out of order.
    let mut b = good.clone();
    let (r0, r1, r2) = (recs[0], recs[1], recs[2]);
    let first = good[r0..r1].to_vec();
    let second = good[r1..r2].to_vec();
    let mut swapped = second.clone();
    swapped.extend_from_slice(&first);
    b[r0..r2].copy_from_slice(&swapped);
    reseal(&mut b);
    assert!(tuning_damage(&b).starts_with("corrupted tuning table"));
    // A duplicate: the first record written twice (records 0 and 1 are both of `add`).
    assert_eq!(r1 - r0, r2 - r1);
    let mut b = good.clone();
    b[r1..r2].copy_from_slice(&first);
    reseal(&mut b);
    assert!(tuning_damage(&b).starts_with("corrupted tuning table"));
    // A bad work_dim.
    let mut b = good.clone();
    put_u32(&mut b, recs[0] + 47, 4);
    reseal(&mut b);
    assert!(tuning_damage(&b).contains("work_dim 4"));
}

#[test]
fn checksum_mismatch_absurd_count_and_leftovers_cost_the_tuning_table_only() {
    let good = tuned_bundle();
    let mut b = good.clone();
    b[tuning_records(&good)[2] + 30] ^= 0x40;
    assert!(tuning_damage(&b).starts_with("checksum mismatch in tuning table"));
    let mut b = good.clone();
    b[170] ^= 1; // the stored tuning checksum
    assert!(tuning_damage(&b).starts_with("checksum mismatch in tuning table"));
    let mut b = good.clone();
    put_u32(&mut b, 28, u32::MAX);
    reseal(&mut b);
    assert!(tuning_damage(&b).starts_with("tuning count is too large"));
    let mut b = good.clone();
    put_u32(&mut b, 28, 4);
    reseal(&mut b);
    let msg = tuning_damage(&b);
    assert!(msg.starts_with("corrupted tuning table") && msg.contains("unexpected bytes"), "{msg}");
}

#[test]
fn truncated_records_and_resealed_bit_flips_never_panic() {
    let bytes = tuned_bundle();
    let h = Header::decode(&bytes).unwrap();
    let (start, end) = (h.tuning_table_offset as usize, (h.tuning_table_offset + h.tuning_table_len) as usize);
    // A record length pointing past the table.
    let mut b = bytes.clone();
    put_u32(&mut b, tuning_records(&bytes)[4], 10_000);
    reseal(&mut b);
    assert!(tuning_damage(&b).starts_with("truncated tuning record"));
    let mut rng = XorShift(0x5DEE_CE66_D1CE_4E5B);
    let mut kept = 0;
    for _ in 0..3000 {
        let mut b = bytes.clone();
        let at = start + rng.below(end - start);
        b[at] ^= 1 << rng.below(8);
        reseal(&mut b);
        let parsed = Bundle::parse(&b).expect("tuning damage never fails the parse");
        assert_eq!(parsed.binaries().len(), 4);
        kept += usize::from(parsed.damage().is_empty());
        for t in parsed.tunings() {
            assert!((1..=3).contains(&t.work_dim));
            assert!(parsed.programs()[t.program as usize].kernel(t.kernel).is_some());
            assert_eq!(t.program_key, parsed.programs()[t.program as usize].key());
            let _ = (t.global(), t.local(), t.to_launch());
        }
    }
    eprintln!("resealed tuning flips: {kept} of 3000 left a valid table (timings, sizes)");
}
