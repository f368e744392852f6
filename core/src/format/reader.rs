//! [`Bundle`]: a validated, zero-copy view of one bundle.
//!
//! Threat model: the bytes are untrusted (a file copied from a board, a section of an
//! executable that may have been damaged). [`Bundle::parse`] never panics, checks every
//! length before slicing, rejects counts the bytes could not hold before allocating, and
//! verifies the checksum of the header and tables before trusting any record. Payloads are
//! verified lazily, when they are decompressed, so a lookup among thousands of binaries
//! decompresses nothing.

use super::cursor::Cursor;
use super::entry::{BinaryEntry, ProgramEntry};
use super::error::FormatError;
use super::header::{compute_table_checksum, Header};
use super::record::{read_binary, read_program, MIN_BINARY_RECORD, MIN_PROGRAM_RECORD};
use super::tuning::{read_tuning, TuningEntry, MIN_TUNING_RECORD};
use super::FORMAT_MINOR;
use crate::hash::Hash128;

/// A parsed bundle borrowing its bytes: the header, the program table and the binary
/// table, all validated.
#[derive(Clone, Debug)]
pub struct Bundle<'a> {
    bytes: &'a [u8],
    header: Header,
    programs: Vec<ProgramEntry<'a>>,
    binaries: Vec<BinaryEntry<'a>>,
    tunings: Vec<TuningEntry<'a>>,
}

impl<'a> Bundle<'a> {
    /// Parses the bundle that starts at `bytes[0]`. Bytes after its
    /// [`total_len`](Header::total_len) are ignored (see [`Bundle::len`]).
    ///
    /// Checks, in order: magic, major version, header length, the checksummed prefix,
    /// the header-and-tables checksum, the layout of tables and payload, then every record:
    /// strings are UTF-8, program indices exist, program keys match their program,
    /// fingerprint hashes match the stored fingerprints, payload ranges lie inside the
    /// payload region, declared sizes are at most 1 GiB, binaries are sorted by
    /// (program, fingerprint hash) without duplicates, and tuning records name an existing
    /// program (with its key) and kernel, have valid sizes and are sorted without duplicates.
    pub fn parse(bytes: &'a [u8]) -> Result<Bundle<'a>, FormatError> {
        let header = Header::decode(bytes)?;
        header.validate_prefix(bytes.len())?;
        let found = compute_table_checksum(bytes, header.payload_offset)
            .ok_or_else(|| FormatError::corrupted("header", "payload_offset out of range"))?;
        if found != header.table_checksum {
            return Err(FormatError::ChecksumMismatch {
                what: "header and tables",
                expected: header.table_checksum,
                found,
            });
        }
        header.validate_layout(bytes.len())?;
        // validate_layout guarantees every range below lies within total_len <= bytes.len().
        let bytes = &bytes[..header.total_len as usize];
        let region = |off: u64, len: u64| &bytes[off as usize..(off + len) as usize];
        let payload = region(header.payload_offset, header.payload_len);
        // Records of a minor this reader knows must not carry unknown trailing bytes.
        let strict = header.minor <= FORMAT_MINOR;

        let programs = {
            let table = region(header.program_table_offset, header.program_table_len);
            check_count(
                "program count",
                header.program_count,
                table.len(),
                MIN_PROGRAM_RECORD,
            )?;
            let mut c = Cursor::new(table, header.program_table_offset);
            let mut v = Vec::with_capacity(header.program_count as usize);
            for _ in 0..header.program_count {
                v.push(read_program(&mut c, payload, strict)?);
            }
            c.finish("program table")?;
            v
        };
        let keys: Vec<Hash128> = programs.iter().map(ProgramEntry::key).collect();

        let binaries = {
            let table = region(header.binary_table_offset, header.binary_table_len);
            check_count(
                "binary count",
                header.binary_count,
                table.len(),
                MIN_BINARY_RECORD,
            )?;
            let mut c = Cursor::new(table, header.binary_table_offset);
            let mut v: Vec<BinaryEntry<'a>> = Vec::with_capacity(header.binary_count as usize);
            for i in 0..header.binary_count {
                let b = read_binary(&mut c, payload, strict)?;
                let Some(key) = keys.get(b.program as usize) else {
                    return Err(FormatError::corrupted(
                        "binary record",
                        format!("binary {i} names program {} of {}", b.program, keys.len()),
                    ));
                };
                if *key != b.program_key {
                    return Err(FormatError::corrupted(
                        "binary record",
                        format!(
                            "binary {i} has program key {} but program {} has key {key}",
                            b.program_key, b.program
                        ),
                    ));
                }
                if let Some(prev) = v.last() {
                    if (prev.program, prev.fingerprint_hash) >= (b.program, b.fingerprint_hash) {
                        return Err(FormatError::corrupted(
                            "binary table",
                            format!("binary {i} is out of order or duplicates the one before it"),
                        ));
                    }
                }
                v.push(b);
            }
            c.finish("binary table")?;
            v
        };
        let tunings = read_tunings(&header, region(header.tuning_table_offset, header.tuning_table_len), &programs, &keys, strict)?;
        Ok(Bundle {
            bytes,
            header,
            programs,
            binaries,
            tunings,
        })
    }

    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// All programs, in table order (a program's index is its position here).
    pub fn programs(&self) -> &[ProgramEntry<'a>] {
        &self.programs
    }

    /// All binaries, sorted by (program index, fingerprint hash).
    pub fn binaries(&self) -> &[BinaryEntry<'a>] {
        &self.binaries
    }

    /// The first program called `name`, with its index.
    pub fn program(&self, name: &str) -> Option<(u32, &ProgramEntry<'a>)> {
        self.programs
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == name)
            .map(|(i, p)| (i as u32, p))
    }

