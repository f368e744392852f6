//! The fixed 176-byte header at the start of every bundle.
//!
//! ```text
//! offset size field
//!      0    8 magic                 b"CLBAKE\r\n"
//!      8    2 major                 FORMAT_MAJOR (readers reject any other)
//!     10    2 minor                 FORMAT_MINOR (readers accept any)
//!     12    4 header_size           176 in 2.0; later minors may grow it
//!     16    4 flags                 0 in 2.0; readers ignore unknown bits
//!     20    4 program_count
//!     24    4 binary_count
//!     28    4 tuning_count
//!     32    8 info_offset           } each region lies in [header_size, payload_offset),
//!     40    8 info_len              } in this order, offsets from the bundle start
//!     48    8 program_table_offset  }
//!     56    8 program_table_len     }
//!     64    8 binary_table_offset   }
//!     72    8 binary_table_len      }
//!     80    8 tuning_table_offset   }
//!     88    8 tuning_table_len      }
//!     96    8 payload_offset        16-aligned by writers
//!    104    8 payload_len
//!    112    8 total_len             whole bundle incl. padding, a multiple of ALIGN
//!    120    8 reserved              0; ignored
//!    128   16 core_checksum         xxh3-128 of the header (bytes 128..176 taken as zero),
//!                                   then the info region, then the program table
//!    144   16 binary_checksum       xxh3-128 of the binary table
//!    160   16 tuning_checksum       xxh3-128 of the tuning table
//! ```
//! All integers are little-endian.
//!
//! Three checksums, so that damage costs as little as possible: the core (header, info,
//! program table) must be intact for anything to be read; a damaged binary table only loses
//! the binaries (every program compiles from source), a damaged tuning table only the tuned
//! work sizes.

use super::{ALIGN, FORMAT_MAJOR, MAGIC};
use crate::hash::Hash128;
use crate::wire::{Cursor, FormatError, PutLe};

/// Size of the header written by this version, and the least a reader accepts.
pub const HEADER_LEN: usize = 176;

/// Offset of [`Header::core_checksum`]; the three checksums fill the header from here on.
pub const CHECKSUMS_OFFSET: usize = 128;

/// The decoded fixed header of a bundle. See the module documentation for the layout.
///
/// All offsets are from the first byte of the bundle (the magic).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// Always [`MAGIC`] in a decoded header.
    pub magic: [u8; 8],
    /// Format major version; readers reject any major they do not know.
    pub major: u16,
    /// Format minor version; a higher minor only adds things older readers may skip.
    pub minor: u16,
    /// Size of the header in bytes (at least [`HEADER_LEN`]).
    pub header_size: u32,
    /// Feature flags; none are defined in 2.0 and readers ignore unknown bits.
    pub flags: u32,
    /// Number of records in the program table.
    pub program_count: u32,
    /// Number of records in the binary table.
    pub binary_count: u32,
    /// Number of records in the tuning table.
    pub tuning_count: u32,
    /// Offset of the info region (one `str`: which clbake wrote the bundle, with which settings).
    pub info_offset: u64,
    /// Length of the info region in bytes.
    pub info_len: u64,
    /// Offset of the program table.
    pub program_table_offset: u64,
    /// Length of the program table in bytes.
    pub program_table_len: u64,
    /// Offset of the binary table.
    pub binary_table_offset: u64,
    /// Length of the binary table in bytes.
    pub binary_table_len: u64,
    /// Offset of the tuning table.
    pub tuning_table_offset: u64,
    /// Length of the tuning table in bytes.
    pub tuning_table_len: u64,
    /// Offset of the payload region (zstd frames).
    pub payload_offset: u64,
    /// Length of the payload region in bytes.
    pub payload_len: u64,
    /// Total length of the bundle including trailing padding; a multiple of [`ALIGN`].
    pub total_len: u64,
    /// Reserved, written as 0 and ignored.
    pub reserved: u64,
    /// xxh3-128 of the header with its checksums taken as zero, the info region and the
    /// program table.
    pub core_checksum: Hash128,
    /// xxh3-128 of the binary table.
    pub binary_checksum: Hash128,
    /// xxh3-128 of the tuning table.
    pub tuning_checksum: Hash128,
}

