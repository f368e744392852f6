//! [`BundleWriter`]: builds a bundle in memory, deterministically.
//!
//! Layout written (see [`Header`] for the header fields):
//! header | info | program table | binary table | tuning table | zero padding to 16 |
//! payload region: program sources in program order, then binaries in table order |
//! zero padding to a multiple of [`ALIGN`].

use super::binary::{encode_checks, encode_fingerprint, write_binary, BinaryEntry, BinaryFields};
use super::check::KnownAnswer;
use super::codec::{Compressor, MAX_UNCOMPRESSED};
use super::header::{seal, Header, HEADER_LEN};
use super::program::{write_program, KernelRecord, ProgramFields};
use super::tuning::{check_launch, write_tuning, TunedLaunch, TuningEntry};
use super::{ALIGN, FORMAT_MAJOR, FORMAT_MINOR, MAGIC};
use crate::fingerprint::Fingerprint;
use crate::hash::Hash128;
use crate::wire::{FormatError, PutLe};
use std::collections::BTreeMap;

/// Default zstd level: bundles are written once, at build time, and read many times.
pub const DEFAULT_LEVEL: i32 = 19;

/// A program to add: everything the program table stores but its payload placement.
#[derive(Clone, Debug)]
pub struct ProgramSpec<'s> {
    /// Program name, unique in the bundle (`nchw/pool_relu`).
    pub name: &'s str,
    /// The kernel file's relative path without `.cl` (`nchw/pool`).
    pub stem: &'s str,
    /// Build variant, empty when none.
    pub variant: &'s str,
    /// Build options.
    pub options: &'s str,
    /// Source with includes expanded.
    pub source: &'s str,
    /// Kernels in source order, with their signatures.
    pub kernels: Vec<KernelRecord>,
}

impl<'s> ProgramSpec<'s> {
    /// A program named `name` from its own file (stem = name, no variant) whose kernels'
    /// signatures are not given.
    pub fn simple(name: &'s str, options: &'s str, kernels: &[&str], source: &'s str) -> Self {
        let kernels = kernels.iter().map(|k| KernelRecord::unknown(k, "signature not recorded")).collect();
        ProgramSpec { name, stem: name, variant: "", options, source, kernels }
    }
}

#[derive(Debug)]
struct ProgramIn {
    name: String,
    stem: String,
    variant: String,
    options: String,
    kernels: Vec<KernelRecord>,
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
    checks_raw: Vec<u8>,
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
    info: String,
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
            info: format!("clbake {}", env!("CARGO_PKG_VERSION")),
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

