//! Lazy loading: a program is created the first time one of its kernels is asked for.
//!
//! [`Programs::load`](crate::Programs::load) creates every program of a bundle at start-up.
//! A bundle of a hundred programs of which one run uses three pays for ninety-seven it never
//! needs; [`LazyPrograms`] parses the bundle (tables only, nothing decompressed) and loads a
//! program on the first [`kernel`](LazyPrograms::kernel) or [`get`](LazyPrograms::get) call,
//! through the same load order as the eager loader: embedded binary for this device, then
//! the disk cache entry, then the embedded source (whose binary refills the cache).
//!
//! ```no_run
//! # mod kernels { clbake::include_kernels!(); }
//! # fn main() -> Result<(), clbake::LoadError> {
//! let session = clbake::Session::from_env()?;
//! let programs = clbake::LazyPrograms::new(&session, &kernels::BUNDLE, &clbake::LoadOptions::from_env())?;
//! let first = kernels::Program::ALL[0];
//! let _kernel = programs.kernel(first, first.kernels()[0])?; // only this program is created
//! print!("{}", programs.report()); // the programs loaded so far
//! # Ok(())
//! # }
//! ```
//!
//! A `LazyPrograms` is used from one thread (it is `Send`, not `Sync`): OpenCL kernel objects
//! hold per-call argument state and opencl3's `Kernel` is not `Sync`.

use crate::cache::serve::{self, Ctx};
use crate::cache::DiskCache;
use crate::loader::{open_cache, try_embedded, LoadOptions, LoadedProgram, ProgramId};
use crate::report::{CacheReport, LoadPath, LoadReport, Miss, MissReason, ProgramReport};
use crate::{Embedded, LoadError, Session};
use clbake_core::format::Bundle;
use opencl3::kernel::Kernel;
use std::cell::{OnceCell, RefCell};
use std::marker::PhantomData;
use std::time::Instant;

/// The programs of a bundle, each created on first use: the bundle's tables are parsed up
/// front (nothing decompressed), and a program is loaded — embedded binary, disk cache,
/// then source — on the first [`kernel`](LazyPrograms::kernel) or [`get`](LazyPrograms::get)
/// call. Used from one thread (`Send`, not `Sync`).
pub struct LazyPrograms<'s, P> {
    session: &'s Session,
    bundle: Bundle<'static>,
    opts: LoadOptions,
    cache: Option<DiskCache>,
    no_cache: MissReason,
    slots: Vec<OnceCell<LoadedProgram>>,
    /// Reports of the programs loaded so far (by index), and the cache report.
    reports: RefCell<(Vec<Option<ProgramReport>>, CacheReport)>,
    parse_ms: f64,
    _ids: PhantomData<P>,
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

impl<'s, P: ProgramId> LazyPrograms<'s, P> {
    /// Parses `bundle` (header and tables, checksummed; no payload is decompressed) and opens
    /// the disk cache `opts` names. No program is created yet.
    pub fn new(
        session: &'s Session,
        bundle: &Embedded,
        opts: &LoadOptions,
    ) -> Result<Self, LoadError> {
        let start = Instant::now();
        let parsed = bundle.parse().map_err(LoadError::Bundle)?;
        let parse_ms = ms(start);
        let (cache, cache_report, no_cache) = open_cache(session, opts);
        let n = parsed.programs().len();
        Ok(LazyPrograms {
            session,
            bundle: parsed,
            opts: opts.clone(),
            cache,
            no_cache,
            slots: (0..n).map(|_| OnceCell::new()).collect(),
            reports: RefCell::new(((0..n).map(|_| None).collect(), cache_report)),
            parse_ms,
            _ids: PhantomData,
        })
    }

    /// Number of programs in the bundle.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the bundle holds no program.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether program `id` has been created.
    pub fn is_loaded(&self, id: P) -> bool {
        self.slots
            .get(id.index())
            .is_some_and(|s| s.get().is_some())
    }

    /// Number of programs created so far.
    pub fn loaded_count(&self) -> usize {
        self.slots.iter().filter(|s| s.get().is_some()).count()
    }

    /// Program `id`, created now if this is its first use. A failure (the source does not
    /// compile, OpenCL fails) is returned and the next call tries again.
    pub fn get(&self, id: P) -> Result<&LoadedProgram, LoadError> {
        let i = id.index();
        let Some(slot) = self.slots.get(i) else {
            return Err(LoadError::ProgramCount {
                expected: i + 1,
                found: self.slots.len(),
            });
        };
        if let Some(p) = slot.get() {
            return Ok(p);
        }
        let loaded = self.load(i)?;
        Ok(slot.get_or_init(|| loaded))
    }

