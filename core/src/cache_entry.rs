//! The disk-cache entry format: one compiled program binary for one device, in one file.
//!
//! Pure encoding and parsing, no I/O: the runtime's disk cache, `clbake cache verify` and the
//! fuzzer share it.
//!
//! ```
//! use clbake_core::cache_entry::{encode, parse};
//! use clbake_core::{hash::Hash128, Fingerprint};
//!
//! let fp = Fingerprint { device_name: "Mali-G52".into(), address_bits: 64, ..Default::default() };
//! let key = Hash128::of(b"program key");
//! let bytes = encode("conv", &fp, &key, b"driver binary")?;
//! let entry = parse(&bytes)?;
//! assert_eq!((entry.name, entry.payload), ("conv", &b"driver binary"[..]));
//! assert_eq!((entry.fingerprint, entry.program_key), (fp, key));
//! # Ok::<(), clbake_core::cache_entry::CacheEntryError>(())
//! ```
//!
//! # Layout
//! All integers little-endian; `[16]` is an xxh3-128 ([`Hash128`]).
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | [`MAGIC`] `CLBKCE\r\n` |
//! | 8 | 4 | `version` = [`VERSION`] (any other value is rejected: entries are rebuilt, never migrated) |
//! | 12 | 4 | `meta_len`: bytes of the metadata block, at most [`MAX_META`] |
//! | 16 | 8 | `payload_len`: bytes of the payload, 1 ..= [`MAX_PAYLOAD`] |
//! | 24 | 16 | `fingerprint_hash`: [`Fingerprint::hash`] of the device the binary was built for |
//! | 40 | 16 | `program_key`: [`program_key`](crate::hash::program_key) of the program it was built from |
//! | 56 | 16 | `payload_checksum`: xxh3-128 of the payload |
//! | 72 | 16 | `header_checksum`: xxh3-128 of bytes `0..72` followed by the metadata block |
//! | 88 | `meta_len` | metadata: `str` program name, `str` × 8 fingerprint strings (in [`STRING_FIELD_NAMES`](crate::fingerprint::STRING_FIELD_NAMES) order), `u32` address bits |
//! | 88 + `meta_len` | `payload_len` | the program binary exactly as the driver returned it (**uncompressed**: a local cache trades a few hundred KB of disk for no decompression at start-up) |
//!
//! `str` is a `u32` byte length then UTF-8 bytes. The file is exactly
//! `88 + meta_len + payload_len` bytes long: trailing bytes are an error.
//!
//! # Threat model
//! Entry bytes are untrusted (a torn write, a full disk, bit rot, another program). Parsing
//! never panics, checks every length before slicing, bounds sizes before anything is
//! allocated, and only returns an entry whose header, metadata and payload checksums all
//! match and whose stored fingerprint hashes to the stored fingerprint hash. Whether the entry
//! fits the *current* device and program is the caller's question (compare
//! [`CacheEntry::fingerprint`] and [`CacheEntry::program_key`]).

use crate::fingerprint::Fingerprint;
use crate::hash::Hash128;

/// The eight bytes every cache entry starts with.
pub const MAGIC: [u8; 8] = *b"CLBKCE\r\n";

/// The entry format version written and accepted.
pub const VERSION: u32 = 1;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 88;

/// Offset of the header checksum (the last 16 bytes of the fixed header).
pub const HEADER_CHECKSUM_OFFSET: usize = 72;

/// Largest metadata block accepted (program name and fingerprint strings): 64 KiB.
pub const MAX_META: u32 = 64 << 10;

/// Largest payload accepted: 1 GiB (the bundle format's limit too).
pub const MAX_PAYLOAD: u64 = crate::format::MAX_UNCOMPRESSED;

