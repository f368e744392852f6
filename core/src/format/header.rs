//! The fixed 128-byte header at the start of every bundle.
//!
//! ```text
//! offset size field
//!      0    8 magic                 b"CLBAKE\r\n"
//!      8    2 major                 FORMAT_MAJOR (readers reject any other)
//!     10    2 minor                 FORMAT_MINOR (readers accept any)
//!     12    4 header_size           128 in 1.0; later minors may grow it
//!     16    4 flags                 0 in 1.0; readers ignore unknown bits
//!     20    4 program_count
//!     24    4 binary_count
//!     28    4 tuning_count          0 in 1.0; tuning records since 1.1
//!     32    8 program_table_offset  } each table lies in [header_size, payload_offset),
//!     40    8 program_table_len     } in this order, offsets from the bundle start
//!     48    8 binary_table_offset   }
//!     56    8 binary_table_len      }
//!     64    8 tuning_table_offset   }
//!     72    8 tuning_table_len      }
//!     80    8 payload_offset        16-aligned by writers
//!     88    8 payload_len
//!     96    8 total_len             whole bundle incl. padding, a multiple of ALIGN
//!    104    8 reserved              0 in 1.0; ignored
//!    112   16 table_checksum        xxh3-128 of bytes [0, payload_offset) with
//!                                   these 16 bytes taken as zero
//! ```
//! All integers are little-endian.

use super::cursor::{Cursor, PutLe};
use super::error::FormatError;
use super::{ALIGN, FORMAT_MAJOR, MAGIC};
use crate::hash::Hash128;

/// Size of the header written by this version, and the least a reader accepts.
pub const HEADER_LEN: usize = 128;

/// Offset of [`Header::table_checksum`] within the header.
pub const CHECKSUM_OFFSET: usize = 112;

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
    /// Feature flags; none are defined in 1.0 and readers ignore unknown bits.
    pub flags: u32,
    /// Number of records in the program table.
    pub program_count: u32,
    /// Number of records in the binary table.
    pub binary_count: u32,
    /// Number of records in the tuning table (0 in 1.0, where the table was reserved).
    pub tuning_count: u32,
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
    /// Length of the tuning table in bytes (0 in 1.0).
    pub tuning_table_len: u64,
    /// Offset of the payload region (zstd frames); everything before it is checksummed.
    pub payload_offset: u64,
    /// Length of the payload region in bytes.
    pub payload_len: u64,
    /// Total length of the bundle including trailing padding; a multiple of [`ALIGN`].
    pub total_len: u64,
    /// Reserved, written as 0 and ignored.
    pub reserved: u64,
    /// xxh3-128 of bytes `[0, payload_offset)` with this field taken as zero.
    pub table_checksum: Hash128,
}

impl Header {
    /// Encodes the header (exactly [`HEADER_LEN`] bytes, little-endian).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut v = Vec::with_capacity(HEADER_LEN);
        v.extend_from_slice(&self.magic);
        v.put_u16(self.major);
        v.put_u16(self.minor);
        v.put_u32(self.header_size);
        v.put_u32(self.flags);
        v.put_u32(self.program_count);
        v.put_u32(self.binary_count);
        v.put_u32(self.tuning_count);
        for x in [
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
        v.extend_from_slice(&self.table_checksum.0);
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
            return Err(FormatError::BadMagic { found: magic });
        }
        let major = c.u16("version")?;
        let minor = c.u16("version")?;
        if major != FORMAT_MAJOR {
            return Err(FormatError::UnsupportedVersion { major, minor });
        }
        if bytes.len() < HEADER_LEN {
            return Err(FormatError::Truncated {
                what: "header",
                offset: 0,
                needed: HEADER_LEN as u64,
                available: bytes.len() as u64,
            });
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
            table_checksum: c.hash(w)?,
        })
    }

    /// Checks that the checksummed prefix `[0, payload_offset)` is plausible and present
    /// in `available` bytes; must pass before the checksum can be computed.
    pub fn validate_prefix(&self, available: usize) -> Result<(), FormatError> {
        let hs = u64::from(self.header_size);
        if hs < HEADER_LEN as u64 || hs > self.payload_offset {
            return Err(FormatError::corrupted(
                "header",
                format!(
                    "header_size {hs} must be in [{HEADER_LEN}, payload_offset {}]",
                    self.payload_offset
                ),
            ));
        }
        if self.payload_offset > available as u64 {
            return Err(FormatError::Truncated {
                what: "header and tables",
                offset: 0,
                needed: self.payload_offset,
                available: available as u64,
            });
        }
        Ok(())
    }

    /// Checks every offset and length against each other and against `available` bytes:
    /// tables in order between the header and the payload, payload inside `total_len`,
    /// `total_len` a multiple of [`ALIGN`] and present. Never overflows.
    pub fn validate_layout(&self, available: usize) -> Result<(), FormatError> {
        self.validate_prefix(available)?;
        if self.total_len > available as u64 {
            return Err(FormatError::Truncated {
                what: "bundle",
                offset: 0,
                needed: self.total_len,
                available: available as u64,
            });
        }
        if self.total_len % ALIGN as u64 != 0 {
            return Err(FormatError::corrupted(
                "header",
                format!("total_len {} not a multiple of {ALIGN}", self.total_len),
            ));
        }
        let regions = [
            (
                "program table",
                self.program_table_offset,
                self.program_table_len,
            ),
            (
                "binary table",
                self.binary_table_offset,
                self.binary_table_len,
            ),
            (
                "tuning table",
                self.tuning_table_offset,
                self.tuning_table_len,
            ),
            ("payload region", self.payload_offset, self.payload_len),
        ];
        let mut floor = u64::from(self.header_size);
        for (i, (what, off, len)) in regions.into_iter().enumerate() {
            let ceiling = if i == 3 {
                self.total_len
            } else {
                self.payload_offset
            };
            let end = off.checked_add(len);
            match end {
                Some(end) if off >= floor && end <= ceiling => floor = end,
                _ => {
                    return Err(FormatError::corrupted(
                        what,
                        format!("range {off}+{len} outside [{floor}, {ceiling}]"),
                    ))
                }
            }
        }
        Ok(())
    }
}

