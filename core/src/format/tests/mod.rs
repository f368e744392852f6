//! Bundle-level tests of the format module, by topic, with shared fixtures here.

mod elf;
mod errors;
mod golden;
mod robustness;
mod roundtrip;
mod tuning;

use super::{
    seal, ArgValue, Bundle, BundleWriter, Header, KernelRecord, KnownAnswer, OutputDigest, ProgramSpec, SignatureOrigin, Table, TunedLaunch,
};
use crate::clc::{AccessQualifier, AddressQualifier, ParamInfo, TypeQualifiers};
use crate::fingerprint::Fingerprint;
use crate::hash::Hash128;

/// A distinct, realistic fingerprint per `n` (the same string lengths for `n` in 0..10).
pub(crate) fn fp(n: u32) -> Fingerprint {
    Fingerprint::from_parts(
        [
            "Portable Computing Language".to_string(),
            "The pocl project".to_string(),
            "OpenCL 3.0 PoCL 3.1".to_string(),
            format!("cpu-device-{n}"),
            "GenuineIntel".to_string(),
            "OpenCL 3.0 PoCL HSTR".to_string(),
            format!("3.{n}"),
            "OpenCL C 1.2 PoCL".to_string(),
            "x86_64/64".to_string(),
            "libpocl.so.2 size=1 build-id=ab".to_string(),
        ],
        if n.is_multiple_of(2) { 64 } else { 32 },
    )
}

/// A kernel parameter.
pub(crate) fn param(name: &str, address: AddressQualifier, access: AccessQualifier, type_name: &str, q: TypeQualifiers) -> ParamInfo {
    ParamInfo { name: name.into(), address, access, type_name: type_name.into(), type_qualifiers: q }
}

/// Sources of the two programs of [`sample_bundle`].
pub(crate) const SRC_ADD: &str = "kernel void add(global float* a, global const float* b) { a[get_global_id(0)] += b[get_global_id(0)]; }";
pub(crate) const SRC_RELU: &str = "kernel void relu(global float* a) { a[get_global_id(0)] = fmax(a[get_global_id(0)], 0.0f); }\nkernel void relu6(global float* a) { a[get_global_id(0)] = clamp(a[get_global_id(0)], 0.0f, 6.0f); }";

/// The kernel of `add` as a driver reports it.
pub(crate) fn add_kernels() -> Vec<KernelRecord> {
    use AccessQualifier as Acc;
    use AddressQualifier as Addr;
    vec![KernelRecord {
        name: "add".into(),
        origin: SignatureOrigin::Driver,
        note: String::new(),
        reqd_work_group_size: None,
        params: vec![
            param("a", Addr::Global, Acc::None, "float*", TypeQualifiers::NONE),
            param("b", Addr::Global, Acc::None, "float*", TypeQualifiers::CONST),
        ],
    }]
}

/// The spec of program `add` (kernels with the driver's signatures).
pub(crate) fn add_spec() -> ProgramSpec<'static> {
    ProgramSpec { name: "add", stem: "add", variant: "", options: "-cl-fast-relaxed-math", source: SRC_ADD, kernels: add_kernels() }
}

/// The spec of program `relu` (kernels with unknown signatures).
pub(crate) fn relu_spec() -> ProgramSpec<'static> {
    ProgramSpec::simple("relu", "", &["relu", "relu6"], SRC_RELU)
}

/// The binary stored for program `p` and fingerprint `f` in [`sample_writer`].
pub(crate) fn binary_bytes(p: u32, f: u32) -> Vec<u8> {
    let mut v = format!("BINARY program={p} device={f} ").into_bytes();
    v.extend((0..200u32).map(|i| (i * (p + 3) * (f + 7)) as u8));
    v
}

/// The known answer stored with the binary of `relu` in [`sample_writer`].
pub(crate) fn relu_answer() -> KnownAnswer {
    KnownAnswer {
        kernel: "relu".into(),
        global: vec![256],
        local: Some(vec![64]),
        args: vec![ArgValue::Int(256)],
        tolerance: 0.0,
        seed: 7,
        outputs: vec![OutputDigest { param: 0, bytes: 1024, hash: Hash128::of(b"relu output"), samples: vec![0, 0, 128, 63] }],
    }
}

/// Two programs; three binaries (fingerprints 1, 2, 3) for the first, one with a known
/// answer for the second. No tuning records.
pub(crate) fn sample_writer() -> BundleWriter {
    let mut w = BundleWriter::new().with_level(3);
    let add = w.add_program(&add_spec());
    let relu = w.add_program(&relu_spec());
    for f in [1, 2, 3] {
        w.add_binary(add, &fp(f), &binary_bytes(add, f), &[]);
    }
    w.add_binary(relu, &fp(2), &binary_bytes(relu, 2), &[relu_answer()]);
    w
}

/// The bytes of [`sample_writer`].
pub(crate) fn sample_bundle() -> Vec<u8> {
    sample_writer().to_bytes()
}

/// A tuning record.
pub(crate) fn launch(kernel: &str, global: &[u64], local: Option<&[u64]>, best_ns: u64) -> TunedLaunch {
    TunedLaunch { kernel: kernel.into(), global: global.to_vec(), local: local.map(<[u64]>::to_vec), best_ns, default_ns: 1000 }
}