    /// Kernel `name` of program `id`, creating the program on first use.
    pub fn kernel(&self, id: P, name: &str) -> Result<&Kernel, LoadError> {
        self.get(id)?.kernel(name)
    }

    /// What the loads so far did: one entry per program created, in bundle order;
    /// `total_ms` is the sum of their times (plus parsing).
    pub fn report(&self) -> LoadReport {
        let reports = self.reports.borrow();
        let programs: Vec<ProgramReport> = reports.0.iter().flatten().cloned().collect();
        let total_ms = self.parse_ms + programs.iter().map(|p| p.total_ms).sum::<f64>();
        LoadReport {
            device: self.session.device.fingerprint.clone(),
            parse_ms: self.parse_ms,
            total_ms,
            programs,
            cache: reports.1.clone(),
        }
    }

    /// Loads program `i` (in range): embedded binary, else disk cache, else source.
    fn load(&self, i: usize) -> Result<LoadedProgram, LoadError> {
        let prog = &self.bundle.programs()[i];
        let t = Instant::now();
        let mut report = ProgramReport::new(prog.name, LoadPath::Embedded);
        let mut events = Vec::new();
        let embedded = try_embedded(
            self.session,
            &self.bundle,
            i as u32,
            prog,
            &self.opts,
            self.cache.as_ref(),
            &mut report,
            &mut events,
        );
        let built = match embedded {
            Ok(b) => Ok(b),
            Err(reason) => {
                log::info!("{}: embedded binary missed: {reason}", prog.name);
                report.misses.push(Miss {
                    path: LoadPath::Embedded,
                    reason,
                });
                report.binary_bytes = None;
                let ctx = Ctx {
                    session: self.session,
                    cache: self.cache.as_ref(),
                    no_cache: self.no_cache.clone(),
                };
                match serve::serve_all(&ctx, self.bundle.programs(), vec![i], 1).pop() {
                    Some((_, s)) => {
                        report.path = s.path;
                        report.misses.extend(s.info.misses);
                        report.verify_ms += s.info.verify_ms;
                        report.driver_ms = s.info.driver_ms;
                        report.binary_bytes = s.info.binary_bytes;
                        report.cached = s.info.cached;
                        events.extend(s.info.events);
                        s.built
                    }
                    // serve_all returns one result per program it was given.
                    None => Err(LoadError::ProgramCount {
                        expected: i + 1,
                        found: self.slots.len(),
                    }),
                }
            }
        };
        report.total_ms = ms(t);
        let mut reports = self.reports.borrow_mut();
        reports.1.events.extend(events);
        let built = built?;
        reports.0[i] = Some(report);
        Ok(LoadedProgram {
            name: prog.name.to_string(),
            program: built.program,
            kernels: built.kernels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clbake_core::format::BundleWriter;

    #[derive(Clone, Copy)]
    struct Nth(usize);
    impl ProgramId for Nth {
        fn index(self) -> usize {
            self.0
        }
        fn name(self) -> &'static str {
            "nth"
        }
    }

    /// Three programs from source: only the ones asked for are created, a bad one fails on
    /// its first use only, and an index past the end is an error, not a panic.
    #[test]
    fn creates_programs_on_first_use_only() {
        let session = Session::from_env().expect("an OpenCL device");
        let mut w = BundleWriter::new().with_level(1);
        for (name, body) in [
            ("a", "x[0] = 1.0f;"),
            ("b", "x[0] = 2.0f;"),
            ("bad", "x[0] = undefined_name;"),
        ] {
            w.add_program(
                name,
                "",
                &[format!("k_{name}")],
                &format!("kernel void k_{name}(global float* x) {{ {body} }}"),
            );
        }
        let bundle = Embedded::from_vec(w.to_bytes());
        let lazy = LazyPrograms::<Nth>::new(&session, &bundle, &LoadOptions::default()).unwrap();
        assert_eq!((lazy.len(), lazy.loaded_count()), (3, 0));
        lazy.kernel(Nth(1), "k_b").unwrap();
        assert!(lazy.is_loaded(Nth(1)) && !lazy.is_loaded(Nth(0)) && !lazy.is_loaded(Nth(2)));
        let report = lazy.report();
        assert_eq!(report.programs.len(), 1);
        assert_eq!(
            (report.programs[0].name.as_str(), report.programs[0].path),
            ("b", LoadPath::Source)
        );
        assert!(matches!(
            lazy.kernel(Nth(1), "nope"),
            Err(LoadError::NoSuchKernel { .. })
        ));
        assert!(matches!(lazy.get(Nth(2)), Err(LoadError::Cl(_))));
        assert!(matches!(
            lazy.get(Nth(3)),
            Err(LoadError::ProgramCount {
                expected: 4,
                found: 3
            })
        ));
        assert_eq!(lazy.loaded_count(), 1);
    }
}
