//! The device fingerprint as stored in bundles and cache entries: its string fields (see
//! [`STRING_FIELD_NAMES`](crate::fingerprint::STRING_FIELD_NAMES)), each a `str`, then
//! `u32` address bits. Read borrowed, so a stored fingerprint can be checked against its
//! stored hash without allocating.

use super::{Cursor, FormatError, PutLe};
use crate::fingerprint::{hash_fields, Fingerprint, STRING_FIELDS};
use crate::hash::Hash128;

/// A fingerprint read without copying: its string fields and address bits.
pub(crate) type RawFingerprint<'a> = ([&'a str; STRING_FIELDS], u32);

/// Reads a stored fingerprint, borrowed.
pub(crate) fn read<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<RawFingerprint<'a>, FormatError> {
    let mut fields = [""; STRING_FIELDS];
    for f in &mut fields {
        *f = c.str(what)?;
    }
    Ok((fields, c.u32(what)?))
}

/// Reads a stored fingerprint and checks it against the hash stored next to it.
pub(crate) fn read_checked<'a>(c: &mut Cursor<'a>, stored: &Hash128, what: &'static str) -> Result<RawFingerprint<'a>, FormatError> {
    let raw = read(c, what)?;
    let computed = hash_fields(&raw.0, raw.1);
    if computed != *stored {
        return Err(FormatError::corrupted(what, format!("stored fingerprint hash {stored} but the stored fields hash to {computed}")));
    }
    Ok(raw)
}

/// Appends `fp` as stored.
pub(crate) fn put(out: &mut Vec<u8>, fp: &Fingerprint) {
    for s in fp.string_fields() {
        out.put_str(s);
    }
    out.put_u32(fp.address_bits);
}

/// The owned fingerprint of a borrowed one.
pub(crate) fn to_owned(raw: &RawFingerprint<'_>) -> Fingerprint {
    Fingerprint::from_parts(raw.0.map(String::from), raw.1)
}

/// Decodes a fingerprint stored by [`put`] that fills `bytes` exactly.
pub(crate) fn decode(bytes: &[u8], what: &'static str) -> Result<Fingerprint, FormatError> {
    let mut c = Cursor::new(bytes, 0);
    let raw = read(&mut c, what)?;
    c.finish(what)?;
    Ok(to_owned(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_hash_equals_owned_hash_and_round_trips() {
        let fps = [
            Fingerprint::default(),
            Fingerprint::from_parts(["a", "b", "c", "d", "e", "f", "g", "h", "x86_64/64", "libpocl.so.2"].map(String::from), 64),
            Fingerprint::from_parts(["", "ab", "", "c", "Mali-G52", "", "r32p1", "OpenCL C 2.0", "arm/32", ""].map(String::from), 32),
        ];
        for fp in fps {
            let mut raw = Vec::new();
            put(&mut raw, &fp);
            let mut c = Cursor::new(&raw, 0);
            let read_back = read_checked(&mut c, &fp.hash(), "fp").unwrap();
            assert_eq!(to_owned(&read_back), fp);
            assert_eq!(decode(&raw, "fp").unwrap(), fp);
        }
    }

    #[test]
    fn a_hash_that_disagrees_with_the_fields_is_corrupted() {
        let mut raw = Vec::new();
        put(&mut raw, &Fingerprint::default());
        let err = read_checked(&mut Cursor::new(&raw, 0), &Hash128([9; 16]), "fp").unwrap_err();
        assert!(matches!(err, FormatError::Corrupted { what: "fp", .. }), "{err}");
    }

    #[test]
    fn leftovers_and_short_input_are_refused() {
        let mut raw = Vec::new();
        put(&mut raw, &Fingerprint::default());
        raw.push(0);
        assert!(matches!(decode(&raw, "fp"), Err(FormatError::Corrupted { .. })));
        assert!(matches!(decode(&raw[..10], "fp"), Err(FormatError::Truncated { .. })));
    }
}