/// The table checksum of the bundle starting at `bundle[0]`: xxh3-128 of
/// `bundle[..payload_offset]` with the checksum field (bytes 112..128) taken as zero.
///
/// `None` if `payload_offset` is shorter than the header or longer than `bundle`.
/// Writers (and fuzzers, to reach past the checksum) use it to seal a bundle.
pub fn compute_table_checksum(bundle: &[u8], payload_offset: u64) -> Option<Hash128> {
    let end = usize::try_from(payload_offset).ok()?;
    if end < HEADER_LEN || end > bundle.len() {
        return None;
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&bundle[..CHECKSUM_OFFSET]);
    h.update(&[0u8; 16]);
    h.update(&bundle[HEADER_LEN..end]);
    Some(Hash128(h.digest128().to_le_bytes()))
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
            program_table_offset: 128,
            program_table_len: 10,
            binary_table_offset: 138,
            binary_table_len: 0,
            tuning_table_offset: 138,
            payload_offset: 144,
            payload_len: 20,
            total_len: 176,
            table_checksum: Hash128([7; 16]),
            ..Header::default()
        }
    }

    #[test]
    fn encode_decode_round_trip_and_field_offsets() {
        let h = sample();
        let b = h.encode();
        assert_eq!(&b[..8], b"CLBAKE\r\n");
        assert_eq!(u64::from_le_bytes(b[80..88].try_into().unwrap()), 144);
        assert_eq!(u64::from_le_bytes(b[96..104].try_into().unwrap()), 176);
        assert_eq!(&b[CHECKSUM_OFFSET..], &[7; 16]);
        assert_eq!(Header::decode(&b).unwrap(), h);
        h.validate_layout(176).unwrap();
    }

    #[test]
    fn magic_then_version_then_length() {
        assert!(matches!(
            Header::decode(b"CLBA"),
            Err(FormatError::Truncated { what: "magic", .. })
        ));
        assert!(matches!(
            Header::decode(b"NOTABUNDLE..."),
            Err(FormatError::BadMagic { .. })
        ));
        let mut b = sample().encode();
        b[8] = 2;
        assert!(matches!(
            Header::decode(&b),
            Err(FormatError::UnsupportedVersion { major: 2, minor: 0 })
        ));
        b[8] = 1;
        b[10] = 9; // a higher minor is fine
        assert_eq!(Header::decode(&b).unwrap().minor, 9);
        assert!(matches!(
            Header::decode(&b[..100]),
            Err(FormatError::Truncated { what: "header", .. })
        ));
    }

    #[test]
    fn layout_rules() {
        let ok = sample();
        let cases: Vec<(Header, &str)> = vec![
            (
                Header {
                    header_size: 64,
                    ..ok.clone()
                },
                "header",
            ),
            (
                Header {
                    total_len: 170,
                    ..ok.clone()
                },
                "header",
            ),
            (
                Header {
                    program_table_offset: 100,
                    ..ok.clone()
                },
                "program table",
            ),
            (
                Header {
                    binary_table_offset: 130,
                    ..ok.clone()
                },
                "binary table",
            ),
            (
                Header {
                    tuning_table_len: 100,
                    ..ok.clone()
                },
                "tuning table",
            ),
            (
                Header {
                    payload_len: u64::MAX,
                    ..ok.clone()
                },
                "payload region",
            ),
        ];
        for (h, what) in cases {
            match h.validate_layout(1000) {
                Err(FormatError::Corrupted { what: w, .. }) => assert_eq!(w, what),
                other => panic!("{what}: {other:?}"),
            }
        }
        assert!(matches!(
            ok.validate_layout(150),
            Err(FormatError::Truncated { what: "bundle", .. })
        ));
        assert!(matches!(
            ok.validate_layout(140),
            Err(FormatError::Truncated {
                what: "header and tables",
                ..
            })
        ));
    }

    #[test]
    fn checksum_ignores_its_own_field() {
        let mut b = sample().encode().to_vec();
        b.extend_from_slice(&[1; 16]);
        let c = compute_table_checksum(&b, 144).unwrap();
        b[CHECKSUM_OFFSET..HEADER_LEN].copy_from_slice(&c.0);
        assert_eq!(compute_table_checksum(&b, 144), Some(c));
        b[130] ^= 1;
        assert_ne!(compute_table_checksum(&b, 144), Some(c));
        assert_eq!(compute_table_checksum(&b, 100), None);
        assert_eq!(compute_table_checksum(&b, 1000), None);
    }
}
