//! The disk-cache entry format: one compiled program binary for one device, in one file.
//!
//! Pure encoding and parsing, no I/O: the runtime's disk cache, `clbake cache verify` and the
//! fuzzer share it. It is read with the same byte layer as bundles ([`crate::wire`]).
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
//! # Ok::<(), clbake_core::cache_entry::FormatError>(())
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
//! | 88 | `meta_len` | metadata: `str` program name, the fingerprint as bundles store it (see [`crate::wire`]) |
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
pub use crate::wire::FormatError;
use crate::wire::{fingerprint, Cursor, PutLe};

/// The eight bytes every cache entry starts with.
pub const MAGIC: [u8; 8] = *b"CLBKCE\r\n";

/// The entry format version written and accepted (2: fingerprints with the host ABI and
/// the driver library; program keys from the token stream).
pub const VERSION: u32 = 2;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 88;

/// Offset of the header checksum (the last 16 bytes of the fixed header).
pub const HEADER_CHECKSUM_OFFSET: usize = 72;

/// Largest metadata block accepted (program name and fingerprint strings): 64 KiB.
pub const MAX_META: u32 = 64 << 10;

/// Largest payload accepted: 1 GiB (the bundle format's limit too).
pub const MAX_PAYLOAD: u64 = crate::format::MAX_UNCOMPRESSED;

/// A verified cache entry, borrowing its name and payload from the parsed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry<'a> {
    /// Name of the program the binary was built from.
    pub name: &'a str,
    /// Fingerprint of the device it was built for (hashes to `fingerprint_hash`).
    pub fingerprint: Fingerprint,
    /// Stored fingerprint hash.
    pub fingerprint_hash: Hash128,
    /// Key of the program (see [`crate::hash::program_key`]).
    pub program_key: Hash128,
    /// The program binary, checksum verified.
    pub payload: &'a [u8],
}

/// Encodes an entry. Fails only when a length is beyond the format's limits.
pub fn encode(name: &str, fingerprint: &Fingerprint, program_key: &Hash128, payload: &[u8]) -> Result<Vec<u8>, FormatError> {
    let mut meta = Vec::new();
    meta.put_str(name);
    fingerprint::put(&mut meta, fingerprint);
    if meta.len() as u64 > u64::from(MAX_META) {
        return Err(FormatError::TooLarge { what: "cache entry metadata", value: meta.len() as u64, limit: MAX_META.into() });
    }
    if payload.len() as u64 > MAX_PAYLOAD {
        return Err(FormatError::TooLarge { what: "cache entry payload", value: payload.len() as u64, limit: MAX_PAYLOAD });
    }
    if payload.is_empty() {
        return Err(FormatError::corrupted("cache entry payload", "empty"));
    }
    let mut out = Vec::with_capacity(HEADER_LEN + meta.len() + payload.len());
    out.extend_from_slice(&MAGIC);
    out.put_u32(VERSION);
    out.put_u32(meta.len() as u32);
    out.put_u64(payload.len() as u64);
    out.put_hash(&fingerprint.hash());
    out.put_hash(program_key);
    out.put_hash(&Hash128::of(payload));
    let header_checksum = header_checksum(&out[..HEADER_CHECKSUM_OFFSET], &meta);
    out.put_hash(&header_checksum);
    out.extend_from_slice(&meta);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Parses and verifies an entry (see the module docs for what is checked, in order).
pub fn parse(bytes: &[u8]) -> Result<CacheEntry<'_>, FormatError> {
    let fixed = Fixed::read(bytes)?;
    let meta_end = HEADER_LEN + fixed.meta_len as usize; // <= 88 + 64 KiB
    let meta = &bytes[HEADER_LEN..meta_end]; // length checked by Fixed::read
    let computed = header_checksum(&bytes[..HEADER_CHECKSUM_OFFSET], meta);
    if computed != fixed.header_checksum {
        return Err(FormatError::ChecksumMismatch { what: "cache entry header", expected: fixed.header_checksum, found: computed });
    }
    let mut r = Cursor::new(meta, HEADER_LEN as u64);
    let name = r.str("cache entry program name")?;
    let raw = fingerprint::read_checked(&mut r, &fixed.fingerprint_hash, "cache entry fingerprint")?;
    r.finish("cache entry metadata")?;
    let payload = &bytes[meta_end..]; // exact length checked by Fixed::read
    let computed = Hash128::of(payload);
    if computed != fixed.payload_checksum {
        return Err(FormatError::ChecksumMismatch { what: "cache entry payload", expected: fixed.payload_checksum, found: computed });
    }
    Ok(CacheEntry {
        name,
        fingerprint: fingerprint::to_owned(&raw),
        fingerprint_hash: fixed.fingerprint_hash,
        program_key: fixed.program_key,
        payload,
    })
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

/// The fixed header, with every length checked against the input.
struct Fixed {
    meta_len: u32,
    fingerprint_hash: Hash128,
    program_key: Hash128,
    payload_checksum: Hash128,
    header_checksum: Hash128,
}

impl Fixed {
    fn read(bytes: &[u8]) -> Result<Fixed, FormatError> {
        let mut c = Cursor::new(bytes, 0);
        let magic: [u8; 8] = c.array("cache entry header")?;
        if magic != MAGIC {
            return Err(FormatError::BadMagic { what: "cache entry", found: magic });
        }
        let version = c.u32("cache entry header")?;
        if version != VERSION {
            let major = u16::try_from(version).unwrap_or(u16::MAX);
            return Err(FormatError::UnsupportedVersion { what: "cache entry", major, minor: 0, supported: "2" });
        }
        if bytes.len() < HEADER_LEN {
            return Err(FormatError::Truncated {
                what: "cache entry header",
                offset: 0,
                needed: HEADER_LEN as u64,
                available: bytes.len() as u64,
            });
        }
        let w = "cache entry header";
        let meta_len = c.u32(w)?;
        let payload_len = c.u64(w)?;
        if meta_len > MAX_META {
            return Err(FormatError::TooLarge { what: "cache entry metadata", value: meta_len.into(), limit: MAX_META.into() });
        }
        if payload_len > MAX_PAYLOAD {
            return Err(FormatError::TooLarge { what: "cache entry payload", value: payload_len, limit: MAX_PAYLOAD });
        }
        if payload_len == 0 {
            return Err(FormatError::corrupted("cache entry payload", "empty"));
        }
        let fixed = Fixed {
            meta_len,
            fingerprint_hash: c.hash(w)?,
            program_key: c.hash(w)?,
            payload_checksum: c.hash(w)?,
            header_checksum: c.hash(w)?,
        };
        let total = HEADER_LEN as u64 + u64::from(meta_len) + payload_len; // < 2^31: no overflow
        let found = bytes.len() as u64;
        if found < total {
            return Err(FormatError::Truncated { what: "cache entry", offset: 0, needed: total, available: found });
        }
        if found > total {
            return Err(FormatError::corrupted("cache entry", format!("{found} bytes, its header declares {total}")));
        }
        Ok(fixed)
    }
}

#[cfg(test)]
mod tests;
