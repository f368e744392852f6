//! [`BundleWriter`]: builds a bundle in memory, deterministically.
//!
//! Layout written (see [`Header`] for the header fields):
//! header (128 bytes) | program table | binary table | tuning table | zero padding
//! to 16 | payload region: program sources in program order, then binaries in table
//! order | zero padding to a multiple of [`ALIGN`].

use super::codec::{Compressor, MAX_UNCOMPRESSED};
use super::entry::BinaryEntry;
use super::error::FormatError;
use super::header::{compute_table_checksum, Header, CHECKSUM_OFFSET, HEADER_LEN};
use super::record::{encode_fingerprint, write_binary, write_program};
use super::tuning::{check_launch, write_tuning, TunedLaunch, TuningEntry};
use super::{ALIGN, FORMAT_MAJOR, FORMAT_MINOR, MAGIC};
use crate::fingerprint::Fingerprint;
use crate::hash::{program_key, Hash128};
use std::collections::BTreeMap;

/// Default zstd level: bundles are written once, at build time, and read many times.
pub const DEFAULT_LEVEL: i32 = 19;

#[derive(Debug)]
struct ProgramIn {
    name: String,
    options: String,
    kernels: Vec<String>,
    source_hash: Hash128,
    key: Hash128,
    source_len: u64,
    compressed: Vec<u8>,
}

#[derive(Debug)]
struct BinaryIn {
    program_key: Hash128,
    uncompressed_len: u64,
    checksum: Hash128,
    compressed: Vec<u8>,
    fp_raw: Vec<u8>,
}

/// Collects programs and binaries and writes them as one bundle.
///
/// The output depends only on what was added (and the zstd level and library version):
/// the same inputs give byte-identical bundles. Binaries are kept sorted by
/// (program index, fingerprint hash); adding a binary for a (program, device) pair that
/// already has one replaces it.
#[derive(Debug)]
pub struct BundleWriter {
    compressor: Compressor,
    programs: Vec<ProgramIn>,
    binaries: BTreeMap<(u32, Hash128), BinaryIn>,
    /// Keyed by the table's sort order: (program, device, kernel, work_dim, global).
    tunings: BTreeMap<(u32, Hash128, String, u32, [u64; 3]), TunedLaunch>,
}

impl Default for BundleWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl BundleWriter {
    /// An empty writer compressing at zstd level [`DEFAULT_LEVEL`] (19).
    pub fn new() -> Self {
        BundleWriter {
            compressor: Compressor::new(DEFAULT_LEVEL),
            programs: Vec::new(),
            binaries: BTreeMap::new(),
            tunings: BTreeMap::new(),
        }
    }

    /// Sets the zstd level (clamped to zstd's range) for entries added from now on.
    pub fn with_level(mut self, level: i32) -> Self {
        self.compressor = Compressor::new(level);
        self
    }

    /// Number of programs added so far.
    pub fn program_count(&self) -> usize {
        self.programs.len()
    }

    /// Number of binaries added so far.
    pub fn binary_count(&self) -> usize {
        self.binaries.len()
    }

    /// Adds a program (its source with includes already expanded) and returns its index.
    /// Adding the same name, options, kernels and source again returns the first index.
    ///
    /// # Panics
    /// If `source` is larger than 1 GiB ([`MAX_UNCOMPRESSED`]), which readers refuse.
    pub fn add_program(
        &mut self,
        name: &str,
        options: &str,
        kernels: &[String],
        source: &str,
    ) -> u32 {
        let source_hash = Hash128::of(source.as_bytes());
        let existing = self.programs.iter().position(|p| {
            p.name == name
                && p.options == options
                && p.source_hash == source_hash
                && p.kernels == kernels
        });
        if let Some(i) = existing {
            return i as u32;
        }
        assert!(
            source.len() as u64 <= MAX_UNCOMPRESSED,
            "program source {name:?} is larger than 1 GiB"
        );
        let index = u32::try_from(self.programs.len()).expect("fewer than 2^32 programs");
        self.programs.push(ProgramIn {
            name: name.to_owned(),
            options: options.to_owned(),
            kernels: kernels.to_vec(),
            source_hash,
            key: program_key(name, options, &source_hash),
            source_len: source.len() as u64,
            compressed: self.compressor.compress(source.as_bytes()),
        });
        index
    }

