//! The tuning table: the best local work size measured for a kernel at a global size on one
//! device (`clbake bake --tune`).
//!
//! ```text
//! tuning record
//!   u32   record_len
//!   u32   program            index into the program table
//!   [16]  program_key        of that program (a record of an older source is stale)
//!   [16]  fingerprint_hash   device the measurement was taken on
//!   str   kernel             one of the program's kernels
//!   u32   work_dim           1, 2 or 3
//!   u64×3 global             unused dimensions are 1
//!   u64×3 local              all 0: the driver's choice (NULL) was fastest;
//!                            else each used dimension >= 1, unused ones 1
//!   u64   best_ns            time of one launch with `local` (median)
//!   u64   default_ns         time of one launch with a NULL local size (median)
//! ```
//! Records are sorted by (program, fingerprint_hash, kernel, work_dim, global) without
//! duplicates, so the records of one program on one device are one contiguous run.

use crate::hash::Hash128;
use crate::wire::{put_record, record_body, Cursor, FormatError, PutLe};

/// One tuning record in columns: program, kernel, global and local size, the tuned and the
/// driver's time (bake progress with tuning, `clbake inspect`).
pub fn tuning_columns(program: &str, kernel: &str, global: &[u64], local: Option<&[u64]>, best_ns: u64, default_ns: u64) -> String {
    let local = local.map_or_else(|| "driver's choice".to_string(), |v| format!("{v:?}"));
    format!(
        "{program:<18} {kernel:<18} global {:<16} local {local:<16} {:>9.3} ms (NULL {:.3} ms)",
        format!("{global:?}"),
        best_ns as f64 / 1e6,
        default_ns as f64 / 1e6
    )
}

/// Smallest possible tuning record (empty kernel name), length field included.
pub(crate) const MIN_TUNING_RECORD: u64 = 4 + 4 + 16 + 16 + 4 + 4 + 24 + 24 + 8 + 8;

/// One measured launch shape: what [`BundleWriter::add_tuning`](super::BundleWriter::add_tuning)
/// stores.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TunedLaunch {
    /// Kernel name.
    pub kernel: String,
    /// Global work size, 1 to 3 dimensions, each at least 1.
    pub global: Vec<u64>,
    /// Fastest local work size (same length as `global`), or `None` when the driver's own
    /// choice (a NULL local size) was fastest.
    pub local: Option<Vec<u64>>,
    /// Median time of one launch with `local`, in nanoseconds.
    pub best_ns: u64,
    /// Median time of one launch with a NULL local size, in nanoseconds.
    pub default_ns: u64,
}

impl TunedLaunch {
    /// `global` and `local` padded to three dimensions, or a description of what is wrong.
    fn padded(&self) -> Result<(u32, [u64; 3], [u64; 3]), String> {
        let dim = self.global.len();
        if !(1..=3).contains(&dim) || self.global.contains(&0) {
            return Err(format!("global size {:?} must have 1 to 3 dimensions, each at least 1", self.global));
        }
        let mut g = [1u64; 3];
        g[..dim].copy_from_slice(&self.global);
        let l = match &self.local {
            None => [0; 3],
            Some(l) if l.len() == dim && !l.contains(&0) => {
                let mut out = [1u64; 3];
                out[..dim].copy_from_slice(l);
                out
            }
            Some(l) => return Err(format!("local size {l:?} must have as many dimensions as global {:?}, each at least 1", self.global)),
        };
        Ok((dim as u32, g, l))
    }
}

/// One record of the tuning table, borrowed from the bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuningEntry<'a> {
    /// Index of the program (in [`Bundle::programs`](super::Bundle::programs)).
    pub program: u32,
    /// Key of the program the measurement was taken with; equals that program's
    /// [`key`](super::ProgramEntry::key) in every parsed bundle.
    pub program_key: Hash128,
    /// [`Fingerprint::hash`](crate::Fingerprint::hash) of the device measured.
    pub fingerprint_hash: Hash128,
    /// Kernel name (one of the program's kernels).
    pub kernel: &'a str,
    /// Number of dimensions used (1 to 3).
    pub work_dim: u32,
    /// Global work size; dimensions past `work_dim` are 1.
    pub global: [u64; 3],
    /// Best local work size; all zero when the driver's own choice was fastest.
    pub local: [u64; 3],
    /// Median time of one launch with `local`, in nanoseconds.
    pub best_ns: u64,
    /// Median time of one launch with a NULL local size, in nanoseconds.
    pub default_ns: u64,
}

impl TuningEntry<'_> {
    /// The used dimensions of the global size.
    pub fn global(&self) -> &[u64] {
        &self.global[..self.work_dim as usize]
    }

    /// The used dimensions of the best local size, or `None` when the driver's choice won.
    pub fn local(&self) -> Option<&[u64]> {
        (self.local != [0; 3]).then(|| &self.local[..self.work_dim as usize])
    }

    /// The owned form, e.g. to copy the record into another bundle.
    pub fn to_launch(&self) -> TunedLaunch {
        TunedLaunch {
            kernel: self.kernel.to_string(),
            global: self.global().to_vec(),
            local: self.local().map(<[u64]>::to_vec),
            best_ns: self.best_ns,
            default_ns: self.default_ns,
        }
    }

    /// The sort key of the table.
    pub(crate) fn order(&self) -> (u32, Hash128, &str, u32, [u64; 3]) {
        (self.program, self.fingerprint_hash, self.kernel, self.work_dim, self.global)
    }
}

/// Checks a launch for [`write_tuning`]; the writer panics on `Err` (a caller's bug).
pub(crate) fn check_launch(t: &TunedLaunch) -> Result<(u32, [u64; 3], [u64; 3]), String> {
    t.padded()
}

