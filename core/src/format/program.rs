//! The program table: one record per program (a kernel file under one set of build options),
//! with what discovery and the bake knew about it, so that no later stage re-derives it:
//! the file it came from (`stem`), its build variant, its kernels in order and each kernel's
//! parameters as the driver (or, without a device, clbake's reader) saw them.
//!
//! ```text
//! program record                          kernel (× kernel_count)
//!   u32   record_len                        str   name
//!   str   name      e.g. nchw/pool_relu     u8    origin: 0 unknown, 1 reader, 2 driver
//!   str   stem      e.g. nchw/pool          str   note (why unknown; empty otherwise)
//!   str   variant   e.g. relu, or empty     u32×3 reqd_work_group_size (0,0,0: none)
//!   str   options   build options           u32   param_count
//!   [16]  key       program_key             param (× param_count)
//!   [16]  source_hash of the stored source    str   name
//!   u64   source_offset (payload region)      u32   address qualifier (CL_KERNEL_ARG_ADDRESS_*)
//!   u64   source_compressed_len               u32   access qualifier (CL_KERNEL_ARG_ACCESS_*)
//!   u64   source_len                          u32   type qualifiers (CL_KERNEL_ARG_TYPE_*)
//!   u32   kernel_count                        str   type name (`float*`, `float4`, `image2d_t`)
//! ```

use super::codec::{decompress_exact, MAX_UNCOMPRESSED};
use crate::clc::{AccessQualifier, AddressQualifier, ParamInfo, TypeQualifiers};
use crate::hash::Hash128;
use crate::wire::{put_record, record_body, Cursor, FormatError, PutLe};

/// Smallest possible program record (empty strings, no kernels), length field included.
pub(crate) const MIN_PROGRAM_RECORD: u64 = 4 + 4 * 4 + 16 + 16 + 8 * 3 + 4;
/// Smallest possible kernel inside a program record.
const MIN_KERNEL: u64 = 4 + 1 + 4 + 12 + 4;
/// Smallest possible parameter inside a kernel.
const MIN_PARAM: u64 = 4 + 4 * 3 + 4;

/// Where a kernel's parameter list comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureOrigin {
    /// Not known exactly: the reader could not evaluate the declaration (the note says why),
    /// and no driver compiled the program.
    Unknown,
    /// clbake's OpenCL C reader, after preprocessing with the program's options (no device
    /// at build time).
    Reader,
    /// The driver that compiled the program (`clGetKernelArgInfo`).
    Driver,
}

impl SignatureOrigin {
    fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => SignatureOrigin::Unknown,
            1 => SignatureOrigin::Reader,
            2 => SignatureOrigin::Driver,
            _ => return None,
        })
    }

    fn to_u8(self) -> u8 {
        match self {
            SignatureOrigin::Unknown => 0,
            SignatureOrigin::Reader => 1,
            SignatureOrigin::Driver => 2,
        }
    }
}

/// One kernel of a program as stored: name, where its signature came from, its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelEntry<'a> {
    /// Kernel name.
    pub name: &'a str,
    /// Where `params` come from.
    pub origin: SignatureOrigin,
    /// Why the signature is unknown (empty when it is known).
    pub note: &'a str,
    /// `reqd_work_group_size`, when the kernel declares one.
    pub reqd_work_group_size: Option<[u32; 3]>,
    /// Parameters in order (empty when [`origin`](Self::origin) is unknown).
    pub params: Vec<ParamEntry<'a>>,
}

/// One kernel parameter as stored: the fields of `clGetKernelArgInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamEntry<'a> {
    /// Parameter name.
    pub name: &'a str,
    /// Address qualifier.
    pub address: AddressQualifier,
    /// Access qualifier (images).
    pub access: AccessQualifier,
    /// Type qualifiers (`const` pointee, `restrict`, `volatile`, `pipe`).
    pub type_qualifiers: TypeQualifiers,
    /// Type name as drivers spell it (`float*`, `uchar4`, `image2d_t`).
    pub type_name: &'a str,
}

impl ParamEntry<'_> {
    /// The owned form.
    pub fn info(&self) -> ParamInfo {
        ParamInfo {
            name: self.name.to_string(),
            address: self.address,
            access: self.access,
            type_name: self.type_name.to_string(),
            type_qualifiers: self.type_qualifiers,
        }
    }
}