    /// Adds the binary of program `program` compiled for the device `fingerprint`.
    ///
    /// # Panics
    /// If `program` is not an index returned by [`add_program`](Self::add_program), or if
    /// `binary` is larger than 1 GiB ([`MAX_UNCOMPRESSED`]).
    pub fn add_binary(&mut self, program: u32, fingerprint: &Fingerprint, binary: &[u8]) {
        let count = self.programs.len();
        let Some(p) = self.programs.get(program as usize) else {
            panic!("add_binary: no program with index {program} (the writer has {count})");
        };
        assert!(
            binary.len() as u64 <= MAX_UNCOMPRESSED,
            "binary for {:?} is larger than 1 GiB",
            p.name
        );
        let entry = BinaryIn {
            program_key: p.key,
            uncompressed_len: binary.len() as u64,
            checksum: Hash128::of(binary),
            compressed: self.compressor.compress(binary),
            fp_raw: encode_fingerprint(fingerprint),
        };
        self.binaries.insert((program, fingerprint.hash()), entry);
    }

    /// Adds an already-compressed binary taken from another bundle, without recompressing
    /// it, keeping its checksum and fingerprint; used to merge precompiled bundles.
    ///
    /// The entry must have been built from the same program (equal program key), else
    /// [`FormatError::Outdated`]. Its payload is decompressed once and verified, so a
    /// damaged entry is refused here, at build time, instead of on the device.
    pub fn add_binary_entry(
        &mut self,
        program: u32,
        entry: &BinaryEntry<'_>,
    ) -> Result<(), FormatError> {
        let count = self.programs.len() as u32;
        let p = self
            .programs
            .get(program as usize)
            .ok_or(FormatError::NoSuchProgram {
                index: program,
                count,
            })?;
        if entry.program_key != p.key {
            return Err(FormatError::Outdated {
                what: "binary entry",
                expected: p.key,
                found: entry.program_key,
            });
        }
        entry.decompress()?;
        let value = BinaryIn {
            program_key: p.key,
            uncompressed_len: entry.uncompressed_len,
            checksum: entry.checksum,
            compressed: entry.compressed().to_vec(),
            fp_raw: entry.fp_raw.to_vec(),
        };
        self.binaries
            .insert((program, entry.fingerprint_hash), value);
        Ok(())
    }

    /// Number of tuning records added so far.
    pub fn tuning_count(&self) -> usize {
        self.tunings.len()
    }

    /// Records the best local work size of a kernel of program `program` at one global
    /// size, measured on the device whose fingerprint hashes to `fingerprint_hash`. A record
    /// for the same (program, device, kernel, global size) is replaced.
    ///
    /// # Panics
    /// If `program` is not an index returned by [`add_program`](Self::add_program), if the
    /// kernel is not one of the program's, or if the sizes are not 1 to 3 dimensions of at
    /// least 1 (with `local`, when given, as long as `global`).
    pub fn add_tuning(&mut self, program: u32, fingerprint_hash: Hash128, launch: TunedLaunch) {
        let count = self.programs.len();
        let Some(p) = self.programs.get(program as usize) else {
            panic!("add_tuning: no program with index {program} (the writer has {count})");
        };
        assert!(p.kernels.contains(&launch.kernel), "add_tuning: program {:?} has no kernel {:?}", p.name, launch.kernel);
        let (dim, global, _) = check_launch(&launch).unwrap_or_else(|e| panic!("add_tuning: {e}"));
        self.tunings.insert((program, fingerprint_hash, launch.kernel.clone(), dim, global), launch);
    }

