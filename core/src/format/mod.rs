//! The `.clbk` bundle format: programs (name, build options, compressed source, kernels
//! with their signatures), precompiled binaries for many devices with their known answers,
//! and tuned local work sizes, in one self-describing, checksummed blob that is read
//! zero-copy from a `&'static [u8]`.
//!
//! ```
//! use clbake_core::format::{Bundle, BundleWriter, ProgramSpec};
//! use clbake_core::Fingerprint;
//!
//! let fp = Fingerprint { device_name: "Mali-G52".into(), address_bits: 64, ..Default::default() };
//! let mut w = BundleWriter::new();
//! let add = w.add_program(&ProgramSpec::simple("add", "-cl-fast-relaxed-math", &["add"], "kernel void add() {}"));
//! w.add_binary(add, &fp, b"compiled bytes", &[]);
//! let bytes = w.to_bytes();
//!
//! let bundle = Bundle::parse(&bytes)?;
//! let (index, program) = bundle.program("add").unwrap();
//! assert_eq!(program.source()?, "kernel void add() {}");
//! let binary = bundle.find_binary(index, &fp.hash()).unwrap();
//! assert_eq!(binary.decompress()?, b"compiled bytes");
//! assert_eq!(binary.fingerprint()?, fp);
//! # Ok::<(), clbake_core::format::FormatError>(())
//! ```
//!
//! # Layout
//! All integers little-endian; offsets in the header are from the bundle's first byte,
//! offsets in records from the start of the payload region. `str`, `[16]` and records are
//! as in [`crate::wire`].
//!
//! | region | where | contents |
//! | --- | --- | --- |
//! | header | `0..176` | [`Header`]: magic, version, sizes, counts, region offsets, three checksums |
//! | info | right after the header | one `str`: which clbake wrote the bundle, with which settings |
//! | program table | after the info | one record per program: name, file stem, variant, options, key, kernels with their parameters (see `program.rs`) |
//! | binary table | after the program table | one record per binary, sorted by (program, fingerprint hash), with the device's fingerprint and known answers (see `binary.rs`, [`KnownAnswer`]) |
//! | tuning table | after the binary table | one record per (program, device, kernel, global size), sorted; see [`TuningEntry`] |
//! | zero padding | up to a multiple of 16 | |
//! | payload region | `payload_offset..+payload_len` | zstd frames: sources, then binaries |
//! | zero padding | up to `total_len`, a multiple of [`ALIGN`] | |
//!
//! Three checksums (xxh3-128) in the header: the *core* (header, info, program table), the
//! binary table and the tuning table. Each payload is covered by its own hash:
//! `source_hash` for sources, `checksum` for binaries, both of the uncompressed bytes,
//! verified on every decompression. Damage to the binary table, the tuning table or a
//! binary payload costs only those binaries or work sizes ([`Bundle::damage`]); only a
//! damaged core, or the source of a program that is needed, leaves nothing to run.
//!
//! # Compatibility
//! Readers reject any major version but [`FORMAT_MAJOR`] (with a message that says to bake
//! the bundle again once) and accept any minor version: a later minor only adds fields at
//! the end of records, header bytes past 176, or new regions, which older readers skip. A
//! change that older readers would misread needs a major bump (and changes every
//! [`program_key`](crate::hash::program_key)).
//!
//! # Threat model
//! Bundle bytes are untrusted. Parsing never panics, bounds every read, rejects absurd
//! counts and sizes before allocating, and checks every record; decompression is capped
//! at the stored size (at most [`MAX_UNCOMPRESSED`]) and verified against the stored hash
//! before a byte is returned, so no unverified byte reaches an OpenCL driver.

mod binary;
mod check;
mod codec;
mod header;
mod program;
mod reader;
mod scan;
mod section;
mod tuning;
mod writer;

#[cfg(test)]
mod tests;

pub use crate::wire::FormatError;
pub use binary::BinaryEntry;
pub use check::{ArgValue, KnownAnswer, OutputDigest, MAX_SAMPLE_BYTES};
pub use codec::MAX_UNCOMPRESSED;
pub use header::{compute_core_checksum, seal, Header, CHECKSUMS_OFFSET, HEADER_LEN};
pub use program::{KernelEntry, KernelRecord, ParamEntry, ProgramEntry, SignatureOrigin};
pub use reader::{Bundle, Table};
pub use scan::scan;
pub use section::{bundle_region, section, SECTION_NAME};
pub use tuning::{tuning_columns, TunedLaunch, TuningEntry};
pub use writer::{BundleWriter, ProgramSpec, DEFAULT_LEVEL};

/// The eight bytes every bundle starts with: `CLBAKE` then CR LF, so that a text-mode
/// transfer that rewrites line endings is detected as a bad magic.
pub const MAGIC: [u8; 8] = *b"CLBAKE\r\n";

/// Format major version. Readers reject other majors; it is also part of every
/// [`program_key`](crate::hash::program_key), so binaries of another major never match.
///
/// - 1.x (clbake 0.1): programs, binaries, tuning table; one checksum over all tables.
/// - 2.0: program keys from the token stream (comments do not count); program records
///   with file stem, variant and kernel signatures; fingerprints with the host ABI and the
///   driver library; known answers; one checksum per table.
pub const FORMAT_MAJOR: u16 = 2;

/// Format minor version written by this crate. Readers accept any minor.
pub const FORMAT_MINOR: u16 = 0;

/// The versions this reader accepts, for error messages.
pub(crate) const SUPPORTED: &str = "2.x";

/// Alignment of bundles: each bundle's length is a multiple of it, and bundles are
/// embedded at addresses (and section offsets) that are multiples of it.
pub const ALIGN: usize = 16;