impl KernelEntry<'_> {
    /// The owned form, e.g. to write the kernel into another bundle.
    pub fn to_record(&self) -> KernelRecord {
        KernelRecord {
            name: self.name.to_string(),
            origin: self.origin,
            note: self.note.to_string(),
            reqd_work_group_size: self.reqd_work_group_size,
            params: self.params.iter().map(ParamEntry::info).collect(),
        }
    }
}

/// A kernel to write: the owned form of [`KernelEntry`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRecord {
    /// Kernel name.
    pub name: String,
    /// Where `params` come from.
    pub origin: SignatureOrigin,
    /// Why the signature is unknown (empty when known).
    pub note: String,
    /// `reqd_work_group_size`, when declared.
    pub reqd_work_group_size: Option<[u32; 3]>,
    /// Parameters in order.
    pub params: Vec<ParamInfo>,
}

impl KernelRecord {
    /// Why this kernel gets no typed method, if it gets none: its signature is unknown, or a
    /// parameter has a type the typed calls cannot pass — `(parameter, reason)`. The one
    /// rule the proc macro, the bake's warnings and `clbake inspect` share.
    pub fn why_untyped(&self) -> Option<(Option<String>, String)> {
        if self.origin == SignatureOrigin::Unknown {
            return Some((None, self.note.clone()));
        }
        self.params.iter().find_map(|p| crate::clc::classify(p).err().map(|e| (Some(p.name.clone()), e)))
    }

    /// A kernel whose signature is not known, with the reason.
    pub fn unknown(name: &str, note: &str) -> Self {
        KernelRecord {
            name: name.into(),
            origin: SignatureOrigin::Unknown,
            note: note.into(),
            reqd_work_group_size: None,
            params: Vec::new(),
        }
    }
}

/// One program of a bundle, borrowed from the bundle bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramEntry<'a> {
    /// Program name, unique in the bundle: the kernel file's path relative to the kernel
    /// directory without `.cl`, plus `_VARIANT` for a build variant (`nchw/pool_relu`).
    pub name: &'a str,
    /// The kernel file's relative path without `.cl` (`nchw/pool`).
    pub stem: &'a str,
    /// The build variant (`relu`), empty for a file without variants.
    pub variant: &'a str,
    /// Build options passed to `clBuildProgram` (clbake adds `-cl-kernel-arg-info`).
    pub options: &'a str,
    /// The [`program_key`](crate::hash::program_key): what binaries of this program carry.
    pub key: Hash128,
    /// xxh3-128 of the stored source.
    pub source_hash: Hash128,
    /// Kernels, in source order.
    pub kernels: Vec<KernelEntry<'a>>,
    /// Length of the uncompressed source in bytes.
    pub source_len: u64,
    /// Length of the compressed source in bytes.
    pub source_compressed_len: u64,
    /// Offset of the compressed source within the payload region.
    pub source_offset: u64,
    /// The compressed source (a zstd frame).
    pub(crate) compressed: &'a [u8],
}

impl ProgramEntry<'_> {
    /// This program as a [`BundleWriter`](super::BundleWriter) takes it, with `source` (its
    /// [`source`](Self::source), decompressed): to write it into another bundle.
    pub fn to_spec<'s>(&'s self, source: &'s str) -> super::ProgramSpec<'s> {
        super::ProgramSpec {
            name: self.name,
            stem: self.stem,
            variant: self.variant,
            options: self.options,
            source,
            kernels: self.kernels.iter().map(|k| k.to_record()).collect(),
        }
    }

    /// The key that binaries built from this exact program carry.
    pub fn key(&self) -> Hash128 {
        self.key
    }

    /// The kernel called `name`, with its index.
    pub fn kernel(&self, name: &str) -> Option<(usize, &KernelEntry<'_>)> {
        self.kernels.iter().enumerate().find(|(_, k)| k.name == name)
    }

    /// The compressed source bytes (a zstd frame), as stored.
    pub fn compressed_source(&self) -> &[u8] {
        self.compressed
    }

    /// Decompresses the source (exactly [`source_len`](Self::source_len) bytes), checks that
    /// it hashes to [`source_hash`](Self::source_hash), then that it is UTF-8.
    pub fn source(&self) -> Result<String, FormatError> {
        let bytes = decompress_exact("program source", self.compressed, self.source_len)?;
        let found = Hash128::of(&bytes);
        if found != self.source_hash {
            return Err(FormatError::ChecksumMismatch { what: "program source", expected: self.source_hash, found });
        }
        String::from_utf8(bytes).map_err(|e| FormatError::corrupted("program source", format!("not UTF-8: {e}")))
    }
}

