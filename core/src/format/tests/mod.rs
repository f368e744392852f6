//! Bundle-level tests of the format module, by topic, with shared fixtures here.

mod elf;
mod errors;
mod golden;
mod robustness;
mod roundtrip;
mod tuning;

use super::{compute_table_checksum, BundleWriter, Header, CHECKSUM_OFFSET, HEADER_LEN};
use crate::fingerprint::Fingerprint;

/// A distinct, realistic fingerprint per `n`.
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
        ],
        if n % 2 == 0 { 64 } else { 32 },
    )
}

/// Sources of the two programs of [`sample_bundle`].
pub(crate) const SRC_ADD: &str = "kernel void add(global float* a, global const float* b) { a[get_global_id(0)] += b[get_global_id(0)]; }";
pub(crate) const SRC_RELU: &str = "kernel void relu(global float* a) { a[get_global_id(0)] = fmax(a[get_global_id(0)], 0.0f); }\nkernel void relu6(global float* a) { a[get_global_id(0)] = clamp(a[get_global_id(0)], 0.0f, 6.0f); }";

/// The binary stored for program `p` and fingerprint `f` in [`sample_writer`].
pub(crate) fn binary_bytes(p: u32, f: u32) -> Vec<u8> {
    let mut v = format!("BINARY program={p} device={f} ").into_bytes();
    v.extend((0..200u32).map(|i| (i * (p + 3) * (f + 7)) as u8));
    v
}

/// Two programs; three binaries (fingerprints 1, 2, 3) for the first, one for the second.
pub(crate) fn sample_writer() -> BundleWriter {
    let mut w = BundleWriter::new().with_level(3);
    let add = w.add_program(
        "add",
        "-cl-fast-relaxed-math",
        &["add".to_string()],
        SRC_ADD,
    );
    let relu = w.add_program(
        "relu",
        "",
        &["relu".to_string(), "relu6".to_string()],
        SRC_RELU,
    );
    for f in [1, 2, 3] {
        w.add_binary(add, &fp(f), &binary_bytes(add, f));
    }
    w.add_binary(relu, &fp(2), &binary_bytes(relu, 2));
    w
}

/// The bytes of [`sample_writer`].
pub(crate) fn sample_bundle() -> Vec<u8> {
    sample_writer().to_bytes()
}

/// Recomputes the table checksum after a test edited the header or tables, so that the
/// edit reaches the record validation instead of stopping at the checksum.
pub(crate) fn reseal(bytes: &mut [u8]) {
    let payload_offset = u64::from_le_bytes(bytes[80..88].try_into().unwrap());
    if let Some(c) = compute_table_checksum(bytes, payload_offset) {
        bytes[CHECKSUM_OFFSET..HEADER_LEN].copy_from_slice(&c.0);
    }
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

/// Offsets of the program records.
pub(crate) fn program_records(bytes: &[u8]) -> Vec<usize> {
    let h = Header::decode(bytes).unwrap();
    record_offsets(bytes, h.program_table_offset as usize, h.program_count)
}

/// Offsets of the binary records. Field offsets within a record: program +4,
/// program_key +8, fingerprint_hash +24, uncompressed_len +40, compressed_len +48,
/// checksum +56, payload_offset +72, fingerprint +80.
pub(crate) fn binary_records(bytes: &[u8]) -> Vec<usize> {
    let h = Header::decode(bytes).unwrap();
    record_offsets(bytes, h.binary_table_offset as usize, h.binary_count)
}

/// Writes a little-endian `u32` / `u64` at `at`.
pub(crate) fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes a little-endian `u64` at `at`.
pub(crate) fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
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
    one.add_program("p", "-DX", &["k".to_string()], "kernel void k() {}");
    let one = one.to_bytes();
    let mut two = sample.clone();
    two.extend_from_slice(&[0; 32]);
    two.extend_from_slice(&one);
    let elf_one = elf::build_elf(true, true, false, &two);
    let elf_two = elf::build_elf(false, false, true, &sample);
    let mut tuned = sample_writer();
    let launch = |kernel: &str, global: Vec<u64>, local: Option<Vec<u64>>| crate::format::TunedLaunch { kernel: kernel.into(), global, local, best_ns: 500, default_ns: 900 };
    tuned.add_tuning(0, fp(1).hash(), launch("add", vec![1024], Some(vec![64])));
    tuned.add_tuning(1, fp(2).hash(), launch("relu6", vec![32, 32, 4], None));
    let tuned = tuned.to_bytes();
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