    /// The binary of program `program` built for the device whose fingerprint hashes to
    /// `fp`. Compares hashes only (binary search); decompresses nothing.
    pub fn find_binary(&self, program: u32, fp: &Hash128) -> Option<&BinaryEntry<'a>> {
        self.binaries
            .binary_search_by(|b| (b.program, b.fingerprint_hash).cmp(&(program, *fp)))
            .ok()
            .map(|i| &self.binaries[i])
    }

    /// The binaries of program `program`, one per device, sorted by fingerprint hash.
    pub fn binaries_of(&self, program: u32) -> std::slice::Iter<'_, BinaryEntry<'a>> {
        let start = self.binaries.partition_point(|b| b.program < program);
        let end = self.binaries.partition_point(|b| b.program <= program);
        self.binaries[start..end].iter()
    }

    /// All tuning records (format 1.1), sorted by (program, device, kernel, global size).
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

/// Reads and checks the tuning table: program indices and keys, kernel names, order.
fn read_tunings<'a>(
    header: &Header,
    table: &'a [u8],
    programs: &[ProgramEntry<'a>],
    keys: &[Hash128],
    strict: bool,
) -> Result<Vec<TuningEntry<'a>>, FormatError> {
    check_count("tuning count", header.tuning_count, table.len(), MIN_TUNING_RECORD)?;
    let mut c = Cursor::new(table, header.tuning_table_offset);
    let mut v: Vec<TuningEntry<'a>> = Vec::with_capacity(header.tuning_count as usize);
    for i in 0..header.tuning_count {
        let t = read_tuning(&mut c, strict)?;
        let bad = |detail: String| Err(FormatError::corrupted("tuning record", detail));
        match (keys.get(t.program as usize), programs.get(t.program as usize)) {
            (Some(key), Some(p)) => {
                if *key != t.program_key {
                    return bad(format!("tuning record {i} has program key {} but program {} has key {key}", t.program_key, t.program));
                }
                if !p.kernels.contains(&t.kernel) {
                    return bad(format!("tuning record {i} names kernel {:?}, not a kernel of program {:?}", t.kernel, p.name));
                }
            }
            _ => return bad(format!("tuning record {i} names program {} of {}", t.program, keys.len())),
        }
        if v.last().is_some_and(|prev| prev.order() >= t.order()) {
            return Err(FormatError::corrupted("tuning table", format!("tuning record {i} is out of order or duplicates the one before it")));
        }
        v.push(t);
    }
    c.finish("tuning table")?;
    Ok(v)
}

/// Rejects a record count that a table of `table_len` bytes could not hold.
fn check_count(
    what: &'static str,
    count: u32,
    table_len: usize,
    min_record: u64,
) -> Result<(), FormatError> {
    let limit = table_len as u64 / min_record;
    if u64::from(count) > limit {
        return Err(FormatError::TooLarge {
            what,
            value: count.into(),
            limit,
        });
    }
    Ok(())
}
