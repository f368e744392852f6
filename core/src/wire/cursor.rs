//! A bounds-checked little-endian reader over a byte slice.
//!
//! Every read checks the remaining length first and returns
//! [`FormatError::Truncated`] instead of panicking; slices come out borrowed from the
//! input (zero-copy). Offsets in errors are absolute within the bundle (`base` + position).

use super::FormatError;
use crate::hash::Hash128;

/// Reads little-endian integers, hashes and length-prefixed strings from `bytes`.
#[derive(Clone, Debug)]
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes[0]` within the bundle, for error messages.
    base: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor over `bytes`, which start at offset `base` of the bundle.
    pub(crate) fn new(bytes: &'a [u8], base: u64) -> Self {
        Cursor { bytes, pos: 0, base }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The bytes not read yet, borrowed (the cursor does not move).
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }

    /// Absolute offset (within the bundle) of the next byte to read.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The next `n` bytes, borrowed.
    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        if n > self.remaining() {
            return Err(FormatError::Truncated { what, offset: self.offset(), needed: n as u64, available: self.remaining() as u64 });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The next `N` bytes as an array.
    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], FormatError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One byte.
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A little-endian `u16`.
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u32`.
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u64`.
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A 16-byte hash.
    pub(crate) fn hash(&mut self, what: &'static str) -> Result<Hash128, FormatError> {
        Ok(Hash128(self.array(what)?))
    }

    /// A `u32`-length-prefixed UTF-8 string, borrowed.
    pub(crate) fn str(&mut self, what: &'static str) -> Result<&'a str, FormatError> {
        let len = self.u32(what)?;
        let at = self.offset();
        let bytes = self.take(len as usize, what)?;
        std::str::from_utf8(bytes).map_err(|e| FormatError::corrupted(what, format!("not UTF-8 at offset {at}: {e}")))
    }

    /// Fails with `Corrupted` unless every byte was read.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), FormatError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(FormatError::corrupted(what, format!("{n} unexpected bytes at offset {}", self.offset()))),
        }
    }
}

/// Appends little-endian values and length-prefixed strings to a `Vec<u8>` (the writer's
/// side of [`Cursor`]).
pub(crate) trait PutLe {
    /// Appends a byte.
    fn put_u8(&mut self, v: u8);
    /// Appends a `u16`.
    fn put_u16(&mut self, v: u16);
    /// Appends a `u32`.
    fn put_u32(&mut self, v: u32);
    /// Appends a `u64`.
    fn put_u64(&mut self, v: u64);
    /// Appends a `u32` length and the bytes of `s`.
    ///
    /// # Panics
    /// If `s` is 4 GiB or longer, which no bundle can hold.
    fn put_str(&mut self, s: &str);
    /// Appends the 16 bytes of a hash.
    fn put_hash(&mut self, h: &Hash128);
}

impl PutLe for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_str(&mut self, s: &str) {
        let len = u32::try_from(s.len()).expect("clbake bundle strings must be shorter than 4 GiB");
        self.put_u32(len);
        self.extend_from_slice(s.as_bytes());
    }
    fn put_hash(&mut self, h: &Hash128) {
        self.extend_from_slice(&h.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian() {
        let bytes = [1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0];
        let mut c = Cursor::new(&bytes, 100);
        assert_eq!(c.u16("a").unwrap(), 1);
        assert_eq!(c.u32("b").unwrap(), 2);
        assert_eq!(c.u64("c").unwrap(), 3);
        assert_eq!(c.offset(), 114);
        c.finish("t").unwrap();
    }

    #[test]
    fn short_read_is_truncated_with_absolute_offset() {
        let mut c = Cursor::new(&[1, 2, 3], 40);
        c.take(1, "x").unwrap();
        match c.u32("field") {
            Err(FormatError::Truncated { what: "field", offset: 41, needed: 4, available: 2 }) => {}
            other => panic!("{other:?}"),
        }
        // A failed read consumes nothing.
        assert_eq!(c.remaining(), 2);
    }

    #[test]
    fn huge_length_prefix_does_not_allocate_or_panic() {
        let mut c = Cursor::new(&[0xff, 0xff, 0xff, 0xff, b'a'], 0);
        assert!(matches!(c.str("s"), Err(FormatError::Truncated { needed: 0xffff_ffff, .. })));
    }

    #[test]
    fn strings_round_trip_and_reject_bad_utf8() {
        let mut v = Vec::new();
        v.put_str("héllo");
        v.put_u32(2);
        v.extend_from_slice(&[0xc3, 0x28]);
        let mut c = Cursor::new(&v, 0);
        assert_eq!(c.str("s").unwrap(), "héllo");
        assert!(matches!(c.str("bad"), Err(FormatError::Corrupted { what: "bad", .. })));
    }

    #[test]
    fn finish_reports_leftovers() {
        let c = Cursor::new(&[0; 3], 0);
        assert!(matches!(c.finish("table"), Err(FormatError::Corrupted { what: "table", .. })));
    }
}
