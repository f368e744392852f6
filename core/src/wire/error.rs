//! The one error type of clbake's byte formats (bundles and disk-cache entries).
//!
//! Each variant names a *class* of failure (truncated, corrupted, outdated, ...), with the
//! part of the blob it concerns (`what`) and the numbers as fields, not formatted text.
//! The caller's question — "may I still run by compiling the source?" — is answered by
//! [`FormatError::may_fall_back`].

use crate::hash::Hash128;

/// Why a bundle or a cache entry, or one of their parts, could not be read or written.
///
/// Every failure of a binary path is a normal miss for the runtime: it logs the reason and
/// compiles the program from source instead.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The bytes do not start with the magic of the format: not a clbake bundle (or entry).
    #[error("not a clbake {what} (bad magic {found:02x?})")]
    BadMagic {
        /// `"bundle"` or `"cache entry"`.
        what: &'static str,
        /// The first eight bytes found instead of the magic.
        found: [u8; 8],
    },

    /// Written by an incompatible format version. Bundles: another major version (higher
    /// minors of the supported major are accepted); cache entries: any other version.
    #[error("{what} format {major}.{minor} is not supported (this clbake reads {supported}){}", outdated_hint(what, *major, supported))]
    UnsupportedVersion {
        /// `"bundle"` or `"cache entry"`.
        what: &'static str,
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
        /// What this reader accepts, e.g. `"2.x"`.
        supported: &'static str,
    },

    /// The bytes end before a structure that must be there: a cut-off download, a short
    /// read, or a length field that points past the end.
    #[error("truncated {what}: needs {needed} bytes at offset {offset}, only {available} available")]
    Truncated {
        /// Which structure was being read (`"header"`, `"binary record"`, ...).
        what: &'static str,
        /// Offset of the structure from the start of the blob.
        offset: u64,
        /// Bytes it needs.
        needed: u64,
        /// Bytes that were there.
        available: u64,
    },

    /// A structural rule is broken: an offset outside its region, an index out of range,
    /// a string that is not UTF-8, a table with bytes left over, entries out of order, or
    /// a stored hash that disagrees with the fields it was computed from.
    #[error("corrupted {what}: {detail}")]
    Corrupted {
        /// Which structure is corrupted.
        what: &'static str,
        /// Human-readable details (numbers involved).
        detail: String,
    },

    /// A checksum over verified bytes does not match: a table, a program's source, or a
    /// binary's uncompressed bytes were altered.
    #[error("checksum mismatch in {what}: stored {expected}, computed {found}")]
    ChecksumMismatch {
        /// What the checksum covers.
        what: &'static str,
        /// The checksum stored.
        expected: Hash128,
        /// The checksum of the bytes actually found.
        found: Hash128,
    },

    /// zstd rejected a payload: not a zstd frame, a damaged frame, or more output than the
    /// stored uncompressed size allows.
    #[error("cannot decompress {what}: {source}")]
    Decompress {
        /// Which payload (`"binary"`, `"program source"`).
        what: &'static str,
        /// zstd's error.
        #[source]
        source: std::io::Error,
    },

    /// A payload decompressed to another length than the one stored for it.
    #[error("{what} decompressed to {found} bytes, {expected} expected")]
    LengthMismatch {
        /// Which payload.
        what: &'static str,
        /// Stored uncompressed length.
        expected: u64,
        /// Length actually produced.
        found: u64,
    },

    /// A count or length is beyond what the format allows or the bytes could hold
    /// (checked before anything is allocated).
    #[error("{what} is too large: {value} (limit {limit})")]
    TooLarge {
        /// Which count or length.
        what: &'static str,
        /// The value found.
        value: u64,
        /// The largest value allowed here.
        limit: u64,
    },

    /// An entry was built for another version of its program (its program key differs from
    /// the key of the program it is being attached to).
    #[error("outdated {what}: built for program key {found}, current key is {expected}")]
    Outdated {
        /// What is outdated.
        what: &'static str,
        /// Key of the current program.
        expected: Hash128,
        /// Key the entry was built for.
        found: Hash128,
    },

    /// A program index that does not exist in the bundle being written.
    #[error("no program with index {index} (the bundle has {count})")]
    NoSuchProgram {
        /// The index asked for.
        index: u32,
        /// Number of programs.
        count: u32,
    },
}

/// The fix for an old bundle: bake it again with this clbake.
fn outdated_hint(what: &str, major: u16, supported: &str) -> &'static str {
    let newer = supported.split('.').next().and_then(|m| m.parse::<u16>().ok()).is_some_and(|m| major > m);
    match (what, newer) {
        ("bundle", false) => {
            "; it was baked by an older clbake: bake it again once with this one (`clbake bake`, or the app's `--clbake-bake`)"
        }
        ("bundle", true) => "; it was baked by a newer clbake: update clbake, or bake it again with this one",
        _ => "",
    }
}

impl FormatError {
    /// May the caller fall back to compiling the embedded source?
    ///
    /// Yes for every variant: a bundle, or one entry in it, that cannot be used is a miss,
    /// never a reason to stop. Only a bundle whose *source* cannot be read leaves nothing
    /// to fall back to, which the caller notices when reading the source fails too.
    pub fn may_fall_back(&self) -> bool {
        true
    }

    /// Shorthand for [`FormatError::Corrupted`].
    pub(crate) fn corrupted(what: &'static str, detail: impl Into<String>) -> Self {
        FormatError::Corrupted { what, detail: detail.into() }
    }

    /// Whether the bytes were written by another version of the format (as opposed to
    /// being damaged).
    pub fn is_version(&self) -> bool {
        matches!(self, FormatError::UnsupportedVersion { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_bundle_says_bake_again() {
        let e = FormatError::UnsupportedVersion { what: "bundle", major: 1, minor: 1, supported: "2.x" };
        let s = e.to_string();
        assert!(s.starts_with("bundle format 1.1 is not supported (this clbake reads 2.x)"), "{s}");
        assert!(s.contains("bake it again once"), "{s}");
        let newer = FormatError::UnsupportedVersion { what: "bundle", major: 3, minor: 0, supported: "2.x" }.to_string();
        assert!(newer.contains("newer clbake"), "{newer}");
        let entry = FormatError::UnsupportedVersion { what: "cache entry", major: 1, minor: 0, supported: "2" }.to_string();
        assert_eq!(entry, "cache entry format 1.0 is not supported (this clbake reads 2)");
    }
}