/// The slice `[offset, offset + len)` of the payload region, or `Corrupted`.
pub(crate) fn payload_slice<'a>(payload: &'a [u8], offset: u64, len: u64, what: &'static str) -> Result<&'a [u8], FormatError> {
    match offset.checked_add(len) {
        Some(end) if end <= payload.len() as u64 => Ok(&payload[offset as usize..end as usize]),
        _ => {
            Err(FormatError::corrupted(what, format!("payload range {offset}+{len} outside the payload region of {} bytes", payload.len())))
        }
    }
}

/// Rejects declared uncompressed sizes above [`MAX_UNCOMPRESSED`].
pub(crate) fn check_size(what: &'static str, value: u64) -> Result<(), FormatError> {
    if value > MAX_UNCOMPRESSED {
        return Err(FormatError::TooLarge { what, value, limit: MAX_UNCOMPRESSED });
    }
    Ok(())
}

/// Rejects a count that `remaining` bytes could not hold at `min` bytes per item.
fn check_count(what: &'static str, count: u32, remaining: usize, min: u64) -> Result<(), FormatError> {
    let limit = remaining as u64 / min;
    if u64::from(count) > limit {
        return Err(FormatError::TooLarge { what, value: count.into(), limit });
    }
    Ok(())
}

fn read_param<'a>(r: &mut Cursor<'a>) -> Result<ParamEntry<'a>, FormatError> {
    let w = "kernel parameter";
    let name = r.str(w)?;
    let address = r.u32(w)?;
    let access = r.u32(w)?;
    let type_qualifiers = TypeQualifiers(r.u32(w)?);
    let type_name = r.str(w)?;
    let address = AddressQualifier::from_cl(address).ok_or_else(|| FormatError::corrupted(w, format!("address qualifier {address:#x}")))?;
    let access = AccessQualifier::from_cl(access).ok_or_else(|| FormatError::corrupted(w, format!("access qualifier {access:#x}")))?;
    Ok(ParamEntry { name, address, access, type_qualifiers, type_name })
}

fn read_kernel<'a>(r: &mut Cursor<'a>) -> Result<KernelEntry<'a>, FormatError> {
    let w = "kernel";
    let name = r.str(w)?;
    let origin = r.u8(w)?;
    let origin = SignatureOrigin::from_u8(origin).ok_or_else(|| FormatError::corrupted(w, format!("signature origin {origin}")))?;
    let note = r.str(w)?;
    let reqd = [r.u32(w)?, r.u32(w)?, r.u32(w)?];
    let count = r.u32(w)?;
    check_count("parameter count", count, r.remaining(), MIN_PARAM)?;
    let params = (0..count).map(|_| read_param(r)).collect::<Result<Vec<_>, _>>()?;
    if origin == SignatureOrigin::Unknown && !params.is_empty() {
        return Err(FormatError::corrupted(w, format!("kernel `{name}` has parameters but no signature origin")));
    }
    let reqd_work_group_size = (reqd != [0; 3]).then_some(reqd);
    Ok(KernelEntry { name, origin, note, reqd_work_group_size, params })
}

/// Decodes one program record. `strict`: the bundle's minor version is known to this
/// reader, so the record must not have bytes past its last known field.
pub(crate) fn read_program<'a>(c: &mut Cursor<'a>, payload: &'a [u8], strict: bool) -> Result<ProgramEntry<'a>, FormatError> {
    let w = "program record";
    let mut r = record_body(c, w)?;
    let name = r.str("program name")?;
    let stem = r.str("program stem")?;
    let variant = r.str("program variant")?;
    let options = r.str("program options")?;
    let key = r.hash(w)?;
    let source_hash = r.hash(w)?;
    let source_offset = r.u64(w)?;
    let source_compressed_len = r.u64(w)?;
    let source_len = r.u64(w)?;
    let kernel_count = r.u32(w)?;
    check_count("kernel count", kernel_count, r.remaining(), MIN_KERNEL)?;
    let kernels = (0..kernel_count).map(|_| read_kernel(&mut r)).collect::<Result<Vec<_>, _>>()?;
    if strict {
        r.finish(w)?;
    }
    check_size("program source", source_len)?;
    let compressed = payload_slice(payload, source_offset, source_compressed_len, "program source")?;
    Ok(ProgramEntry {
        name,
        stem,
        variant,
        options,
        key,
        source_hash,
        kernels,
        source_len,
        source_compressed_len,
        source_offset,
        compressed,
    })
}