/// Why cache entry bytes were rejected (or could not be written).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheEntryError {
    /// The bytes end before the header or before the lengths the header declares.
    #[error("truncated cache entry {what}: needs {needed} bytes, only {available} available")]
    Truncated {
        /// What was being read (`"header"`, `"entry"`).
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes present.
        available: u64,
    },
    /// More bytes than the header declares.
    #[error("cache entry has {found} bytes, its header declares {expected}")]
    TrailingBytes {
        /// Length the header declares.
        expected: u64,
        /// Length found.
        found: u64,
    },
    /// Not a clbake cache entry.
    #[error("not a clbake cache entry (bad magic {found:02x?})")]
    BadMagic {
        /// The first eight bytes found.
        found: [u8; 8],
    },
    /// Written by another version of the entry format.
    #[error("unsupported cache entry version {found} (this reader supports {VERSION})")]
    UnsupportedVersion {
        /// Version found.
        found: u32,
    },
    /// A declared length is beyond the limits (checked before allocating).
    #[error("cache entry {what} is too large: {value} bytes (limit {limit})")]
    TooLarge {
        /// Which length.
        what: &'static str,
        /// Value found (or asked to encode).
        value: u64,
        /// Limit.
        limit: u64,
    },
    /// A checksum does not match the bytes it covers.
    #[error("cache entry {what} checksum mismatch: stored {expected}, computed {found}")]
    ChecksumMismatch {
        /// `"header"` or `"payload"`.
        what: &'static str,
        /// Stored checksum.
        expected: Hash128,
        /// Checksum of the bytes found.
        found: Hash128,
    },
    /// A structural rule is broken (bad UTF-8, leftover metadata, an empty payload, a
    /// fingerprint that disagrees with its hash).
    #[error("corrupted cache entry {what}: {detail}")]
    Corrupted {
        /// Which part.
        what: &'static str,
        /// Details.
        detail: String,
    },
}

/// A verified cache entry, borrowing its name and payload from the parsed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry<'a> {
    /// Name of the program the binary was built from.
    pub name: &'a str,
    /// Fingerprint of the device it was built for (hashes to `fingerprint_hash`).
    pub fingerprint: Fingerprint,
    /// Stored fingerprint hash.
    pub fingerprint_hash: Hash128,
    /// Key of the program (name, options, expanded-source hash, format version).
    pub program_key: Hash128,
    /// The program binary, checksum verified.
    pub payload: &'a [u8],
}

/// Encodes an entry. Fails only when a length is beyond the format's limits.
pub fn encode(name: &str, fingerprint: &Fingerprint, program_key: &Hash128, payload: &[u8]) -> Result<Vec<u8>, CacheEntryError> {
    let mut meta = Vec::new();
    put_str(&mut meta, name);
    for s in fingerprint.string_fields() {
        put_str(&mut meta, s);
    }
    meta.extend_from_slice(&fingerprint.address_bits.to_le_bytes());
    if meta.len() as u64 > u64::from(MAX_META) {
        return Err(CacheEntryError::TooLarge { what: "metadata", value: meta.len() as u64, limit: MAX_META.into() });
    }
    if payload.len() as u64 > MAX_PAYLOAD {
        return Err(CacheEntryError::TooLarge { what: "payload", value: payload.len() as u64, limit: MAX_PAYLOAD });
    }
    if payload.is_empty() {
        return Err(CacheEntryError::Corrupted { what: "payload", detail: "empty".into() });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + meta.len() + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&fingerprint.hash().0);
    out.extend_from_slice(&program_key.0);
    out.extend_from_slice(&Hash128::of(payload).0);
    let header_checksum = header_checksum(&out[..HEADER_CHECKSUM_OFFSET], &meta);
    out.extend_from_slice(&header_checksum.0);
    out.extend_from_slice(&meta);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Parses and verifies an entry (see the module docs for what is checked, in order).
pub fn parse(bytes: &[u8]) -> Result<CacheEntry<'_>, CacheEntryError> {
    let fixed = Fixed::read(bytes)?;
    let meta_end = HEADER_LEN + fixed.meta_len as usize; // <= 88 + 64 KiB
    let meta = &bytes[HEADER_LEN..meta_end]; // length checked by Fixed::read
    let computed = header_checksum(&bytes[..HEADER_CHECKSUM_OFFSET], meta);
    if computed != fixed.header_checksum {
        return Err(CacheEntryError::ChecksumMismatch { what: "header", expected: fixed.header_checksum, found: computed });
    }
    let mut r = Reader { bytes: meta };
    let name = r.str("program name")?;
    let mut strings: [String; 8] = Default::default();
    for s in &mut strings {
        *s = r.str("fingerprint field")?.to_string();
    }
    let bits = r.u32("address bits")?;
    if !r.bytes.is_empty() {
        return Err(corrupted("metadata", format!("{} bytes left over", r.bytes.len())));
    }
    let fingerprint = Fingerprint::from_parts(strings, bits);
    if fingerprint.hash() != fixed.fingerprint_hash {
        return Err(corrupted("fingerprint", format!("stored hash {} does not match the stored fields", fixed.fingerprint_hash)));
    }
    let payload = &bytes[meta_end..]; // exact length checked by Fixed::read
    let computed = Hash128::of(payload);
    if computed != fixed.payload_checksum {
        return Err(CacheEntryError::ChecksumMismatch { what: "payload", expected: fixed.payload_checksum, found: computed });
    }
    Ok(CacheEntry { name, fingerprint, fingerprint_hash: fixed.fingerprint_hash, program_key: fixed.program_key, payload })
}

