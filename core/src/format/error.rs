//! The one error type of the bundle format boundary.
//!
//! Each variant names a *class* of failure (truncated, corrupted, outdated, ...), with the
//! part of the bundle it concerns (`what`) and the numbers as fields, not formatted text.
//! The caller's question — "may I still run by compiling the source?" — is answered by
//! [`FormatError::may_fall_back`].

use crate::hash::Hash128;

/// Why a bundle, or one of its entries, could not be read or written.
///
/// Every failure of the embedded-binary path is a normal miss for the runtime: it logs the
/// reason and compiles the program from source instead.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The bytes do not start with [`MAGIC`](super::MAGIC): this is not a clbake bundle.
    #[error("not a clbake bundle (bad magic {found:02x?})")]
    BadMagic {
        /// The first eight bytes found instead of the magic.
        found: [u8; 8],
    },

    /// The bundle was written by an incompatible format version (another major version).
    /// Higher minor versions of the supported major version are accepted.
    #[error(
        "unsupported bundle format version {major}.{minor} (this reader supports {}.x)",
        super::FORMAT_MAJOR
    )]
    UnsupportedVersion {
        /// Major version found in the header.
        major: u16,
        /// Minor version found in the header.
        minor: u16,
    },

    /// The bytes end before a structure that must be there: a cut-off download, a short
    /// read, or a length field that points past the end.
    #[error(
        "truncated {what}: needs {needed} bytes at offset {offset}, only {available} available"
    )]
    Truncated {
        /// Which structure was being read (`"header"`, `"binary record"`, ...).
        what: &'static str,
        /// Offset of the structure from the start of the bundle.
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

    /// A checksum over verified bytes does not match: the header and tables, a program's
    /// source, or a binary's uncompressed bytes were altered.
    #[error("checksum mismatch in {what}: stored {expected}, computed {found}")]
    ChecksumMismatch {
        /// What the checksum covers.
        what: &'static str,
        /// The checksum stored in the bundle.
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

    /// A binary entry was built for another version of its program (its program key
    /// differs from the key of the program it is being attached to).
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

impl FormatError {
    /// May the caller fall back to compiling the embedded source?
    ///
    /// Yes for every variant: a bundle, or one entry in it, that cannot be used is a miss,
    /// never a reason to stop. Only a bundle whose *source* cannot be read leaves nothing
    /// to fall back to, which the caller notices when [`ProgramEntry::source`] fails too.
    ///
    /// [`ProgramEntry::source`]: super::ProgramEntry::source
    pub fn may_fall_back(&self) -> bool {
        match self {
            FormatError::BadMagic { .. }
            | FormatError::UnsupportedVersion { .. }
            | FormatError::Truncated { .. }
            | FormatError::Corrupted { .. }
            | FormatError::ChecksumMismatch { .. }
            | FormatError::Decompress { .. }
            | FormatError::LengthMismatch { .. }
            | FormatError::TooLarge { .. }
            | FormatError::Outdated { .. }
            | FormatError::NoSuchProgram { .. } => true,
        }
    }

    /// Shorthand for [`FormatError::Corrupted`].
    pub(crate) fn corrupted(what: &'static str, detail: impl Into<String>) -> Self {
        FormatError::Corrupted {
            what,
            detail: detail.into(),
        }
    }
}