    /// Sets the info string (default `clbake VERSION`): who wrote the bundle, with which
    /// settings. Part of the checksummed core; `clbake inspect` shows it.
    pub fn with_info(mut self, info: impl Into<String>) -> Self {
        self.info = info.into();
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

    /// The key of program `program` (see [`crate::hash::program_key`]), if it exists.
    pub fn program_key(&self, program: u32) -> Option<Hash128> {
        self.programs.get(program as usize).map(|p| p.key)
    }

    /// Adds a program (its source with includes already expanded) and returns its index.
    /// Its key is computed from its name, options and the source's tokens. Adding a program
    /// with the same name again replaces nothing and returns the first index.
    ///
    /// # Panics
    /// If `source` is larger than 1 GiB ([`MAX_UNCOMPRESSED`]), which readers refuse.
    pub fn add_program(&mut self, spec: &ProgramSpec<'_>) -> u32 {
        if let Some(i) = self.programs.iter().position(|p| p.name == spec.name) {
            return i as u32;
        }
        assert!(spec.source.len() as u64 <= MAX_UNCOMPRESSED, "program source {:?} is larger than 1 GiB", spec.name);
        let index = u32::try_from(self.programs.len()).expect("fewer than 2^32 programs");
        self.programs.push(ProgramIn {
            name: spec.name.to_owned(),
            stem: spec.stem.to_owned(),
            variant: spec.variant.to_owned(),
            options: spec.options.to_owned(),
            kernels: spec.kernels.clone(),
            source_hash: Hash128::of(spec.source.as_bytes()),
            key: crate::hash::program_key_of_source(spec.name, spec.options, spec.source),
            source_len: spec.source.len() as u64,
            compressed: self.compressor.compress(spec.source.as_bytes()),
        });
        index
    }

    /// Replaces the kernel records of program `program` (e.g. with the driver's view once a
    /// device compiled it). Its key does not change. Does nothing for an unknown index.
    pub fn set_kernels(&mut self, program: u32, kernels: Vec<KernelRecord>) {
        if let Some(p) = self.programs.get_mut(program as usize) {
            // Tuning records of kernels the program no longer has would be refused by readers.
            self.tunings.retain(|(prog, _, kernel, _, _), _| *prog != program || kernels.iter().any(|k| k.name == *kernel));
            p.kernels = kernels;
        }
    }

    /// Adds the binary of program `program` compiled for the device `fingerprint`, with the
    /// known answers recorded from it (see [`KnownAnswer`]).
    ///
    /// # Panics
    /// If `program` is not an index returned by [`add_program`](Self::add_program), if
    /// `binary` is larger than 1 GiB ([`MAX_UNCOMPRESSED`]), or on a malformed known answer.
    pub fn add_binary(&mut self, program: u32, fingerprint: &Fingerprint, binary: &[u8], checks: &[KnownAnswer]) {
        let count = self.programs.len();
        let Some(p) = self.programs.get(program as usize) else {
            panic!("add_binary: no program with index {program} (the writer has {count})");
        };
        assert!(binary.len() as u64 <= MAX_UNCOMPRESSED, "binary for {:?} is larger than 1 GiB", p.name);
        let entry = BinaryIn {
            program_key: p.key,
            uncompressed_len: binary.len() as u64,
            checksum: Hash128::of(binary),
            compressed: self.compressor.compress(binary),
            fp_raw: encode_fingerprint(fingerprint),
            checks_raw: encode_checks(checks),
        };
        self.binaries.insert((program, fingerprint.hash()), entry);
    }

    /// Adds an already-compressed binary taken from another bundle, without recompressing
    /// it, keeping its checksum, fingerprint and known answers; used to merge precompiled
    /// bundles and to reuse the binaries of an earlier bake.
    ///
    /// The entry must have been built from the same program (equal program key), else
    /// [`FormatError::Outdated`]. Its payload is decompressed once and verified, so a
    /// damaged entry is refused here, at build time, instead of on the device.
    pub fn add_binary_entry(&mut self, program: u32, entry: &BinaryEntry<'_>) -> Result<(), FormatError> {
        let count = self.programs.len() as u32;
        let p = self.programs.get(program as usize).ok_or(FormatError::NoSuchProgram { index: program, count })?;
        if entry.program_key != p.key {
            return Err(FormatError::Outdated { what: "binary entry", expected: p.key, found: entry.program_key });
        }
        entry.decompress()?;
        let value = BinaryIn {
            program_key: p.key,
            uncompressed_len: entry.uncompressed_len,
            checksum: entry.checksum,
            compressed: entry.compressed().to_vec(),
            fp_raw: entry.fp_raw.to_vec(),
            checks_raw: entry.checks_raw.to_vec(),
        };
        self.binaries.insert((program, entry.fingerprint_hash), value);
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
        assert!(p.kernels.iter().any(|k| k.name == launch.kernel), "add_tuning: program {:?} has no kernel {:?}", p.name, launch.kernel);
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
        if !p.kernels.iter().any(|k| k.name == entry.kernel) {
            return Err(FormatError::corrupted("tuning entry", format!("program {:?} has no kernel {:?}", p.name, entry.kernel)));
        }
        self.tunings.insert((program, entry.fingerprint_hash, entry.kernel.to_string(), entry.work_dim, entry.global), entry.to_launch());
        Ok(())
    }

    /// Writes the bundle. Its length is a multiple of [`ALIGN`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        let mut info = Vec::new();
        info.put_str(&self.info);
        let mut program_table = Vec::new();
        for p in &self.programs {
            let offset = payload.len() as u64;
            payload.extend_from_slice(&p.compressed);
            let fields = ProgramFields {
                name: &p.name,
                stem: &p.stem,
                variant: &p.variant,
                options: &p.options,
                key: p.key,
                source_hash: p.source_hash,
                kernels: &p.kernels,
            };
            write_program(&mut program_table, &fields, offset, p.compressed.len() as u64, p.source_len);
        }
        let mut binary_table = Vec::new();
        for ((program, fp_hash), b) in &self.binaries {
            let offset = payload.len() as u64;
            payload.extend_from_slice(&b.compressed);
            let fields = BinaryFields {
                program: *program,
                program_key: &b.program_key,
                fingerprint_hash: fp_hash,
                uncompressed_len: b.uncompressed_len,
                checksum: &b.checksum,
                fp_raw: &b.fp_raw,
                checks_raw: &b.checks_raw,
            };
            write_binary(&mut binary_table, &fields, b.compressed.len() as u64, offset);
        }
        let mut tuning_table = Vec::new();
        for ((program, fp_hash, _, _, _), t) in &self.tunings {
            write_tuning(&mut tuning_table, *program, &self.programs[*program as usize].key, fp_hash, t);
        }

        let info_offset = HEADER_LEN as u64;
        let program_table_offset = info_offset + info.len() as u64;
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
            info_offset,
            info_len: info.len() as u64,
            program_table_offset,
            program_table_len: program_table.len() as u64,
            binary_table_offset,
            binary_table_len: binary_table.len() as u64,
            tuning_table_offset,
            tuning_table_len: tuning_table.len() as u64,
            payload_offset,
            payload_len: payload.len() as u64,
            total_len,
            ..Header::default()
        };
        let mut out = Vec::with_capacity(total_len as usize);
        out.extend_from_slice(&header.encode());
        out.extend_from_slice(&info);
        out.extend_from_slice(&program_table);
        out.extend_from_slice(&binary_table);
        out.extend_from_slice(&tuning_table);
        out.resize(payload_offset as usize, 0);
        out.extend_from_slice(&payload);
        out.resize(total_len as usize, 0);
        seal(&mut out).expect("a bundle this writer laid out");
        out
    }
}

/// Rounds `n` up to a multiple of [`ALIGN`].
fn align_up(n: u64) -> u64 {
    n.div_ceil(ALIGN as u64) * ALIGN as u64
}
