//! The binary table: one record per (program, device) pair, with the device's full
//! fingerprint, the checksum of the uncompressed binary and the known answers recorded
//! when it was baked.
//!
//! ```text
//! binary record
//!   u32   record_len
//!   u32   program            index into the program table
//!   [16]  program_key        key of the program it was built from
//!   [16]  fingerprint_hash   Fingerprint::hash of the device
//!   u64   uncompressed_len
//!   u64   compressed_len
//!   [16]  checksum           xxh3-128 of the uncompressed binary
//!   u64   payload_offset     within the payload region
//!   fingerprint              str × 10, u32 address_bits (see wire::fingerprint)
//!   known answers            u32 count, then records (see check.rs)
//! ```
//! Records are sorted by (program, fingerprint_hash) without duplicates.

use super::check::{self, KnownAnswer};
use super::codec::decompress_exact;
use super::program::{check_size, payload_slice};
use crate::fingerprint::Fingerprint;
use crate::hash::Hash128;
use crate::wire::{fingerprint, put_record, record_body, Cursor, FormatError, PutLe};

/// Smallest possible binary record (empty fingerprint strings, no known answers), length
/// field included.
pub(crate) const MIN_BINARY_RECORD: u64 = 4 + 4 + 16 + 16 + 8 + 8 + 16 + 8 + 10 * 4 + 4 + 4;

/// One compiled binary of a bundle: which program and device it is for, and its
/// compressed bytes, borrowed from the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryEntry<'a> {
    /// Index of the program (in [`Bundle::programs`](super::Bundle::programs)).
    pub program: u32,
    /// Key of the program the binary was built from; equals that program's key in every
    /// parsed bundle.
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
    /// The known answers, encoded (validated at parse time, decoded on demand).
    pub(crate) checks_raw: &'a [u8],
}

impl BinaryEntry<'_> {
    /// The full fingerprint of the device the binary was built for (decoded on demand; its
    /// hash is [`fingerprint_hash`](Self::fingerprint_hash)).
    pub fn fingerprint(&self) -> Result<Fingerprint, FormatError> {
        fingerprint::decode(self.fp_raw, "binary fingerprint")
    }

    /// The known answers recorded with this binary (see [`KnownAnswer`]).
    pub fn checks(&self) -> Result<Vec<KnownAnswer>, FormatError> {
        let mut c = Cursor::new(self.checks_raw, 0);
        let all = check::read_all(&mut c)?;
        c.finish("known answers")?;
        Ok(all)
    }

    /// The compressed payload (a zstd frame), as stored; not verified.
    pub fn compressed(&self) -> &[u8] {
        self.compressed
    }

    /// Decompresses the binary (exactly [`uncompressed_len`](Self::uncompressed_len) bytes)
    /// and verifies its [`checksum`](Self::checksum) before returning it: bytes that come
    /// out of here may be handed to a driver.
    pub fn decompress(&self) -> Result<Vec<u8>, FormatError> {
        let bytes = decompress_exact("binary", self.compressed, self.uncompressed_len)?;
        let found = Hash128::of(&bytes);
        if found != self.checksum {
            return Err(FormatError::ChecksumMismatch { what: "binary", expected: self.checksum, found });
        }
        Ok(bytes)
    }
}

/// Decodes one binary record. The fingerprint is validated against its hash and the known
/// answers decoded once, but both are kept raw.
pub(crate) fn read_binary<'a>(c: &mut Cursor<'a>, payload: &'a [u8], strict: bool) -> Result<BinaryEntry<'a>, FormatError> {
    let w = "binary record";
    let mut r = record_body(c, w)?;
    let program = r.u32(w)?;
    let program_key = r.hash(w)?;
    let fingerprint_hash = r.hash(w)?;
    let uncompressed_len = r.u64(w)?;
    let compressed_len = r.u64(w)?;
    let checksum = r.hash(w)?;
    let payload_offset = r.u64(w)?;
    let before_fp = r.rest();
    fingerprint::read_checked(&mut r, &fingerprint_hash, "binary fingerprint")?;
    let fp_raw = &before_fp[..before_fp.len() - r.remaining()];
    let before_checks = r.rest();
    check::read_all(&mut r)?;
    let checks_raw = &before_checks[..before_checks.len() - r.remaining()];
    if strict {
        r.finish(w)?;
    }
    check_size("binary", uncompressed_len)?;
    let compressed = payload_slice(payload, payload_offset, compressed_len, "binary payload")?;
    Ok(BinaryEntry {
        program,
        program_key,
        fingerprint_hash,
        uncompressed_len,
        compressed_len,
        checksum,
        payload_offset,
        compressed,
        fp_raw,
        checks_raw,
    })
}

/// The fields of a binary record other than its payload placement.
pub(crate) struct BinaryFields<'s> {
    pub program: u32,
    pub program_key: &'s Hash128,
    pub fingerprint_hash: &'s Hash128,
    pub uncompressed_len: u64,
    pub checksum: &'s Hash128,
    pub fp_raw: &'s [u8],
    pub checks_raw: &'s [u8],
}

/// Encodes one binary record (length prefix included).
pub(crate) fn write_binary(out: &mut Vec<u8>, b: &BinaryFields<'_>, compressed_len: u64, payload_offset: u64) {
    let mut r = Vec::new();
    r.put_u32(b.program);
    r.put_hash(b.program_key);
    r.put_hash(b.fingerprint_hash);
    r.put_u64(b.uncompressed_len);
    r.put_u64(compressed_len);
    r.put_hash(b.checksum);
    r.put_u64(payload_offset);
    r.extend_from_slice(b.fp_raw);
    r.extend_from_slice(b.checks_raw);
    put_record(out, &r);
}

/// Encodes a fingerprint as stored in a binary record.
pub(crate) fn encode_fingerprint(fp: &Fingerprint) -> Vec<u8> {
    let mut v = Vec::new();
    fingerprint::put(&mut v, fp);
    v
}

/// Encodes known answers as stored in a binary record.
pub(crate) fn encode_checks(checks: &[KnownAnswer]) -> Vec<u8> {
    let mut v = Vec::new();
    check::put_all(&mut v, checks);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_size() {
        let fp = encode_fingerprint(&Fingerprint::default());
        let checks = encode_checks(&[]);
        let h = Hash128::default();
        let mut v = Vec::new();
        let f = BinaryFields {
            program: 0,
            program_key: &h,
            fingerprint_hash: &h,
            uncompressed_len: 0,
            checksum: &h,
            fp_raw: &fp,
            checks_raw: &checks,
        };
        write_binary(&mut v, &f, 0, 0);
        assert_eq!(v.len() as u64, MIN_BINARY_RECORD);
    }
}
