//! Tuned local work sizes read from a bundle's tuning table (written by
//! `clbake bake --tune`), for one device.
//!
//! ```ignore
//! // (In a crate whose build.rs bakes its kernels: see docs/GUIDE.md.)
//! mod kernels { clbake::include_kernels!(); }
//! # fn main() -> Result<(), clbake::Error> {
//! let session = clbake::Session::from_env()?;
//! let tuning = clbake::Tuning::for_device(&kernels::BUNDLE, &session.device().fingerprint);
//! // Program 0's kernel `gemm_naive` at global size 256 x 256:
//! println!("{:?}", tuning.best_local(0, "gemm_naive", &[256, 256]));
//! # Ok(()) }
//! ```

use crate::Embedded;
use clbake_core::format::{Bundle, FormatError};
use clbake_core::Fingerprint;

/// One measured launch shape of one kernel on this device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tuned {
    /// Index of the program in the bundle.
    pub program: usize,
    /// Kernel name.
    pub kernel: String,
    /// Global work size measured.
    pub global: Vec<usize>,
    /// Fastest local work size, or `None` when the driver's own choice was fastest.
    pub local: Option<Vec<usize>>,
    /// Median time of one launch with `local`, in nanoseconds.
    pub best_ns: u64,
    /// Median time of one launch with a NULL local size, in nanoseconds.
    pub default_ns: u64,
}

/// The tuning records of one bundle for one device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tuning {
    entries: Vec<Tuned>,
}

impl Tuning {
    /// No records: every launch without an explicit local size lets the driver choose.
    pub fn none() -> Self {
        Tuning::default()
    }

    /// The records of `bundle` measured on the device with this fingerprint. Only records of
    /// the exact program (source, options) in the bundle are there: the format guarantees it.
    pub fn from_bundle(bundle: &Bundle<'_>, fingerprint: &Fingerprint) -> Self {
        let fp = fingerprint.hash();
        let entries = bundle
            .tunings()
            .iter()
            .filter(|t| t.fingerprint_hash == fp)
            .filter_map(|t| {
                let usize_of = |v: &[u64]| v.iter().map(|&x| usize::try_from(x).ok()).collect::<Option<Vec<usize>>>();
                Some(Tuned {
                    program: t.program as usize,
                    kernel: t.kernel.to_string(),
                    global: usize_of(t.global())?,
                    local: match t.local() {
                        Some(l) => Some(usize_of(l)?),
                        None => None,
                    },
                    best_ns: t.best_ns,
                    default_ns: t.default_ns,
                })
            })
            .collect();
        Tuning { entries }
    }

    /// The records of an embedded bundle for this device. An unreadable bundle has none (it
    /// fails to load anyway, with a better error, in [`KernelSet::load`](crate::KernelSet::load)).
    pub fn for_device<P>(bundle: &Embedded<P>, fingerprint: &Fingerprint) -> Self {
        Self::try_for_device(bundle, fingerprint).unwrap_or_default()
    }

    /// Like [`for_device`](Self::for_device), reporting an unreadable bundle.
    pub fn try_for_device<P>(bundle: &Embedded<P>, fingerprint: &Fingerprint) -> Result<Self, FormatError> {
        Ok(Self::from_bundle(&bundle.parse()?, fingerprint))
    }

    /// Records built directly (tests, benchmarks, a tuner that just measured).
    pub fn from_entries(entries: Vec<Tuned>) -> Self {
        Tuning { entries }
    }