/// The fields of a program record other than its payload placement.
pub(crate) struct ProgramFields<'s> {
    pub name: &'s str,
    pub stem: &'s str,
    pub variant: &'s str,
    pub options: &'s str,
    pub key: Hash128,
    pub source_hash: Hash128,
    pub kernels: &'s [KernelRecord],
}

/// Encodes one program record (length prefix included).
pub(crate) fn write_program(out: &mut Vec<u8>, p: &ProgramFields<'_>, source_offset: u64, source_compressed_len: u64, source_len: u64) {
    let mut r = Vec::new();
    for s in [p.name, p.stem, p.variant, p.options] {
        r.put_str(s);
    }
    r.put_hash(&p.key);
    r.put_hash(&p.source_hash);
    r.put_u64(source_offset);
    r.put_u64(source_compressed_len);
    r.put_u64(source_len);
    r.put_u32(u32::try_from(p.kernels.len()).expect("fewer than 2^32 kernels"));
    for k in p.kernels {
        r.put_str(&k.name);
        r.put_u8(k.origin.to_u8());
        r.put_str(&k.note);
        for x in k.reqd_work_group_size.unwrap_or([0; 3]) {
            r.put_u32(x);
        }
        r.put_u32(u32::try_from(k.params.len()).expect("fewer than 2^32 parameters"));
        for p in &k.params {
            r.put_str(&p.name);
            r.put_u32(p.address.to_cl());
            r.put_u32(p.access.to_cl());
            r.put_u32(p.type_qualifiers.0);
            r.put_str(&p.type_name);
        }
    }
    put_record(out, &r);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel() -> KernelRecord {
        KernelRecord {
            name: "scale".into(),
            origin: SignatureOrigin::Driver,
            note: String::new(),
            reqd_work_group_size: Some([8, 8, 1]),
            params: vec![
                ParamInfo {
                    name: "x".into(),
                    address: AddressQualifier::Global,
                    access: AccessQualifier::None,
                    type_name: "float*".into(),
                    type_qualifiers: TypeQualifiers::CONST,
                },
                ParamInfo {
                    name: "n".into(),
                    address: AddressQualifier::Private,
                    access: AccessQualifier::None,
                    type_name: "int".into(),
                    type_qualifiers: TypeQualifiers(0),
                },
            ],
        }
    }

    fn fields(kernels: &[KernelRecord]) -> ProgramFields<'_> {
        ProgramFields {
            name: "a/b_relu",
            stem: "a/b",
            variant: "relu",
            options: "-DX=1",
            key: Hash128([1; 16]),
            source_hash: Hash128([2; 16]),
            kernels,
        }
    }

    #[test]
    fn minimum_size_and_round_trip() {
        let mut v = Vec::new();
        write_program(&mut v, &ProgramFields { name: "", stem: "", variant: "", options: "", kernels: &[], ..fields(&[]) }, 0, 0, 0);
        assert_eq!(v.len() as u64, MIN_PROGRAM_RECORD);
        let ks = [kernel(), KernelRecord::unknown("k2", "depends on cl_khr_fp16")];
        let mut v = Vec::new();
        write_program(&mut v, &fields(&ks), 0, 3, 10);
        let payload = [0u8; 3];
        let p = read_program(&mut Cursor::new(&v, 0), &payload, true).unwrap();
        assert_eq!((p.name, p.stem, p.variant, p.options), ("a/b_relu", "a/b", "relu", "-DX=1"));
        assert_eq!(p.kernels.iter().map(KernelEntry::to_record).collect::<Vec<_>>(), ks);
        assert_eq!(p.kernel("k2").map(|(i, _)| i), Some(1));
    }

    #[test]
    fn bad_fields_are_corrupted_not_panics() {
        let ks = [kernel()];
        let mut v = Vec::new();
        write_program(&mut v, &fields(&ks), 0, 0, 0);
        for at in 0..v.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = v.clone();
                bad[at] ^= flip;
                let _ = read_program(&mut Cursor::new(&bad, 0), &[], true);
            }
            let _ = read_program(&mut Cursor::new(&v[..at], 0), &[], true);
        }
        // An unknown origin byte is refused.
        let origin_at = v.windows(5).position(|w| w == b"scale").unwrap() + 5;
        let mut bad = v.clone();
        bad[origin_at] = 7;
        assert!(matches!(read_program(&mut Cursor::new(&bad, 0), &[], true), Err(FormatError::Corrupted { what: "kernel", .. })));
    }
}