/// Decodes one tuning record; checks dimensions (program and kernel are checked by the
/// reader, which knows the programs).
pub(crate) fn read_tuning<'a>(c: &mut Cursor<'a>, strict: bool) -> Result<TuningEntry<'a>, FormatError> {
    let w = "tuning record";
    let mut r = record_body(c, w)?;
    let program = r.u32(w)?;
    let program_key = r.hash(w)?;
    let fingerprint_hash = r.hash(w)?;
    let kernel = r.str("tuning kernel name")?;
    let work_dim = r.u32(w)?;
    let mut global = [0u64; 3];
    for g in &mut global {
        *g = r.u64(w)?;
    }
    let mut local = [0u64; 3];
    for l in &mut local {
        *l = r.u64(w)?;
    }
    let best_ns = r.u64(w)?;
    let default_ns = r.u64(w)?;
    if strict {
        r.finish(w)?;
    }
    let dim = work_dim as usize;
    let bad = |detail: String| Err(FormatError::corrupted(w, detail));
    if !(1..=3).contains(&dim) {
        return bad(format!("work_dim {work_dim} is not 1, 2 or 3"));
    }
    if global[..dim].contains(&0) || global[dim..].iter().any(|&g| g != 1) {
        return bad(format!("global size {global:?} for work_dim {work_dim}"));
    }
    let default = local == [0; 3];
    if !default && (local[..dim].contains(&0) || local[dim..].iter().any(|&l| l != 1)) {
        return bad(format!("local size {local:?} for work_dim {work_dim}"));
    }
    Ok(TuningEntry { program, program_key, fingerprint_hash, kernel, work_dim, global, local, best_ns, default_ns })
}

/// Encodes one tuning record (length prefix included).
pub(crate) fn write_tuning(out: &mut Vec<u8>, program: u32, program_key: &Hash128, fingerprint_hash: &Hash128, t: &TunedLaunch) {
    let (dim, global, local) = check_launch(t).unwrap_or_else(|e| panic!("tuning record for `{}`: {e}", t.kernel));
    let mut r = Vec::new();
    r.put_u32(program);
    r.extend_from_slice(&program_key.0);
    r.extend_from_slice(&fingerprint_hash.0);
    r.put_str(&t.kernel);
    r.put_u32(dim);
    for v in global.iter().chain(&local) {
        r.put_u64(*v);
    }
    r.put_u64(t.best_ns);
    r.put_u64(t.default_ns);
    put_record(out, &r);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(global: &[u64], local: Option<&[u64]>) -> TunedLaunch {
        TunedLaunch { kernel: "k".into(), global: global.to_vec(), local: local.map(<[u64]>::to_vec), best_ns: 5, default_ns: 9 }
    }

    #[test]
    fn minimum_size_and_round_trip() {
        let mut v = Vec::new();
        write_tuning(&mut v, 0, &Hash128::default(), &Hash128::default(), &TunedLaunch { kernel: String::new(), ..launch(&[1], None) });
        assert_eq!(v.len() as u64, MIN_TUNING_RECORD);
        let mut v = Vec::new();
        write_tuning(&mut v, 3, &Hash128([1; 16]), &Hash128([2; 16]), &launch(&[64, 8], Some(&[16, 2])));
        let e = read_tuning(&mut Cursor::new(&v, 0), true).unwrap();
        assert_eq!((e.program, e.kernel, e.work_dim, e.global, e.local), (3, "k", 2, [64, 8, 1], [16, 2, 1]));
        assert_eq!((e.global(), e.local()), (&[64, 8][..], Some(&[16, 2][..])));
        assert_eq!(e.to_launch(), launch(&[64, 8], Some(&[16, 2])));
    }

    #[test]
    fn invalid_launches_are_refused() {
        assert!(check_launch(&launch(&[], None)).is_err());
        assert!(check_launch(&launch(&[1, 2, 3, 4], None)).is_err());
        assert!(check_launch(&launch(&[0], None)).is_err());
        assert!(check_launch(&launch(&[8, 8], Some(&[8]))).is_err());
        assert!(check_launch(&launch(&[8], Some(&[0]))).is_err());
        assert_eq!(check_launch(&launch(&[8], None)).unwrap(), (1, [8, 1, 1], [0, 0, 0]));
    }

    #[test]
    fn bad_dimensions_are_corrupted() {
        let mut v = Vec::new();
        write_tuning(&mut v, 0, &Hash128::default(), &Hash128::default(), &launch(&[64, 8], Some(&[16, 2])));
        // work_dim at 4+4+16+16+4+1 = 45, global at 49, local at 73.
        let at = |v: &mut Vec<u8>, off: usize, x: u64, n: usize| v[off..off + n].copy_from_slice(&x.to_le_bytes()[..n]);
        for (off, val, n) in [(45, 0u64, 4), (45, 4, 4), (49, 0, 8), (65, 2, 8), (73, 0, 8), (89, 3, 8)] {
            let mut bad = v.clone();
            at(&mut bad, off, val, n);
            assert!(
                matches!(read_tuning(&mut Cursor::new(&bad, 0), true), Err(FormatError::Corrupted { what: "tuning record", .. })),
                "{off}"
            );
        }
        let mut extra = v.clone();
        extra.push(0);
        let len = u32::from_le_bytes(extra[..4].try_into().unwrap()) + 1;
        extra[..4].copy_from_slice(&len.to_le_bytes());
        assert!(read_tuning(&mut Cursor::new(&extra, 0), true).is_err());
        assert!(read_tuning(&mut Cursor::new(&extra, 0), false).is_ok(), "a later minor may append fields");
    }
}
