//! [`Bundle`]: a validated, zero-copy view of one bundle.
//!
//! Threat model: the bytes are untrusted (a file copied from a board, a section of an
//! executable on an SD card with bit rot). [`Bundle::parse`] never panics, checks every
//! length before slicing, rejects counts the bytes could not hold before allocating, and
//! verifies checksums before trusting any record. Payloads are verified lazily, when they
//! are decompressed, so a lookup among thousands of binaries decompresses nothing.
//!
//! Damage costs as little as possible: only a damaged core (header, info, program table)
//! makes the bundle unreadable. A damaged binary table leaves the bundle without binaries
//! (everything compiles from source), a damaged tuning table without tuned work sizes; the
//! damage is kept in [`Bundle::damage`] so the load report can say so.

use super::binary::{read_binary, BinaryEntry, MIN_BINARY_RECORD};
use super::header::{compute_core_checksum, Header};
use super::program::{read_program, ProgramEntry, MIN_PROGRAM_RECORD};
use super::tuning::{read_tuning, TuningEntry, MIN_TUNING_RECORD};
use super::FORMAT_MINOR;
use crate::hash::Hash128;
use crate::wire::{Cursor, FormatError};

/// A parsed bundle borrowing its bytes: the header, the programs, and the binaries and
/// tuning records unless their table is damaged.
#[derive(Clone, Debug)]
pub struct Bundle<'a> {
    bytes: &'a [u8],
    header: Header,
    info: &'a str,
    programs: Vec<ProgramEntry<'a>>,
    binaries: Vec<BinaryEntry<'a>>,
    tunings: Vec<TuningEntry<'a>>,
    damage: Vec<(Table, String)>,
}

/// A table of a bundle that can be damaged without making the bundle unreadable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    /// The binary table: its binaries are not used.
    Binaries,
    /// The tuning table: its work sizes are not used.
    Tuning,
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Table::Binaries => "binary table",
            Table::Tuning => "tuning table",
        })
    }
}

impl<'a> Bundle<'a> {
    /// Parses the bundle that starts at `bytes[0]`. Bytes after its
    /// [`total_len`](Header::total_len) are ignored (see [`Bundle::len`]).
    ///
    /// Checks, in order: magic, major version, the header's own lengths, the core checksum
    /// (header, info, program table), the layout of all regions, then every program record
    /// (UTF-8 strings, payload ranges inside the payload region, sizes at most 1 GiB).
    /// The binary and tuning tables are checked the same way against their own checksums;
    /// a failure there is recorded in [`damage`](Self::damage) and the table is left empty.
    pub fn parse(bytes: &'a [u8]) -> Result<Bundle<'a>, FormatError> {
        let header = Header::decode(bytes)?;
        let core_end = header.core_end(bytes.len())?;
        let found = compute_core_checksum(bytes, header.header_size, core_end)
            .ok_or_else(|| FormatError::corrupted("header", "core out of range"))?;
        if found != header.core_checksum {
            return Err(FormatError::ChecksumMismatch { what: "header and program table", expected: header.core_checksum, found });
        }
        header.validate_layout(bytes.len())?;
        // validate_layout guarantees every range below lies within total_len <= bytes.len().
        let bytes = &bytes[..header.total_len as usize];
        let region = |off: u64, len: u64| &bytes[off as usize..(off + len) as usize];
        let payload = region(header.payload_offset, header.payload_len);
        // Records of a minor this reader knows must not carry unknown trailing bytes
        // (FORMAT_MINOR is 0 today, so this is `==` until a minor adds fields).
        #[allow(clippy::absurd_extreme_comparisons)]
        let strict = header.minor <= FORMAT_MINOR;
        let info = {
            let mut c = Cursor::new(region(header.info_offset, header.info_len), header.info_offset);
            let s = c.str("bundle info")?;
            c.finish("bundle info")?;
            s
        };
        let programs = read_programs(&header, region(header.program_table_offset, header.program_table_len), payload, strict)?;
        let mut damage = Vec::new();
        let binaries = {
            let table = region(header.binary_table_offset, header.binary_table_len);
            checked(table, &header.binary_checksum, "binary table")
                .and_then(|()| read_binaries(&header, table, &programs, payload, strict))
                .unwrap_or_else(|e| {
                    damage.push((Table::Binaries, e.to_string()));
                    Vec::new()
                })
        };
        let tunings = {
            let table = region(header.tuning_table_offset, header.tuning_table_len);
            checked(table, &header.tuning_checksum, "tuning table")
                .and_then(|()| read_tunings(&header, table, &programs, strict))
                .unwrap_or_else(|e| {
                    damage.push((Table::Tuning, e.to_string()));
                    Vec::new()
                })
        };
        Ok(Bundle { bytes, header, info, programs, binaries, tunings, damage })
    }

    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Who wrote the bundle and with which settings (`clbake 0.2.0 warm=on`).
    pub fn info(&self) -> &'a str {
        self.info
    }