/// [`sample_writer`] plus five tuning records, added out of order: every table is filled.
pub(crate) fn tuned_writer() -> BundleWriter {
    let mut w = sample_writer();
    w.add_tuning(1, fp(2).hash(), launch("relu6", &[256], None, 900));
    w.add_tuning(1, fp(2).hash(), launch("relu", &[256], Some(&[64]), 500));
    w.add_tuning(0, fp(3).hash(), launch("add", &[1024], Some(&[32]), 700));
    w.add_tuning(0, fp(1).hash(), launch("add", &[64, 64], Some(&[8, 8]), 300));
    w.add_tuning(0, fp(1).hash(), launch("add", &[1024], Some(&[128]), 200));
    w
}

/// The bytes of [`tuned_writer`].
pub(crate) fn tuned_bundle() -> Vec<u8> {
    tuned_writer().to_bytes()
}

/// Recomputes the three checksums after a test edited the header or tables, so that the
/// edit reaches the record validation instead of stopping at a checksum.
pub(crate) fn reseal(bytes: &mut [u8]) {
    seal(bytes).expect("the edited header still decodes and its core fits");
}

/// Offsets (from the bundle start) of each record of the table at `offset`, `count` records.
fn record_offsets(bytes: &[u8], mut offset: usize, count: u32) -> Vec<usize> {
    let mut v = Vec::new();
    for _ in 0..count {
        v.push(offset);
        offset += 4 + u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
    }
    v
}

/// Offsets of the program records. Fields: record_len +0, then `str` name, stem, variant,
/// options, `[16]` key, `[16]` source_hash, u64 source_offset, source_compressed_len,
/// source_len, u32 kernel_count (use [`field_at`] to find a field after the strings).
pub(crate) fn program_records(bytes: &[u8]) -> Vec<usize> {
    let h = Header::decode(bytes).unwrap();
    record_offsets(bytes, h.program_table_offset as usize, h.program_count)
}

/// Offsets of the binary records. Field offsets within a record: program +4,
/// program_key +8, fingerprint_hash +24, uncompressed_len +40, compressed_len +48,
/// checksum +56, payload_offset +72, fingerprint +80 (its first string's bytes at +84).
pub(crate) fn binary_records(bytes: &[u8]) -> Vec<usize> {
    let h = Header::decode(bytes).unwrap();
    record_offsets(bytes, h.binary_table_offset as usize, h.binary_count)
}

/// Offsets of the tuning records. Field offsets within a record: program +4,
/// program_key +8, fingerprint_hash +24, kernel (u32 length then bytes) +40.
pub(crate) fn tuning_records(bytes: &[u8]) -> Vec<usize> {
    let h = Header::decode(bytes).unwrap();
    record_offsets(bytes, h.tuning_table_offset as usize, h.tuning_count)
}

/// Offset of the first occurrence of `needle` in `bytes` at or after `from`.
pub(crate) fn field_at(bytes: &[u8], from: usize, needle: &[u8]) -> usize {
    from + bytes[from..].windows(needle.len()).position(|w| w == needle).unwrap_or_else(|| panic!("{needle:02x?} not found after {from}"))
}

/// Writes a little-endian `u32` at `at`.
pub(crate) fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes a little-endian `u64` at `at`.
pub(crate) fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Parses `bytes`, which must be readable with `table` damaged (and nothing else), and
/// returns the damage message: the table is empty, the other table and every program
/// (its source included) are intact.
pub(crate) fn damage_of(bytes: &[u8], table: Table) -> String {
    let b = Bundle::parse(bytes).unwrap_or_else(|e| panic!("damage to the {table} must not fail the parse: {e}"));
    let h = b.header();
    assert_eq!(b.damage().len(), 1, "{:?}", b.damage());
    assert_eq!(b.damage()[0].0, table, "{:?}", b.damage());
    match table {
        Table::Binaries => {
            assert!(b.binaries().is_empty());
            assert_eq!(b.tunings().len(), h.tuning_count as usize, "the tuning table is not affected");
        }
        Table::Tuning => {
            assert!(b.tunings().is_empty());
            assert_eq!(b.binaries().len(), h.binary_count as usize, "the binary table is not affected");
            for e in b.binaries() {
                e.decompress().unwrap();
            }
        }
    }
    assert_eq!(b.programs().len(), h.program_count as usize);
    for p in b.programs() {
        p.source().unwrap_or_else(|e| panic!("program {:?} must stay readable: {e}", p.name));
    }
    b.damage()[0].1.clone()
}

/// A tiny deterministic PRNG (xorshift64*), so tests need no `rand`.
pub(crate) struct XorShift(pub u64);

impl XorShift {
    /// Next pseudo-random value.
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish value in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Writes seed inputs for the `bundle_parse` fuzz target into `$CLBAKE_FUZZ_CORPUS`:
/// `CLBAKE_FUZZ_CORPUS=fuzz/corpus/bundle_parse cargo test -p clbake-core --lib write_fuzz_seeds -- --ignored`
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("CLBAKE_FUZZ_CORPUS") else {
        panic!("set CLBAKE_FUZZ_CORPUS to the corpus directory");
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sample = sample_bundle();
    let empty = BundleWriter::new().to_bytes();
    let mut one = BundleWriter::new();
    one.add_program(&ProgramSpec::simple("p", "-DX", &["k"], "kernel void k() {}"));
    let one = one.to_bytes();
    let mut two = sample.clone();
    two.extend_from_slice(&[0; 32]);
    two.extend_from_slice(&one);
    let elf_one = elf::build_elf(true, true, false, &two);
    let elf_two = elf::build_elf(false, false, true, &sample);
    let tuned = tuned_bundle();
    for (name, bytes) in [
        ("tuned.clbk", &tuned),
        ("sample.clbk", &sample),
        ("empty.clbk", &empty),
        ("one.clbk", &one),
        ("two.clbk", &two),
        ("elf64le.bin", &elf_one),
        ("elf32be.bin", &elf_two),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
