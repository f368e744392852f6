//! Finding the bundles of a shipped executable: the contents of its `.clbake` section, read
//! with the `object` crate (ELF, Mach-O and PE executables), bounds-checked, never a panic.

/// Name of the section that holds an executable's bundles, back to back.
pub const SECTION_NAME: &str = ".clbake";

/// If `bytes` is an executable or object file (ELF, Mach-O, PE), the contents of its section
/// called `name` (for bundles: [`SECTION_NAME`]). `None` if it is not one, is malformed, or
/// has no such section. A section without file contents (like `.bss`) gives an empty slice.
pub fn section<'a>(bytes: &'a [u8], name: &str) -> Option<&'a [u8]> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(bytes).ok()?;
    let s = file.section_by_name(name)?;
    if s.kind() == object::SectionKind::UninitializedData {
        return Some(&[]);
    }
    s.data().ok()
}

/// The region of `bytes` that may hold bundles: the [`SECTION_NAME`] section of an
/// executable, else the whole input (a `.clbk` file). Pass its result to
/// [`scan`](super::scan).
pub fn bundle_region(bytes: &[u8]) -> &[u8] {
    section(bytes, SECTION_NAME).unwrap_or(bytes)
}
