//! Encoding and decoding of the program and binary table records.
//!
//! Every record starts with a `u32` giving the length of the rest of the record, so a later
//! minor version may append fields that older readers skip. Strings are a `u32` byte length
//! followed by UTF-8 bytes. Payload offsets are relative to the payload region.
//!
//! ```text
//! program record                     binary record
//!   u32   record_len                   u32   record_len
//!   str   name                         u32   program (index into the program table)
//!   str   options                      [16]  program_key
//!   [16]  source_hash (xxh3-128)       [16]  fingerprint_hash
//!   u32   kernel_count                 u64   uncompressed_len
//!   str   kernel name × kernel_count   u64   compressed_len
//!   u64   source_offset                [16]  checksum (xxh3-128 of uncompressed bytes)
//!   u64   source_compressed_len        u64   payload_offset
//!   u64   source_len                   str × 8 fingerprint strings, then u32 address_bits
//! ```

use super::codec::MAX_UNCOMPRESSED;
use super::cursor::{Cursor, PutLe};
use super::entry::{BinaryEntry, ProgramEntry};
use super::error::FormatError;
use crate::fingerprint::Fingerprint;
use crate::hash::Hash128;

/// Smallest possible program record (empty strings, no kernels), length field included.
pub(crate) const MIN_PROGRAM_RECORD: u64 = 4 + 4 + 4 + 16 + 4 + 8 + 8 + 8;
/// Smallest possible binary record (empty fingerprint strings), length field included.
pub(crate) const MIN_BINARY_RECORD: u64 = 4 + 4 + 16 + 16 + 8 + 8 + 16 + 8 + 8 * 4 + 4;

/// The slice `[offset, offset + len)` of the payload region, or `Corrupted`.
fn payload_slice<'a>(
    payload: &'a [u8],
    offset: u64,
    len: u64,
    what: &'static str,
) -> Result<&'a [u8], FormatError> {
    match offset.checked_add(len) {
        Some(end) if end <= payload.len() as u64 => Ok(&payload[offset as usize..end as usize]),
        _ => Err(FormatError::corrupted(
            what,
            format!(
                "payload range {offset}+{len} outside the payload region of {} bytes",
                payload.len()
            ),
        )),
    }
}

/// Rejects declared uncompressed sizes above [`MAX_UNCOMPRESSED`].
fn check_size(what: &'static str, value: u64) -> Result<(), FormatError> {
    if value > MAX_UNCOMPRESSED {
        return Err(FormatError::TooLarge {
            what,
            value,
            limit: MAX_UNCOMPRESSED,
        });
    }
    Ok(())
}

/// Reads the `u32` record length and returns a cursor over the record body.
pub(crate) fn record_body<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<Cursor<'a>, FormatError> {
    let len = c.u32(what)?;
    let base = c.offset();
    Ok(Cursor::new(c.take(len as usize, what)?, base))
}

/// Decodes one program record. `strict`: the bundle's minor version is known to this
/// reader, so the record must not have bytes past its last known field.
pub(crate) fn read_program<'a>(
    c: &mut Cursor<'a>,
    payload: &'a [u8],
    strict: bool,
) -> Result<ProgramEntry<'a>, FormatError> {
    let w = "program record";
    let mut r = record_body(c, w)?;
    let name = r.str("program name")?;
    let options = r.str("program options")?;
    let source_hash = r.hash(w)?;
    let kernel_count = r.u32(w)?;
    if u64::from(kernel_count) * 4 > r.remaining() as u64 {
        return Err(FormatError::TooLarge {
            what: "kernel count",
            value: kernel_count.into(),
            limit: r.remaining() as u64 / 4,
        });
    }
    let mut kernels = Vec::with_capacity(kernel_count as usize);
    for _ in 0..kernel_count {
        kernels.push(r.str("kernel name")?);
    }
    let source_offset = r.u64(w)?;
    let source_compressed_len = r.u64(w)?;
    let source_len = r.u64(w)?;
    if strict {
        r.finish(w)?;
    }
    check_size("program source", source_len)?;
    let compressed = payload_slice(
        payload,
        source_offset,
        source_compressed_len,
        "program source",
    )?;
    Ok(ProgramEntry {
        name,
        options,
        source_hash,
        kernels,
        source_len,
        source_compressed_len,
        source_offset,
        compressed,
    })
}

/// Encodes one program record (length prefix included).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_program(
    out: &mut Vec<u8>,
    name: &str,
    options: &str,
    source_hash: &Hash128,
    kernels: &[String],
    source_offset: u64,
    source_compressed_len: u64,
    source_len: u64,
) {
    let mut r = Vec::new();
    r.put_str(name);
    r.put_str(options);
    r.extend_from_slice(&source_hash.0);
    r.put_u32(u32::try_from(kernels.len()).expect("fewer than 2^32 kernels"));
    for k in kernels {
        r.put_str(k);
    }
    r.put_u64(source_offset);
    r.put_u64(source_compressed_len);
    r.put_u64(source_len);
    put_record(out, &r);
}

