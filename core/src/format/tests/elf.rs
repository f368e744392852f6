//! `section` on the running test executable, on synthetic ELF files of every class,
//! endianness and numbering scheme, and on damaged input.

use super::*;
use crate::format::{scan, section, SECTION_NAME};

/// Section names of [`build_elf`]: `.shstrtab` at 1, `.clbake` at 11, `.bss` at 19.
const NAMES: &[u8] = b"\0.shstrtab\0.clbake\0.bss\0";

/// A minimal ELF file with sections `.shstrtab`, `.clbake` (holding `payload`) and `.bss`.
/// `extended`: use `e_shnum = 0` / `e_shstrndx = SHN_XINDEX` with the real values in
/// section 0, as linkers do for files with 65280 sections or more.
pub(crate) fn build_elf(is64: bool, le: bool, extended: bool, payload: &[u8]) -> Vec<u8> {
    let put = |out: &mut Vec<u8>, at: usize, v: u64, n: usize| {
        let bytes = v.to_le_bytes();
        let mut field = bytes[..n].to_vec();
        if !le {
            field.reverse();
        }
        out[at..at + n].copy_from_slice(&field);
    };
    let (ehsize, shentsize, word) = if is64 { (64, 64, 8) } else { (52, 40, 4) };
    let mut out = vec![0u8; ehsize];
    out[..4].copy_from_slice(b"\x7fELF");
    out[4] = if is64 { 2 } else { 1 };
    out[5] = if le { 1 } else { 2 };
    out[6] = 1;
    let names_at = out.len();
    out.extend_from_slice(NAMES);
    out.resize(out.len().next_multiple_of(16), 0);
    let payload_at = out.len();
    out.extend_from_slice(payload);
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len();
    // (name, type, offset, size, link)
    let sections: [(u64, u64, u64, u64, u64); 4] = [
        (0, 0, 0, if extended { 4 } else { 0 }, if extended { 1 } else { 0 }),
        (1, 3, names_at as u64, NAMES.len() as u64, 0),
        (11, 1, payload_at as u64, payload.len() as u64, 0),
        (19, 8, 0, 4096, 0),
    ];
    out.resize(shoff + 4 * shentsize, 0);
    for (i, (name, kind, offset, size, link)) in sections.into_iter().enumerate() {
        let at = shoff + i * shentsize;
        put(&mut out, at, name, 4);
        put(&mut out, at + 4, kind, 4);
        let (o, s, l) = if is64 { (24, 32, 40) } else { (16, 20, 24) };
        put(&mut out, at + o, offset, word);
        put(&mut out, at + s, size, word);
        put(&mut out, at + l, link, 4);
    }
    let (shoff_at, rest) = if is64 { (0x28, 0x3a) } else { (0x20, 0x2e) };
    put(&mut out, shoff_at, shoff as u64, word);
    put(&mut out, rest, shentsize as u64, 2);
    put(&mut out, rest + 2, if extended { 0 } else { 4 }, 2);
    put(&mut out, rest + 4, if extended { 0xffff } else { 1 }, 2);
    out
}

#[test]
fn finds_sections_of_the_running_test_binary() {
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    if !exe.starts_with(b"\x7fELF") {
        eprintln!("not an ELF platform; skipped");
        return;
    }
    let text = section(&exe, ".text").expect(".text");
    assert!(text.len() > 1000);
    let strtab = section(&exe, ".shstrtab").expect(".shstrtab");
    assert!(strtab.windows(6).any(|w| w == b".text\0"));
    assert!(section(&exe, ".clbake-no-such-section").is_none());
    assert!(section(&exe, ".tex").is_none(), "names match whole, not by prefix");
}

#[test]
fn synthetic_elf_of_every_kind_holds_the_bundles() {
    let mut blob = sample_bundle();
    blob.extend_from_slice(&[0; 16]);
    blob.extend_from_slice(&sample_bundle());
    for is64 in [true, false] {
        for le in [true, false] {
            for extended in [false, true] {
                let elf = build_elf(is64, le, extended, &blob);
                let case = format!("is64={is64} le={le} extended={extended}");
                let found = section(&elf, SECTION_NAME).unwrap_or_else(|| panic!("{case}"));
                assert_eq!(found, &blob[..], "{case}");
                let found = scan(found);
                assert_eq!(found.len(), 2, "{case}");
                assert!(found.iter().all(|(_, r)| r.is_ok()), "{case}");
                assert_eq!(section(&elf, ".bss"), Some(&[][..]), "{case}");
                assert!(section(&elf, ".data").is_none(), "{case}");
            }
        }
    }
}

#[test]
fn damaged_elf_gives_none_never_panics() {
    assert!(section(b"", SECTION_NAME).is_none());
    assert!(section(b"\x7fEL", SECTION_NAME).is_none());
    assert!(section(&sample_bundle(), SECTION_NAME).is_none(), "not an ELF file");
    for (is64, le) in [(true, true), (false, false)] {
        let elf = build_elf(is64, le, false, &sample_bundle());
        // The section headers are at the end, `.clbake`'s second to last: a prefix can only
        // find the section when it holds that header (the reader wants the whole table).
        let (entsize, used) = if is64 { (64, 44) } else { (40, 28) };
        let holds_header = elf.len() - 2 * entsize + used;
        for n in 0..elf.len() {
            assert!(section(&elf[..n], SECTION_NAME).is_none() || n >= holds_header, "prefix {n}");
        }
        assert!(section(&elf, SECTION_NAME).is_some());
        let mut rng = XorShift(3);
        for _ in 0..3000 {
            let mut e = elf.clone();
            for _ in 0..3 {
                let at = rng.below(e.len());
                e[at] = rng.next() as u8;
            }
            if let Some(s) = section(&e, SECTION_NAME) {
                let _ = scan(s);
            }
        }
        // Header fields set to extremes.
        let fields: &[usize] = if is64 { &[0x28, 0x2c, 0x3a, 0x3c, 0x3e] } else { &[0x20, 0x2e, 0x30, 0x32] };
        for &at in fields {
            for v in [0u8, 0xff] {
                let mut e = elf.clone();
                e[at..at + 2].fill(v);
                let _ = section(&e, SECTION_NAME);
            }
        }
        // Garbage after a valid identification.
        let mut rng = XorShift(11);
        for _ in 0..1000 {
            let mut e: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
            if e.len() >= 6 {
                e[..6].copy_from_slice(&elf[..6]);
            }
            let _ = section(&e, SECTION_NAME);
        }
    }
}