/// Recomputes the header checksum of `bytes` in place from the fields and metadata found
/// there, so that an altered entry passes the header checksum and reaches the later checks.
/// For tests and fuzzing; returns false when the bytes are too short to hold the header and
/// the metadata they declare.
pub fn reseal(bytes: &mut [u8]) -> bool {
    let Some(meta_len) = bytes.get(12..16).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize) else {
        return false;
    };
    let Some(meta_end) = HEADER_LEN.checked_add(meta_len).filter(|&end| end <= bytes.len()) else {
        return false;
    };
    let c = header_checksum(&bytes[..HEADER_CHECKSUM_OFFSET], &bytes[HEADER_LEN..meta_end]);
    bytes[HEADER_CHECKSUM_OFFSET..HEADER_LEN].copy_from_slice(&c.0);
    true
}

fn header_checksum(fixed: &[u8], meta: &[u8]) -> Hash128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(fixed);
    h.update(meta);
    Hash128(h.digest128().to_le_bytes())
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn corrupted(what: &'static str, detail: String) -> CacheEntryError {
    CacheEntryError::Corrupted { what, detail }
}

/// The fixed header, with every length checked against the input.
struct Fixed {
    meta_len: u32,
    fingerprint_hash: Hash128,
    program_key: Hash128,
    payload_checksum: Hash128,
    header_checksum: Hash128,
}

impl Fixed {
    fn read(bytes: &[u8]) -> Result<Fixed, CacheEntryError> {
        if bytes.len() < HEADER_LEN {
            return Err(CacheEntryError::Truncated { what: "header", needed: HEADER_LEN as u64, available: bytes.len() as u64 });
        }
        let mut r = Reader { bytes: &bytes[..HEADER_LEN] };
        let magic: [u8; 8] = r.array("magic")?;
        if magic != MAGIC {
            return Err(CacheEntryError::BadMagic { found: magic });
        }
        let version = r.u32("version")?;
        if version != VERSION {
            return Err(CacheEntryError::UnsupportedVersion { found: version });
        }
        let meta_len = r.u32("metadata length")?;
        let payload_len = r.u64("payload length")?;
        if meta_len > MAX_META {
            return Err(CacheEntryError::TooLarge { what: "metadata", value: meta_len.into(), limit: MAX_META.into() });
        }
        if payload_len > MAX_PAYLOAD {
            return Err(CacheEntryError::TooLarge { what: "payload", value: payload_len, limit: MAX_PAYLOAD });
        }
        if payload_len == 0 {
            return Err(corrupted("payload", "empty".into()));
        }
        let fixed = Fixed {
            meta_len,
            fingerprint_hash: Hash128(r.array("fingerprint hash")?),
            program_key: Hash128(r.array("program key")?),
            payload_checksum: Hash128(r.array("payload checksum")?),
            header_checksum: Hash128(r.array("header checksum")?),
        };
        let total = HEADER_LEN as u64 + u64::from(meta_len) + payload_len; // < 2^31: no overflow
        let found = bytes.len() as u64;
        if found < total {
            return Err(CacheEntryError::Truncated { what: "entry", needed: total, available: found });
        }
        if found > total {
            return Err(CacheEntryError::TrailingBytes { expected: total, found });
        }
        Ok(fixed)
    }
}

/// A bounds-checked little-endian reader.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CacheEntryError> {
        if n > self.bytes.len() {
            return Err(corrupted("metadata", format!("{what} needs {n} bytes, {} left", self.bytes.len())));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CacheEntryError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, CacheEntryError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, CacheEntryError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn str(&mut self, what: &'static str) -> Result<&'a str, CacheEntryError> {
        let len = self.u32(what)? as usize;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes).map_err(|e| corrupted("metadata", format!("{what} is not UTF-8: {e}")))
    }
}

#[cfg(test)]
mod tests;