impl Header {
    /// Encodes the header (exactly [`HEADER_LEN`] bytes, little-endian).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut v = Vec::with_capacity(HEADER_LEN);
        v.extend_from_slice(&self.magic);
        v.put_u16(self.major);
        v.put_u16(self.minor);
        for x in [self.header_size, self.flags, self.program_count, self.binary_count, self.tuning_count] {
            v.put_u32(x);
        }
        for x in [
            self.info_offset,
            self.info_len,
            self.program_table_offset,
            self.program_table_len,
            self.binary_table_offset,
            self.binary_table_len,
            self.tuning_table_offset,
            self.tuning_table_len,
            self.payload_offset,
            self.payload_len,
            self.total_len,
            self.reserved,
        ] {
            v.put_u64(x);
        }
        for h in [&self.core_checksum, &self.binary_checksum, &self.tuning_checksum] {
            v.put_hash(h);
        }
        let mut out = [0u8; HEADER_LEN];
        out.copy_from_slice(&v);
        out
    }

    /// Decodes a header from the start of `bytes`, checking in this order: the magic,
    /// the major version, then that the fixed header is all there. The layout is not
    /// validated here (see [`Header::validate_layout`]).
    pub fn decode(bytes: &[u8]) -> Result<Header, FormatError> {
        let mut c = Cursor::new(bytes, 0);
        let magic: [u8; 8] = c.array("magic")?;
        if magic != MAGIC {
            return Err(FormatError::BadMagic { what: "bundle", found: magic });
        }
        let major = c.u16("version")?;
        let minor = c.u16("version")?;
        if major != FORMAT_MAJOR {
            return Err(FormatError::UnsupportedVersion { what: "bundle", major, minor, supported: super::SUPPORTED });
        }
        if bytes.len() < HEADER_LEN {
            return Err(FormatError::Truncated { what: "header", offset: 0, needed: HEADER_LEN as u64, available: bytes.len() as u64 });
        }
        let w = "header";
        Ok(Header {
            magic,
            major,
            minor,
            header_size: c.u32(w)?,
            flags: c.u32(w)?,
            program_count: c.u32(w)?,
            binary_count: c.u32(w)?,
            tuning_count: c.u32(w)?,
            info_offset: c.u64(w)?,
            info_len: c.u64(w)?,
            program_table_offset: c.u64(w)?,
            program_table_len: c.u64(w)?,
            binary_table_offset: c.u64(w)?,
            binary_table_len: c.u64(w)?,
            tuning_table_offset: c.u64(w)?,
            tuning_table_len: c.u64(w)?,
            payload_offset: c.u64(w)?,
            payload_len: c.u64(w)?,
            total_len: c.u64(w)?,
            reserved: c.u64(w)?,
            core_checksum: c.hash(w)?,
            binary_checksum: c.hash(w)?,
            tuning_checksum: c.hash(w)?,
        })
    }

    /// End of the checksummed core (header, info, program table): the end of the program
    /// table, checked to lie after the header and within `available` bytes.
    pub fn core_end(&self, available: usize) -> Result<u64, FormatError> {
        let hs = u64::from(self.header_size);
        if hs < HEADER_LEN as u64 {
            return Err(FormatError::corrupted("header", format!("header_size {hs} is below {HEADER_LEN}")));
        }
        let end = self.program_table_offset.checked_add(self.program_table_len);
        match end {
            Some(end) if end >= hs && self.info_offset >= hs && self.program_table_offset >= hs => {
                if end > available as u64 {
                    return Err(FormatError::Truncated { what: "header and tables", offset: 0, needed: end, available: available as u64 });
                }
                Ok(end)
            }
            _ => Err(FormatError::corrupted(
                "header",
                format!("program table {}+{} does not follow the {hs}-byte header", self.program_table_offset, self.program_table_len),
            )),
        }
    }

    /// Checks every offset and length against each other and against `available` bytes:
    /// regions in order between the header and the payload, payload inside `total_len`,
    /// `total_len` a multiple of [`ALIGN`] and present. Never overflows.
    pub fn validate_layout(&self, available: usize) -> Result<(), FormatError> {
        if self.total_len > available as u64 {
            return Err(FormatError::Truncated { what: "bundle", offset: 0, needed: self.total_len, available: available as u64 });
        }
        if !self.total_len.is_multiple_of(ALIGN as u64) {
            return Err(FormatError::corrupted("header", format!("total_len {} not a multiple of {ALIGN}", self.total_len)));
        }
        let regions = [
            ("info", self.info_offset, self.info_len),
            ("program table", self.program_table_offset, self.program_table_len),
            ("binary table", self.binary_table_offset, self.binary_table_len),
            ("tuning table", self.tuning_table_offset, self.tuning_table_len),
            ("payload region", self.payload_offset, self.payload_len),
        ];
        let mut floor = u64::from(self.header_size);
        for (i, (what, off, len)) in regions.into_iter().enumerate() {
            let ceiling = if i == regions.len() - 1 { self.total_len } else { self.payload_offset };
            match off.checked_add(len) {
                Some(end) if off >= floor && end <= ceiling => floor = end,
                _ => return Err(FormatError::corrupted(what, format!("range {off}+{len} outside [{floor}, {ceiling}]"))),
            }
        }
        Ok(())
    }
}

