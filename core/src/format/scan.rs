//! Finding bundles inside a larger blob: a `.clbk` file, or the `.clbake` section of an
//! executable that holds one bundle per crate, back to back.

use super::reader::Bundle;
use super::{ALIGN, MAGIC};
use crate::wire::FormatError;

/// Finds every bundle in `bytes` (a whole `.clbk` file, or an executable's `.clbake`
/// section holding several bundles back to back, possibly with zero padding between
/// them) by looking for [`MAGIC`] at offsets that are multiples of [`ALIGN`].
///
/// Returns the offset of each magic found with the result of parsing the bundle there.
/// After a bundle that parses, the search goes on at its end; after one that does not,
/// at the next aligned offset (so a damaged bundle costs only itself). To read the
/// bundles of an ELF executable, pass [`bundle_region`](super::bundle_region)'s result, not
/// the whole file: the file's code and data may hold the magic bytes too.
pub fn scan(bytes: &[u8]) -> Vec<(usize, Result<Bundle<'_>, FormatError>)> {
    let mut found = Vec::new();
    let mut offset = 0usize;
    while bytes.len().saturating_sub(offset) >= MAGIC.len() {
        if bytes[offset..].starts_with(&MAGIC) {
            let result = Bundle::parse(&bytes[offset..]);
            // A parsed bundle's length is a non-zero multiple of ALIGN: the search advances.
            let next = match &result {
                Ok(bundle) => offset.saturating_add(bundle.len()),
                Err(_) => offset.saturating_add(ALIGN),
            };
            found.push((offset, result));
            offset = next;
        } else {
            offset = offset.saturating_add(ALIGN);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::sample_bundle;
    use crate::format::{BundleWriter, Header, ProgramSpec};

    #[test]
    fn finds_bundles_back_to_back_with_padding_and_garbage() {
        let a = sample_bundle();
        let b = {
            let mut w = BundleWriter::new().with_level(1);
            w.add_program(&ProgramSpec::simple("other", "", &[], "kernel void k() {}"));
            w.to_bytes()
        };
        let mut blob = a.clone();
        blob.extend_from_slice(&b);
        blob.extend_from_slice(&[0; 3 * ALIGN]);
        let c_at = blob.len();
        blob.extend_from_slice(&a);
        let broken_at = blob.len();
        let mut broken = b.clone();
        broken[Header::decode(&b).unwrap().program_table_offset as usize + 6] ^= 0x40; // inside the program table
        blob.extend_from_slice(&broken);
        blob.extend_from_slice(&[0; 5]); // an unaligned tail is ignored
        let found = scan(&blob);
        let offsets: Vec<usize> = found.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, vec![0, a.len(), c_at, broken_at]);
        assert_eq!(found[0].1.as_ref().unwrap().as_bytes(), &a[..]);
        assert_eq!(found[1].1.as_ref().unwrap().programs()[0].name, "other");
        assert!(found[2].1.is_ok());
        assert!(matches!(found[3].1, Err(FormatError::ChecksumMismatch { what: "header and program table", .. })));
    }

    #[test]
    fn a_bundle_with_a_damaged_binary_table_is_found_and_kept() {
        let a = sample_bundle();
        let mut damaged = a.clone();
        damaged[Header::decode(&a).unwrap().binary_table_offset as usize + 10] ^= 1;
        let mut blob = damaged.clone();
        blob.extend_from_slice(&a);
        let found = scan(&blob);
        assert_eq!(found.iter().map(|(o, _)| *o).collect::<Vec<_>>(), vec![0, a.len()]);
        let first = found[0].1.as_ref().unwrap();
        assert!(first.binaries().is_empty() && first.damage().len() == 1);
        assert_eq!(found[1].1.as_ref().unwrap().binaries().len(), 4);
    }

    #[test]
    fn empty_short_and_unaligned_inputs() {
        assert!(scan(&[]).is_empty());
        assert!(scan(&MAGIC[..7]).is_empty());
        let mut unaligned = vec![0u8; 3];
        unaligned.extend_from_slice(&sample_bundle());
        assert!(scan(&unaligned).is_empty());
        assert!(matches!(scan(&MAGIC)[..], [(0, Err(FormatError::Truncated { .. }))]));
    }
}
