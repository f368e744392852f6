//! A minimal ELF section reader: enough to find the `.clbake` section of a shipped
//! executable (for `clbake inspect ./app`) without a dependency.
//!
//! Reads ELF32 and ELF64, little- and big-endian, including the extended section count
//! and string-table index (`SHN_XINDEX`). Every offset is bounds-checked with overflow
//! checks; malformed input gives `None`, never a panic.

/// Name of the ELF section that holds an executable's bundles, back to back.
pub const SECTION_NAME: &str = ".clbake";

const SHT_NOBITS: u32 = 8;
const SHN_XINDEX: u16 = 0xffff;

/// If `bytes` is an ELF file, the contents of its section called `name` (for bundles:
/// [`SECTION_NAME`]). `None` if it is not ELF, is malformed, or has no such section. A
/// section without file contents (`SHT_NOBITS`, like `.bss`) gives an empty slice.
pub fn elf_section<'a>(bytes: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let elf = Elf::new(bytes)?;
    let first = elf.section(0)?;
    let count = match elf.shnum {
        0 => first.size, // extended numbering: the real count is in section 0's sh_size
        n => u64::from(n),
    };
    let strndx = match elf.shstrndx {
        SHN_XINDEX => u64::from(first.link),
        n => u64::from(n),
    };
    let strtab = elf.section(strndx)?.contents(bytes)?;
    for i in 0..count {
        let s = elf.section(i)?;
        if name_is(strtab, s.name, name) {
            return if s.kind == SHT_NOBITS {
                Some(&[])
            } else {
                s.contents(bytes)
            };
        }
    }
    None
}

/// Whether the NUL-terminated name at `offset` of the section-name string table is `name`
/// (reads at most `name.len() + 1` bytes, so a long unterminated table costs nothing).
fn name_is(strtab: &[u8], offset: u32, name: &str) -> bool {
    let Some(start) = usize::try_from(offset).ok() else {
        return false;
    };
    let Some(end) = start.checked_add(name.len() + 1) else {
        return false;
    };
    match strtab.get(start..end) {
        Some(found) => found[..name.len()] == *name.as_bytes() && found[name.len()] == 0,
        None => false,
    }
}

/// The parts of the ELF header needed to walk the section headers.
struct Elf<'a> {
    bytes: &'a [u8],
    is64: bool,
    le: bool,
    shoff: u64,
    shentsize: u64,
    shnum: u16,
    shstrndx: u16,
}

/// The parts of a section header that are used.
struct Section {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
}

impl Section {
    fn contents<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        let start = usize::try_from(self.offset).ok()?;
        let end = start.checked_add(usize::try_from(self.size).ok()?)?;
        bytes.get(start..end)
    }
}

impl<'a> Elf<'a> {
    fn new(bytes: &'a [u8]) -> Option<Self> {
        if bytes.get(..4)? != b"\x7fELF" {
            return None;
        }
        let is64 = match *bytes.get(4)? {
            1 => false,
            2 => true,
            _ => return None,
        };
        let le = match *bytes.get(5)? {
            1 => true,
            2 => false,
            _ => return None,
        };
        let mut elf = Elf {
            bytes,
            is64,
            le,
            shoff: 0,
            shentsize: 0,
            shnum: 0,
            shstrndx: 0,
        };
        let (shoff, rest) = if is64 {
            (elf.u64(0x28)?, 0x3a)
        } else {
            (u64::from(elf.u32(0x20)?), 0x2e)
        };
        elf.shoff = shoff;
        elf.shentsize = u64::from(elf.u16(rest)?);
        elf.shnum = elf.u16(rest + 2)?;
        elf.shstrndx = elf.u16(rest + 4)?;
        let min_entsize = if is64 { 64 } else { 40 };
        if shoff == 0 || elf.shentsize < min_entsize {
            return None;
        }
        Some(elf)
    }

    fn field<const N: usize>(&self, offset: u64) -> Option<[u8; N]> {
        let start = usize::try_from(offset).ok()?;
        let slice = self.bytes.get(start..start.checked_add(N)?)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        if !self.le {
            out.reverse();
        }
        Some(out)
    }

    fn u16(&self, offset: u64) -> Option<u16> {
        self.field(offset).map(u16::from_le_bytes)
    }

    fn u32(&self, offset: u64) -> Option<u32> {
        self.field(offset).map(u32::from_le_bytes)
    }

    fn u64(&self, offset: u64) -> Option<u64> {
        self.field(offset).map(u64::from_le_bytes)
    }

    /// An address-sized field: `u64` in ELF64, `u32` in ELF32.
    fn word(&self, offset: u64) -> Option<u64> {
        if self.is64 {
            self.u64(offset)
        } else {
            self.u32(offset).map(u64::from)
        }
    }

    /// Section header `index`.
    fn section(&self, index: u64) -> Option<Section> {
        let at = self.shoff.checked_add(index.checked_mul(self.shentsize)?)?;
        let (offset, size, link) = if self.is64 {
            (24, 32, 40)
        } else {
            (16, 20, 24)
        };
        Some(Section {
            name: self.u32(at)?,
            kind: self.u32(at.checked_add(4)?)?,
            offset: self.word(at.checked_add(offset)?)?,
            size: self.word(at.checked_add(size)?)?,
            link: self.u32(at.checked_add(link)?)?,
        })
    }
}