    /// All programs, in table order (a program's index is its position here).
    pub fn programs(&self) -> &[ProgramEntry<'a>] {
        &self.programs
    }

    /// All binaries, sorted by (program index, fingerprint hash); empty when the binary
    /// table is damaged (see [`damage`](Self::damage)).
    pub fn binaries(&self) -> &[BinaryEntry<'a>] {
        &self.binaries
    }

    /// Tables found damaged and left out, with what was wrong. Empty for an intact bundle.
    pub fn damage(&self) -> &[(Table, String)] {
        &self.damage
    }

    /// The first program called `name`, with its index.
    pub fn program(&self, name: &str) -> Option<(u32, &ProgramEntry<'a>)> {
        self.programs.iter().enumerate().find(|(_, p)| p.name == name).map(|(i, p)| (i as u32, p))
    }

    /// The binary of program `program` built for the device whose fingerprint hashes to
    /// `fp`. Compares hashes only (binary search); decompresses nothing.
    pub fn find_binary(&self, program: u32, fp: &Hash128) -> Option<&BinaryEntry<'a>> {
        self.binaries.binary_search_by(|b| (b.program, b.fingerprint_hash).cmp(&(program, *fp))).ok().map(|i| &self.binaries[i])
    }

    /// The binaries of program `program`, one per device, sorted by fingerprint hash.
    pub fn binaries_of(&self, program: u32) -> std::slice::Iter<'_, BinaryEntry<'a>> {
        let start = self.binaries.partition_point(|b| b.program < program);
        let end = self.binaries.partition_point(|b| b.program <= program);
        self.binaries[start..end].iter()
    }

    /// All tuning records, sorted by (program, device, kernel, global size); empty when the
    /// tuning table is damaged.
    pub fn tunings(&self) -> &[TuningEntry<'a>] {
        &self.tunings
    }

    /// The tuning records of program `program` measured on the device whose fingerprint
    /// hashes to `fp`.
    pub fn tunings_for(&self, program: u32, fp: &Hash128) -> &[TuningEntry<'a>] {
        let start = self.tunings.partition_point(|t| (t.program, t.fingerprint_hash) < (program, *fp));
        let end = self.tunings.partition_point(|t| (t.program, t.fingerprint_hash) <= (program, *fp));
        &self.tunings[start..end]
    }

    /// Total length of this bundle in bytes, padding included: the next bundle of a
    /// back-to-back sequence starts this many bytes later. Always a multiple of
    /// [`ALIGN`](super::ALIGN) and never 0.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The bytes of this bundle (exactly [`len`](Self::len) of them).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// `Ok` when `table` hashes to `stored`.
fn checked(table: &[u8], stored: &Hash128, what: &'static str) -> Result<(), FormatError> {
    let found = Hash128::of(table);
    if found != *stored {
        return Err(FormatError::ChecksumMismatch { what, expected: *stored, found });
    }
    Ok(())
}

