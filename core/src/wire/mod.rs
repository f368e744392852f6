//! The byte layer under both of clbake's blob formats, the bundle ([`crate::format`]) and the
//! disk-cache entry ([`crate::cache_entry`]): a bounds-checked little-endian `Cursor`, its
//! writing side `PutLe`, length-prefixed records, the stored fingerprint, and the one
//! error type, [`FormatError`].
//!
//! Conventions: integers little-endian; `str` is a `u32` byte length then UTF-8 bytes;
//! `[16]` is an xxh3-128 ([`Hash128`](crate::Hash128)); a record is a `u32` length of the
//! rest of the record then its fields, so a later minor version may append fields that
//! older readers skip.

mod cursor;
mod error;
pub(crate) mod fingerprint;

pub(crate) use cursor::{Cursor, PutLe};
pub use error::FormatError;

/// Reads a record's `u32` length and returns a cursor over the record body.
pub(crate) fn record_body<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<Cursor<'a>, FormatError> {
    let len = c.u32(what)?;
    let base = c.offset();
    Ok(Cursor::new(c.take(len as usize, what)?, base))
}

/// Appends `body` as a record: its `u32` length, then the bytes.
///
/// # Panics
/// If the body is 4 GiB or longer, which no clbake blob can hold.
pub(crate) fn put_record(out: &mut Vec<u8>, body: &[u8]) {
    out.put_u32(u32::try_from(body.len()).expect("records are shorter than 4 GiB"));
    out.extend_from_slice(body);
}
