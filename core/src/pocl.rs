//! What a PoCL program binary holds: the work-group functions compiled into it.
//!
//! PoCL (the CPU driver the tests and the demo run on) serialises a program's cache
//! directory into its binary. Each kernel has a generic work-group function, stored as
//! `/<kernel>/0-0-0/<kernel>.so`, and one specialised function per launch configuration it
//! has run with, stored as `/<kernel>/<x>-<y>-<z>[-goffs0][-smallgrid]/<kernel>.so` (local
//! size, zero global offset, small grid). A launch whose configuration has no specialised
//! function makes PoCL compile one at the first enqueue (50 to 150 ms per kernel on a CPU),
//! which is what warm launches at bake time (see `crate::cl::warm`) avoid. `clbake inspect`
//! lists them. Only names are read, from the bytes as they are: nothing is executed or
//! unpacked, and any input is safe to pass.

/// One work-group function found in a PoCL binary.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct WorkGroupFunction {
    /// Kernel name.
    pub kernel: String,
    /// Local size it is specialised for; `[0, 0, 0]` for the generic function.
    pub local: [u64; 3],
    /// Specialised for a zero global offset.
    pub goffs0: bool,
    /// Specialised for a small grid.
    pub smallgrid: bool,
}

impl WorkGroupFunction {
    /// Whether this is the generic function every PoCL binary holds for each kernel.
    pub fn is_generic(&self) -> bool {
        self.local == [0, 0, 0]
    }
}

impl std::fmt::Display for WorkGroupFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [x, y, z] = self.local;
        write!(f, "{}/{x}-{y}-{z}", self.kernel)?;
        if self.goffs0 {
            f.write_str("-goffs0")?;
        }
        if self.smallgrid {
            f.write_str("-smallgrid")?;
        }
        Ok(())
    }
}

/// Every work-group function named in `binary`, sorted, each once. Empty for binaries of
/// other drivers.
pub fn workgroup_functions(binary: &[u8]) -> Vec<WorkGroupFunction> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = find(binary, b".so", from) {
        from = pos + 3;
        if let Some(f) = parse_before(binary, pos) {
            out.push(f);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

fn is_name(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Reads `/<kernel>/<spec>/<kernel>` ending right before `end` (where `.so` starts).
fn parse_before(b: &[u8], end: usize) -> Option<WorkGroupFunction> {
    // <kernel> of the file name
    let mut i = end;
    while i > 0 && is_name(*b.get(i - 1)?) {
        i -= 1;
    }
    let file = b.get(i..end)?;
    if file.is_empty() || i == 0 || *b.get(i - 1)? != b'/' {
        return None;
    }
    // <spec>
    let spec_end = i - 1;
    let mut j = spec_end;
    while j > 0 && matches!(*b.get(j - 1)?, b'0'..=b'9' | b'a'..=b'z' | b'-') {
        j -= 1;
    }
    let spec = std::str::from_utf8(b.get(j..spec_end)?).ok()?;
    if j == 0 || *b.get(j - 1)? != b'/' {
        return None;
    }
    // <kernel> of the directory, which must match the file name
    let dir_end = j - 1;
    let dir_start = dir_end.checked_sub(file.len())?;
    if b.get(dir_start..dir_end)? != file || dir_start == 0 || *b.get(dir_start - 1)? != b'/' {
        return None;
    }
    let mut parts = spec.split('-');
    let mut local = [0u64; 3];
    for l in &mut local {
        *l = parts.next()?.parse().ok()?;
    }
    let (mut goffs0, mut smallgrid) = (false, false);
    for flag in parts {
        match flag {
            "goffs0" if !goffs0 && !smallgrid => goffs0 = true,
            "smallgrid" if !smallgrid => smallgrid = true,
            _ => return None,
        }
    }
    Some(WorkGroupFunction { kernel: String::from_utf8(file.to_vec()).ok()?, local, goffs0, smallgrid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_generic_and_specialised_functions() {
        let bin = b"\x00\x01XX/program.bc\x00/dense/10-1-1-goffs0-smallgrid/dense.so\x00junk/dense/0-0-0/dense.so(E\
            /conv2d_3x3/8-8-1-goffs0/conv2d_3x3.so/dense/0-0-0/dense.so";
        let f = workgroup_functions(bin);
        let shown: Vec<String> = f.iter().map(|w| w.to_string()).collect();
        assert_eq!(shown, ["conv2d_3x3/8-8-1-goffs0", "dense/0-0-0", "dense/10-1-1-goffs0-smallgrid"]);
        assert!(f[1].is_generic() && !f[0].is_generic());
        assert_eq!(f[2].local, [10, 1, 1]);
        assert!(f[2].goffs0 && f[2].smallgrid);
    }

    #[test]
    fn ignores_what_is_not_a_work_group_function() {
        for bad in [
            &b"/a/0-0-0/b.so"[..], // directory and file name differ
            b"/a/0-0/a.so",        // two sizes
            b"/a/1-2-3-fast/a.so", // unknown flag
            b"/a/x-2-3/a.so",      // not a number
            b"a/1-1-1/a.so",       // no leading slash
            b".so",
            b"/.so",
            b"",
            b"/a/99999999999999999999999-1-1/a.so",
        ] {
            assert!(workgroup_functions(bad).is_empty(), "{:?}", String::from_utf8_lossy(bad));
        }
        // Arbitrary bytes never panic.
        let mut x = 0x9e37_79b9u32;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                b"/.so-0123a_"[x as usize % 11]
            })
            .collect();
        let _ = workgroup_functions(&noise);
    }
}