fn read_programs<'a>(header: &Header, table: &'a [u8], payload: &'a [u8], strict: bool) -> Result<Vec<ProgramEntry<'a>>, FormatError> {
    check_count("program count", header.program_count, table.len(), MIN_PROGRAM_RECORD)?;
    let mut c = Cursor::new(table, header.program_table_offset);
    let mut v: Vec<ProgramEntry<'a>> = Vec::with_capacity(header.program_count as usize);
    for i in 0..header.program_count {
        let p = read_program(&mut c, payload, strict)?;
        if v.iter().any(|q| q.name == p.name) {
            return Err(FormatError::corrupted("program table", format!("program {i} repeats the name {:?}", p.name)));
        }
        v.push(p);
    }
    c.finish("program table")?;
    Ok(v)
}

fn read_binaries<'a>(
    header: &Header,
    table: &'a [u8],
    programs: &[ProgramEntry<'a>],
    payload: &'a [u8],
    strict: bool,
) -> Result<Vec<BinaryEntry<'a>>, FormatError> {
    check_count("binary count", header.binary_count, table.len(), MIN_BINARY_RECORD)?;
    let mut c = Cursor::new(table, header.binary_table_offset);
    let mut v: Vec<BinaryEntry<'a>> = Vec::with_capacity(header.binary_count as usize);
    for i in 0..header.binary_count {
        let b = read_binary(&mut c, payload, strict)?;
        let Some(p) = programs.get(b.program as usize) else {
            return Err(FormatError::corrupted("binary record", format!("binary {i} names program {} of {}", b.program, programs.len())));
        };
        if p.key != b.program_key {
            return Err(FormatError::corrupted(
                "binary record",
                format!("binary {i} has program key {} but program {} has key {}", b.program_key, b.program, p.key),
            ));
        }
        if v.last().is_some_and(|prev| (prev.program, prev.fingerprint_hash) >= (b.program, b.fingerprint_hash)) {
            return Err(FormatError::corrupted("binary table", format!("binary {i} is out of order or duplicates the one before it")));
        }
        v.push(b);
    }
    c.finish("binary table")?;
    Ok(v)
}

/// Reads and checks the tuning table: program indices and keys, kernel names, order.
fn read_tunings<'a>(
    header: &Header,
    table: &'a [u8],
    programs: &[ProgramEntry<'a>],
    strict: bool,
) -> Result<Vec<TuningEntry<'a>>, FormatError> {
    check_count("tuning count", header.tuning_count, table.len(), MIN_TUNING_RECORD)?;
    let mut c = Cursor::new(table, header.tuning_table_offset);
    let mut v: Vec<TuningEntry<'a>> = Vec::with_capacity(header.tuning_count as usize);
    for i in 0..header.tuning_count {
        let t = read_tuning(&mut c, strict)?;
        let bad = |detail: String| Err(FormatError::corrupted("tuning record", detail));
        let Some(p) = programs.get(t.program as usize) else {
            return bad(format!("tuning record {i} names program {} of {}", t.program, programs.len()));
        };
        if p.key != t.program_key {
            return bad(format!("tuning record {i} has program key {} but program {} has key {}", t.program_key, t.program, p.key));
        }
        if p.kernel(t.kernel).is_none() {
            return bad(format!("tuning record {i} names kernel {:?}, not a kernel of program {:?}", t.kernel, p.name));
        }
        if v.last().is_some_and(|prev| prev.order() >= t.order()) {
            return Err(FormatError::corrupted(
                "tuning table",
                format!("tuning record {i} is out of order or duplicates the one before it"),
            ));
        }
        v.push(t);
    }
    c.finish("tuning table")?;
    Ok(v)
}

/// Rejects a record count that a table of `table_len` bytes could not hold.
fn check_count(what: &'static str, count: u32, table_len: usize, min_record: u64) -> Result<(), FormatError> {
    let limit = table_len as u64 / min_record;
    if u64::from(count) > limit {
        return Err(FormatError::TooLarge { what, value: count.into(), limit });
    }
    Ok(())
}
