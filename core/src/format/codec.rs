//! zstd compression and bounded decompression, with zstd's errors mapped in one place.
//!
//! Decompression always gets the stored uncompressed size as its capacity, so a frame
//! cannot make it allocate or write more (zstd fails with "destination buffer too small"),
//! and the produced length must equal the stored one exactly.

use crate::wire::FormatError;
use std::cell::RefCell;

/// Largest uncompressed payload (program source or binary) a bundle may declare: 1 GiB.
/// Readers reject larger declared sizes before allocating anything.
pub const MAX_UNCOMPRESSED: u64 = 1 << 30;

thread_local! {
    /// One reusable decompression context per thread.
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Decompresses the zstd frame(s) in `src`, which must produce exactly `expected` bytes.
pub(crate) fn decompress_exact(what: &'static str, src: &[u8], expected: u64) -> Result<Vec<u8>, FormatError> {
    if expected > MAX_UNCOMPRESSED {
        return Err(FormatError::TooLarge { what, value: expected, limit: MAX_UNCOMPRESSED });
    }
    let capacity = expected as usize; // <= 1 GiB: fits any usize of 32 bits or more
    let map = |source| FormatError::Decompress { what, source };
    let out = DECOMPRESSOR.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let d = match slot.take() {
                Some(d) => slot.insert(d),
                None => slot.insert(zstd::bulk::Decompressor::new().map_err(map)?),
            };
            d.decompress(src, capacity).map_err(map)
        }
        // Re-entered on this thread (not expected): use a fresh context.
        Err(_) => zstd::bulk::Decompressor::new().and_then(|mut d| d.decompress(src, capacity)).map_err(map),
    })?;
    if out.len() as u64 != expected {
        return Err(FormatError::LengthMismatch { what, expected, found: out.len() as u64 });
    }
    Ok(out)
}

/// A reusable zstd compression context with deterministic settings: no zstd checksum (the
/// bundle stores its own), content size recorded in the frame, no dictionary id.
pub(crate) struct Compressor {
    level: i32,
    ctx: Option<zstd::bulk::Compressor<'static>>,
}

impl Compressor {
    /// A compressor at `level`, clamped to the range zstd supports.
    pub(crate) fn new(level: i32) -> Self {
        let range = zstd::compression_level_range();
        Compressor { level: level.clamp(*range.start(), *range.end()), ctx: None }
    }

    /// The (clamped) compression level.
    #[cfg(test)]
    pub(crate) fn level(&self) -> i32 {
        self.level
    }

    /// Compresses `data` into one zstd frame.
    ///
    /// # Panics
    /// If zstd cannot allocate its context or output buffer.
    pub(crate) fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        let level = self.level;
        let ctx = self.ctx.get_or_insert_with(|| {
            let mut c = zstd::bulk::Compressor::new(level).expect("zstd compression context");
            c.include_checksum(false).expect("zstd parameter");
            c.include_contentsize(true).expect("zstd parameter");
            c.include_dictid(false).expect("zstd parameter");
            c
        });
        ctx.compress(data).expect("zstd compression")
    }
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor").field("level", &self.level).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_including_empty() {
        let mut c = Compressor::new(19);
        for data in [&b""[..], b"abc", &[7u8; 100_000]] {
            let z = c.compress(data);
            assert_eq!(decompress_exact("t", &z, data.len() as u64).unwrap(), data);
        }
    }

    #[test]
    fn output_is_bounded_by_the_stored_length() {
        let z = Compressor::new(3).compress(&[1u8; 1000]);
        assert!(matches!(decompress_exact("t", &z, 999), Err(FormatError::Decompress { what: "t", .. })));
        assert!(matches!(decompress_exact("t", &z, 2000), Err(FormatError::LengthMismatch { expected: 2000, found: 1000, .. })));
        assert!(matches!(decompress_exact("t", &z, MAX_UNCOMPRESSED + 1), Err(FormatError::TooLarge { limit: MAX_UNCOMPRESSED, .. })));
        assert!(matches!(decompress_exact("t", b"not zstd", 10), Err(FormatError::Decompress { .. })));
    }

    #[test]
    fn level_is_clamped() {
        assert_eq!(Compressor::new(1000).level(), *zstd::compression_level_range().end());
    }
}
