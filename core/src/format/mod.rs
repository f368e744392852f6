//! The `.clbk` bundle format: programs (name, build options, compressed source) and
//! precompiled binaries for many devices, and tuned local work sizes, in one self-describing, checksummed blob that is
//! read zero-copy from a `&'static [u8]`.
//!
//! ```
//! use clbake_core::format::{Bundle, BundleWriter};
//! use clbake_core::Fingerprint;
//!
//! let fp = Fingerprint { device_name: "Mali-G52".into(), address_bits: 64, ..Default::default() };
//! let mut w = BundleWriter::new();
//! let add = w.add_program("add", "-cl-fast-relaxed-math", &["add".to_string()], "kernel void add() {}");
//! w.add_binary(add, &fp, b"compiled bytes");
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
//! offsets in records from the start of the payload region.
//!
//! | region | where | contents |
//! | --- | --- | --- |
//! | header | `0..128` | [`Header`]: magic, version, sizes, counts, table offsets, checksum |
//! | program table | `program_table_offset`, right after the header | one record per program (see below) |
//! | binary table | after the program table | one record per binary, sorted by (program, fingerprint hash) |
//! | tuning table | after the binary table | since 1.1: one record per (program, device, kernel, global size), sorted; see [`TuningEntry`] |
//! | zero padding | up to a multiple of 16 | |
//! | payload region | `payload_offset..+payload_len` | zstd frames: sources, then binaries |
//! | zero padding | up to `total_len`, a multiple of [`ALIGN`] | |
//!
//! The header's `table_checksum` (xxh3-128) covers `[0, payload_offset)`: header and
//! tables. Each payload is covered by its own hash: `source_hash` for sources, `checksum`
//! for binaries, both of the uncompressed bytes, verified on every decompression. See
//! [`Header`] for the header's fields.
//!
//! Records start with a `u32` length of the rest of the record (so a later minor can
//! append fields); `str` is a `u32` byte length then UTF-8 bytes; `[16]` is an xxh3-128.
//!
//! ```text
//! program record                     binary record
//!   u32   record_len                   u32   record_len
//!   str   name                         u32   program (index into the program table)
//!   str   options                      [16]  program_key
//!   [16]  source_hash                  [16]  fingerprint_hash
//!   u32   kernel_count                 u64   uncompressed_len
//!   str   kernel name × kernel_count   u64   compressed_len
//!   u64   source_offset                [16]  checksum of the uncompressed binary
//!   u64   source_compressed_len        u64   payload_offset
//!   u64   source_len                   str × 8 fingerprint strings, u32 address_bits
//! ```
//!
//! # Compatibility
//! Readers reject any major version but [`FORMAT_MAJOR`] and accept any minor version:
//! a later minor only adds fields at the end of records, header bytes past 128, or new
//! tables, which older readers skip. A change that older readers would misread needs a
//! major bump (and changes every [`program_key`](crate::hash::program_key)).
//!
//! # Threat model
//! Bundle bytes are untrusted. Parsing never panics, bounds every read, rejects absurd
//! counts and sizes before allocating, and checks every record; decompression is capped
//! at the stored size (at most [`MAX_UNCOMPRESSED`]) and verified against the stored hash
//! before a byte is returned, so no unverified byte reaches an OpenCL driver.

mod codec;
mod cursor;
mod elf;
mod entry;
mod error;
mod header;
mod reader;
mod record;
mod scan;
mod tuning;
mod writer;

#[cfg(test)]
mod tests;

pub use codec::MAX_UNCOMPRESSED;
pub use elf::{elf_section, SECTION_NAME};
pub use entry::{BinaryEntry, ProgramEntry};
pub use error::FormatError;
pub use header::{compute_table_checksum, Header, CHECKSUM_OFFSET, HEADER_LEN};
pub use reader::Bundle;
pub use scan::scan;
pub use tuning::{TunedLaunch, TuningEntry};
pub use writer::{BundleWriter, DEFAULT_LEVEL};

/// The eight bytes every bundle starts with: `CLBAKE` then CR LF, so that a text-mode
/// transfer that rewrites line endings is detected as a bad magic.
pub const MAGIC: [u8; 8] = *b"CLBAKE\r\n";

/// Format major version. Readers reject other majors; it is also part of every
/// [`program_key`](crate::hash::program_key), so binaries of another major never match.
pub const FORMAT_MAJOR: u16 = 1;

/// Format minor version written by this crate. Readers accept any minor.
///
/// - 1.0: programs and binaries.
/// - 1.1: the tuning table (best local work sizes), see [`TuningEntry`].
pub const FORMAT_MINOR: u16 = 1;

/// Alignment of bundles: each bundle's length is a multiple of it, and bundles are
/// embedded at addresses (and section offsets) that are multiples of it.
pub const ALIGN: usize = 16;