    /// All records.
    pub fn entries(&self) -> &[Tuned] {
        &self.entries
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The local size to use for kernel `kernel` of program `program` at `global`:
    ///
    /// 1. a record for exactly this global size: its best local size (`None` if the
    ///    driver's choice won there);
    /// 2. else the record of the same kernel and dimensionality whose global size is nearest
    ///    (in log scale): its local size if it divides `global` in every dimension, else
    ///    `None`;
    /// 3. else `None` (the driver chooses).
    pub fn best_local(&self, program: usize, kernel: &str, global: &[usize]) -> Option<&[usize]> {
        let same = self.entries.iter().filter(|t| t.program == program && t.kernel == kernel && t.global.len() == global.len());
        if let Some(exact) = same.clone().find(|t| t.global == global) {
            return exact.local.as_deref();
        }
        let distance =
            |t: &Tuned| -> f64 { t.global.iter().zip(global).map(|(&a, &b)| ((a.max(1) as f64) / (b.max(1) as f64)).ln().abs()).sum() };
        let nearest = same.min_by(|a, b| distance(a).total_cmp(&distance(b)))?;
        let local = nearest.local.as_deref()?;
        local.iter().zip(global).all(|(&l, &g)| l > 0 && g % l == 0).then_some(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clbake_core::format::{BundleWriter, TunedLaunch};

    fn tuned(program: usize, kernel: &str, global: &[usize], local: Option<&[usize]>) -> Tuned {
        Tuned { program, kernel: kernel.into(), global: global.to_vec(), local: local.map(<[usize]>::to_vec), best_ns: 1, default_ns: 2 }
    }

    #[test]
    fn exact_then_nearest_dividing_then_none() {
        let t = Tuning::from_entries(vec![
            tuned(0, "gemm", &[256, 256], Some(&[16, 16])),
            tuned(0, "gemm", &[1024, 1024], Some(&[32, 8])),
            tuned(0, "gemm", &[64, 64], None),
            tuned(1, "gemm", &[256, 256], Some(&[8, 8])),
            tuned(0, "add", &[4096], Some(&[64])),
        ]);
        assert_eq!(t.best_local(0, "gemm", &[256, 256]), Some(&[16, 16][..]));
        assert_eq!(t.best_local(1, "gemm", &[256, 256]), Some(&[8, 8][..]), "per program");
        assert_eq!(t.best_local(0, "gemm", &[64, 64]), None, "the driver won at this size");
        assert_eq!(t.best_local(0, "gemm", &[512, 384]), Some(&[16, 16][..]), "nearest is 256x256");
        assert_eq!(t.best_local(0, "gemm", &[2048, 2048]), Some(&[32, 8][..]));
        assert_eq!(t.best_local(0, "gemm", &[2000, 2048]), None, "32 does not divide 2000");
        assert_eq!(t.best_local(0, "gemm", &[48, 48]), None, "nearest says: driver's choice");
        assert_eq!(t.best_local(0, "gemm", &[256]), None, "other dimensionality");
        assert_eq!(t.best_local(0, "add", &[8192]), Some(&[64][..]));
        assert_eq!(t.best_local(0, "relu", &[8192]), None);
        assert_eq!(Tuning::none().best_local(0, "gemm", &[256, 256]), None);
    }

    #[test]
    fn reads_only_this_devices_records() {
        let mine = Fingerprint { device_name: "mine".into(), ..Default::default() };
        let other = Fingerprint { device_name: "other".into(), ..Default::default() };
        let mut w = BundleWriter::new().with_level(1);
        let p = w.add_program(&clbake_core::format::ProgramSpec::simple("p", "", &["k"], "kernel void k(global float* x) {}"));
        let launch =
            |g: u64, l: u64| TunedLaunch { kernel: "k".into(), global: vec![g], local: Some(vec![l]), best_ns: 10, default_ns: 20 };
        w.add_tuning(p, mine.hash(), launch(128, 32));
        w.add_tuning(p, other.hash(), launch(128, 4));
        let bytes = w.to_bytes();
        let t = Tuning::for_device(&Embedded::from_vec(bytes), &mine);
        assert_eq!(t.len(), 1);
        assert_eq!(t.entries()[0], tuned(0, "k", &[128], Some(&[32])).clone_with_ns(10, 20));
        assert_eq!(t.best_local(0, "k", &[128]), Some(&[32][..]));
        assert!(Tuning::try_for_device(&Embedded::from_vec(vec![1, 2, 3]), &mine).is_err());
        assert!(Tuning::for_device(&Embedded::from_vec(vec![1, 2, 3]), &mine).is_empty());
    }

    impl Tuned {
        fn clone_with_ns(mut self, best: u64, default: u64) -> Self {
            self.best_ns = best;
            self.default_ns = default;
            self
        }
    }
}
