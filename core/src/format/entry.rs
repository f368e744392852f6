//! Borrowed views of one program and one binary of a parsed bundle.
//!
//! Parsing validates the records; the payloads (zstd frames) are only decompressed and
//! verified when [`ProgramEntry::source`] or [`BinaryEntry::decompress`] is called.

use super::codec::decompress_exact;
use super::error::FormatError;
use super::record::decode_fingerprint;
use crate::fingerprint::Fingerprint;
use crate::hash::Hash128;

/// One program of a bundle: its name, build options, source hash, kernel names and the
/// compressed source, all borrowed from the bundle bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramEntry<'a> {
    /// Program name (unique per build-option variant within a crate, e.g. `"conv2d"`).
    pub name: &'a str,
    /// Build options passed to `clBuildProgram`.
    pub options: &'a str,
    /// xxh3-128 of the source with includes expanded (see [`Hash128::of`]).
    pub source_hash: Hash128,
    /// Names of the kernels the program defines.
    pub kernels: Vec<&'a str>,
    /// Length of the uncompressed source in bytes.
    pub source_len: u64,
    /// Length of the compressed source in bytes.
    pub source_compressed_len: u64,
    /// Offset of the compressed source within the payload region.
    pub source_offset: u64,
    /// The compressed source (a zstd frame).
    pub(crate) compressed: &'a [u8],
}

impl ProgramEntry<'_> {
    /// The key that binaries built from this exact program carry
    /// (see [`crate::hash::program_key`]).
    pub fn key(&self) -> Hash128 {
        crate::hash::program_key(self.name, self.options, &self.source_hash)
    }

    /// The compressed source bytes (a zstd frame), as stored.
    pub fn compressed_source(&self) -> &[u8] {
        self.compressed
    }

    /// Decompresses the source (at most [`source_len`](Self::source_len) bytes, exactly
    /// that many), checks that it hashes to [`source_hash`](Self::source_hash), then that
    /// it is UTF-8.
    pub fn source(&self) -> Result<String, FormatError> {
        let bytes = decompress_exact("program source", self.compressed, self.source_len)?;
        let found = Hash128::of(&bytes);
        if found != self.source_hash {
            return Err(FormatError::ChecksumMismatch {
                what: "program source",
                expected: self.source_hash,
                found,
            });
        }
        String::from_utf8(bytes)
            .map_err(|e| FormatError::corrupted("program source", format!("not UTF-8: {e}")))
    }
}

/// One compiled binary of a bundle: which program and device it is for, and its
/// compressed bytes, borrowed from the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryEntry<'a> {
    /// Index of the program (in [`Bundle::programs`](super::Bundle::programs)).
    pub program: u32,
    /// Key of the program the binary was built from; equals that program's
    /// [`ProgramEntry::key`] in every parsed bundle.
    pub program_key: Hash128,
    /// [`Fingerprint::hash`] of the device the binary was built for.
    pub fingerprint_hash: Hash128,
    /// Length of the binary in bytes, as given to `clCreateProgramWithBinary`.
    pub uncompressed_len: u64,
    /// Length of the compressed payload in bytes.
    pub compressed_len: u64,
    /// xxh3-128 of the uncompressed binary.
    pub checksum: Hash128,
    /// Offset of the compressed payload within the payload region.
    pub payload_offset: u64,
    /// The compressed payload (a zstd frame).
    pub(crate) compressed: &'a [u8],
    /// The stored fingerprint, encoded (validated at parse time, decoded on demand).
    pub(crate) fp_raw: &'a [u8],
}

impl BinaryEntry<'_> {
    /// The full fingerprint of the device the binary was built for (decoded on demand;
    /// its hash is [`fingerprint_hash`](Self::fingerprint_hash)).
    pub fn fingerprint(&self) -> Result<Fingerprint, FormatError> {
        decode_fingerprint(self.fp_raw)
    }

    /// The compressed payload (a zstd frame), as stored; not verified.
    pub fn compressed(&self) -> &[u8] {
        self.compressed
    }

    /// Decompresses the binary (at most [`uncompressed_len`](Self::uncompressed_len)
    /// bytes, exactly that many) and verifies its [`checksum`](Self::checksum) before
    /// returning it: bytes that come out of here may be handed to a driver.
    pub fn decompress(&self) -> Result<Vec<u8>, FormatError> {
        let bytes = decompress_exact("binary", self.compressed, self.uncompressed_len)?;
        let found = Hash128::of(&bytes);
        if found != self.checksum {
            return Err(FormatError::ChecksumMismatch {
                what: "binary",
                expected: self.checksum,
                found,
            });
        }
        Ok(bytes)
    }
}