/// The core checksum of the bundle starting at `bundle[0]`: xxh3-128 of the header with
/// bytes [`CHECKSUMS_OFFSET`]`..`[`HEADER_LEN`] taken as zero, then
/// `bundle[header_size..core_end]` (info region and program table).
///
/// `None` if the ranges do not fit `bundle`. Writers (and fuzzers, to reach past the
/// checksum) use it to seal a bundle.
pub fn compute_core_checksum(bundle: &[u8], header_size: u32, core_end: u64) -> Option<Hash128> {
    let hs = usize::try_from(header_size).ok()?;
    let end = usize::try_from(core_end).ok()?;
    if hs < HEADER_LEN || end < hs || end > bundle.len() {
        return None;
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&bundle[..CHECKSUMS_OFFSET]);
    h.update(&[0u8; HEADER_LEN - CHECKSUMS_OFFSET]);
    h.update(&bundle[HEADER_LEN..end]);
    Some(Hash128(h.digest128().to_le_bytes()))
}

/// Recomputes and stores all three checksums of the bundle in `bundle` (whose header must
/// decode). Used by the writer and by tests and fuzzers that alter a bundle on purpose.
pub fn seal(bundle: &mut [u8]) -> Result<(), FormatError> {
    let h = Header::decode(bundle)?;
    let core_end = h.core_end(bundle.len())?;
    let core =
        compute_core_checksum(bundle, h.header_size, core_end).ok_or_else(|| FormatError::corrupted("header", "core out of range"))?;
    let table = |off: u64, len: u64| -> Result<Hash128, FormatError> {
        let end = off
            .checked_add(len)
            .filter(|&e| e <= bundle.len() as u64)
            .ok_or_else(|| FormatError::corrupted("header", "table out of range"))?;
        Ok(Hash128::of(&bundle[off as usize..end as usize]))
    };
    let binary = table(h.binary_table_offset, h.binary_table_len)?;
    let tuning = table(h.tuning_table_offset, h.tuning_table_len)?;
    bundle[CHECKSUMS_OFFSET..CHECKSUMS_OFFSET + 16].copy_from_slice(&core.0);
    bundle[CHECKSUMS_OFFSET + 16..CHECKSUMS_OFFSET + 32].copy_from_slice(&binary.0);
    bundle[CHECKSUMS_OFFSET + 32..HEADER_LEN].copy_from_slice(&tuning.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            magic: MAGIC,
            major: FORMAT_MAJOR,
            minor: 0,
            header_size: HEADER_LEN as u32,
            info_offset: 176,
            info_len: 4,
            program_table_offset: 180,
            program_table_len: 10,
            binary_table_offset: 190,
            binary_table_len: 0,
            tuning_table_offset: 190,
            payload_offset: 192,
            payload_len: 20,
            total_len: 224,
            core_checksum: Hash128([7; 16]),
            binary_checksum: Hash128([8; 16]),
            tuning_checksum: Hash128([9; 16]),
            ..Header::default()
        }
    }

    #[test]
    fn encode_decode_round_trip_and_field_offsets() {
        let h = sample();
        let b = h.encode();
        assert_eq!(&b[..8], &MAGIC);
        assert_eq!(u16::from_le_bytes([b[8], b[9]]), FORMAT_MAJOR);
        assert_eq!(u64::from_le_bytes(b[48..56].try_into().unwrap()), 180, "program_table_offset at 48");
        assert_eq!(u64::from_le_bytes(b[112..120].try_into().unwrap()), 224, "total_len at 112");
        assert_eq!(&b[128..144], &[7; 16]);
        assert_eq!(&b[160..176], &[9; 16]);
        assert_eq!(Header::decode(&b).unwrap(), h);
    }

    #[test]
    fn layout_rules() {
        let h = sample();
        h.validate_layout(224).unwrap();
        assert!(matches!(h.validate_layout(200), Err(FormatError::Truncated { .. })));
        let bad = Header { program_table_offset: 170, ..sample() };
        assert!(matches!(bad.validate_layout(224), Err(FormatError::Corrupted { what: "program table", .. })));
        let bad = Header { total_len: 220, ..sample() };
        assert!(bad.validate_layout(224).is_err());
        let bad = Header { payload_len: u64::MAX, ..sample() };
        assert!(bad.validate_layout(224).is_err(), "no overflow");
        assert_eq!(h.core_end(224).unwrap(), 190);
        assert!(Header { header_size: 100, ..sample() }.core_end(224).is_err());
        assert!(matches!(h.core_end(185), Err(FormatError::Truncated { .. })));
    }

    #[test]
    fn older_and_newer_majors_are_refused_with_the_fix() {
        let mut b = sample().encode();
        b[8..10].copy_from_slice(&1u16.to_le_bytes());
        let e = Header::decode(&b).unwrap_err();
        assert!(e.is_version() && e.to_string().contains("bake it again once"), "{e}");
    }
}