    /// Copies a tuning record taken from another bundle. The record must have been measured
    /// with the same program (equal program key), else [`FormatError::Outdated`].
    pub fn add_tuning_entry(&mut self, program: u32, entry: &TuningEntry<'_>) -> Result<(), FormatError> {
        let count = self.programs.len() as u32;
        let p = self.programs.get(program as usize).ok_or(FormatError::NoSuchProgram { index: program, count })?;
        if entry.program_key != p.key {
            return Err(FormatError::Outdated { what: "tuning entry", expected: p.key, found: entry.program_key });
        }
        if !p.kernels.iter().any(|k| k == entry.kernel) {
            return Err(FormatError::corrupted("tuning entry", format!("program {:?} has no kernel {:?}", p.name, entry.kernel)));
        }
        self.tunings.insert((program, entry.fingerprint_hash, entry.kernel.to_string(), entry.work_dim, entry.global), entry.to_launch());
        Ok(())
    }

    /// Writes the bundle. Its length is a multiple of [`ALIGN`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        let mut program_table = Vec::new();
        for p in &self.programs {
            let offset = payload.len() as u64;
            payload.extend_from_slice(&p.compressed);
            let clen = p.compressed.len() as u64;
            write_program(
                &mut program_table,
                &p.name,
                &p.options,
                &p.source_hash,
                &p.kernels,
                offset,
                clen,
                p.source_len,
            );
        }
        let mut binary_table = Vec::new();
        for ((program, fp_hash), b) in &self.binaries {
            let offset = payload.len() as u64;
            payload.extend_from_slice(&b.compressed);
            let clen = b.compressed.len() as u64;
            write_binary(
                &mut binary_table,
                *program,
                &b.program_key,
                fp_hash,
                b.uncompressed_len,
                clen,
                &b.checksum,
                offset,
                &b.fp_raw,
            );
        }

        let mut tuning_table = Vec::new();
        for ((program, fp_hash, _, _, _), t) in &self.tunings {
            write_tuning(&mut tuning_table, *program, &self.programs[*program as usize].key, fp_hash, t);
        }

        let program_table_offset = HEADER_LEN as u64;
        let binary_table_offset = program_table_offset + program_table.len() as u64;
        let tuning_table_offset = binary_table_offset + binary_table.len() as u64;
        let payload_offset = align_up(tuning_table_offset + tuning_table.len() as u64);
        let total_len = align_up(payload_offset + payload.len() as u64);
        let header = Header {
            magic: MAGIC,
            major: FORMAT_MAJOR,
            minor: FORMAT_MINOR,
            header_size: HEADER_LEN as u32,
            flags: 0,
            program_count: self.programs.len() as u32,
            binary_count: self.binaries.len() as u32,
            tuning_count: self.tunings.len() as u32,
            program_table_offset,
            program_table_len: program_table.len() as u64,
            binary_table_offset,
            binary_table_len: binary_table.len() as u64,
            tuning_table_offset,
            tuning_table_len: tuning_table.len() as u64,
            payload_offset,
            payload_len: payload.len() as u64,
            total_len,
            reserved: 0,
            table_checksum: Hash128::default(),
        };

        let mut out = Vec::with_capacity(total_len as usize);
        out.extend_from_slice(&header.encode());
        out.extend_from_slice(&program_table);
        out.extend_from_slice(&binary_table);
        out.extend_from_slice(&tuning_table);
        out.resize(payload_offset as usize, 0);
        out.extend_from_slice(&payload);
        out.resize(total_len as usize, 0);
        let checksum =
            compute_table_checksum(&out, payload_offset).expect("payload_offset within the bundle");
        out[CHECKSUM_OFFSET..HEADER_LEN].copy_from_slice(&checksum.0);
        out
    }
}

/// Rounds `n` up to a multiple of [`ALIGN`].
fn align_up(n: u64) -> u64 {
    n.div_ceil(ALIGN as u64) * ALIGN as u64
}