/// Decodes one binary record. The fingerprint is validated (UTF-8, hash) but kept raw.
pub(crate) fn read_binary<'a>(
    c: &mut Cursor<'a>,
    payload: &'a [u8],
    strict: bool,
) -> Result<BinaryEntry<'a>, FormatError> {
    let w = "binary record";
    let mut r = record_body(c, w)?;
    let program = r.u32(w)?;
    let program_key = r.hash(w)?;
    let fingerprint_hash = r.hash(w)?;
    let uncompressed_len = r.u64(w)?;
    let compressed_len = r.u64(w)?;
    let checksum = r.hash(w)?;
    let payload_offset = r.u64(w)?;
    let fp_start = r.clone();
    let (fields, bits) = read_fingerprint(&mut r)?;
    let fp_raw = &fp_start.rest()[..fp_start.remaining() - r.remaining()];
    if strict {
        r.finish(w)?;
    }
    let computed = fingerprint_hash_of(&fields, bits);
    if computed != fingerprint_hash {
        return Err(FormatError::corrupted(
            "binary fingerprint",
            format!("stored fingerprint hash {fingerprint_hash} but the stored fields hash to {computed}"),
        ));
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
    })
}

/// Encodes one binary record (length prefix included).
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_binary(
    out: &mut Vec<u8>,
    program: u32,
    program_key: &Hash128,
    fingerprint_hash: &Hash128,
    uncompressed_len: u64,
    compressed_len: u64,
    checksum: &Hash128,
    payload_offset: u64,
    fp_raw: &[u8],
) {
    let mut r = Vec::new();
    r.put_u32(program);
    r.extend_from_slice(&program_key.0);
    r.extend_from_slice(&fingerprint_hash.0);
    r.put_u64(uncompressed_len);
    r.put_u64(compressed_len);
    r.extend_from_slice(&checksum.0);
    r.put_u64(payload_offset);
    r.extend_from_slice(fp_raw);
    put_record(out, &r);
}

fn put_record(out: &mut Vec<u8>, body: &[u8]) {
    out.put_u32(u32::try_from(body.len()).expect("records are shorter than 4 GiB"));
    out.extend_from_slice(body);
}

/// Reads the eight fingerprint strings and the address width, borrowed.
pub(crate) fn read_fingerprint<'a>(c: &mut Cursor<'a>) -> Result<([&'a str; 8], u32), FormatError> {
    let mut fields = [""; 8];
    for f in &mut fields {
        *f = c.str("binary fingerprint")?;
    }
    Ok((fields, c.u32("binary fingerprint")?))
}

/// Encodes a fingerprint as stored in a binary record.
pub(crate) fn encode_fingerprint(fp: &Fingerprint) -> Vec<u8> {
    let mut v = Vec::new();
    for s in fp.string_fields() {
        v.put_str(s);
    }
    v.put_u32(fp.address_bits);
    v
}

/// Decodes a fingerprint stored by [`encode_fingerprint`] (exactly, nothing left over).
pub(crate) fn decode_fingerprint(raw: &[u8]) -> Result<Fingerprint, FormatError> {
    let mut c = Cursor::new(raw, 0);
    let (fields, bits) = read_fingerprint(&mut c)?;
    c.finish("binary fingerprint")?;
    Ok(Fingerprint::from_parts(fields.map(String::from), bits))
}

/// [`Fingerprint::hash`] computed from borrowed fields, without allocating.
/// Must stay identical to `Fingerprint::hash` (a unit test checks it).
pub(crate) fn fingerprint_hash_of(f: &[&str; 8], address_bits: u32) -> Hash128 {
    crate::fingerprint::hash_fields(f, address_bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_fingerprint_hash_equals_fingerprint_hash() {
        let fps = [
            Fingerprint::default(),
            Fingerprint::from_parts(
                ["a", "b", "c", "d", "e", "f", "g", "h"].map(String::from),
                64,
            ),
            Fingerprint::from_parts(
                ["", "ab", "", "c", "Mali-G52", "", "r32p1", "OpenCL C 2.0"].map(String::from),
                32,
            ),
        ];
        for fp in fps {
            let raw = encode_fingerprint(&fp);
            let mut c = Cursor::new(&raw, 0);
            let (fields, bits) = read_fingerprint(&mut c).unwrap();
            assert_eq!(fingerprint_hash_of(&fields, bits), fp.hash());
            assert_eq!(decode_fingerprint(&raw).unwrap(), fp);
        }
    }

    #[test]
    fn record_sizes_match_minimums() {
        let mut p = Vec::new();
        write_program(&mut p, "", "", &Hash128::default(), &[], 0, 0, 0);
        assert_eq!(p.len() as u64, MIN_PROGRAM_RECORD);
        let mut b = Vec::new();
        let fp = encode_fingerprint(&Fingerprint::default());
        write_binary(
            &mut b,
            0,
            &Hash128::default(),
            &Hash128::default(),
            0,
            0,
            &Hash128::default(),
            0,
            &fp,
        );
        assert_eq!(b.len() as u64, MIN_BINARY_RECORD);
    }

    #[test]
    fn decode_fingerprint_rejects_leftovers_and_short_input() {
        let mut raw = encode_fingerprint(&Fingerprint::default());
        raw.push(0);
        assert!(matches!(
            decode_fingerprint(&raw),
            Err(FormatError::Corrupted { .. })
        ));
        assert!(matches!(
            decode_fingerprint(&raw[..10]),
            Err(FormatError::Truncated { .. })
        ));
    }
}
