//! [`KernelSet`]: the programs of a bundle on one device, each created the first time one of
//! its kernels is launched (or all up front), usable from several threads.

use super::engine::{Engine, Locking, Outcome};
use super::report::{LoadPath, LoadReport, Miss, ProgramReport};
use super::LoadOptions;
use crate::embedded::{Embedded, ProgramId};
use crate::launch::{Launch, Tuning};
use crate::{Error, Session};
use clbake_core::cl::{kernel_params, required_size, BuiltProgram};
use clbake_core::clc::ParamInfo;
use clbake_core::format::SignatureOrigin;
use opencl3::kernel::Kernel;
use opencl3::program::Program;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One kernel of a loaded program: created on its first launch, behind a lock because
/// `clSetKernelArg` is not thread-safe.
pub(crate) struct KernelSlot {
    /// Kernel name.
    pub name: String,
    /// The kernel object, or `None` when the program built on this device has no such kernel.
    pub kernel: Option<Mutex<Kernel>>,
    /// Its parameters as this device's driver reports them (else as the bundle recorded
    /// them); `None` when unknown.
    pub params: Option<Vec<ParamInfo>>,
    /// `reqd_work_group_size`, as the driver reports it.
    pub required: Option<[usize; 3]>,
}

/// A program loaded on the device, with its kernels in bundle order.
pub(crate) struct Loaded {
    /// Keeps the program alive while its kernels are.
    _program: Program,
    /// Program name.
    pub name: String,
    /// Index of the program in the bundle.
    pub index: usize,
    /// Kernels, in the bundle's order.
    pub kernels: Vec<KernelSlot>,
    /// Where it came from.
    pub path: LoadPath,
}

enum State {
    Unloaded,
    Loaded(Arc<Loaded>),
    Failed(Arc<Error>),
}

struct Slot {
    state: Mutex<State>,
    report: Mutex<Option<ProgramReport>>,
    /// Held while the program loads, so that a second caller waits for the first load.
    loading: Mutex<()>,
}

/// The programs of one bundle on one device, indexed by the generated `Program` enum `P`.
///
/// A program is created the first time one of its kernels is launched ([`KernelSet::load`]),
/// or all up front ([`KernelSet::load_eager`]), through one load path: embedded binary for
/// this device, else the disk cache, else the embedded source (see the [load
/// report](LoadReport)). A program that fails to build on this device (an extension it
/// lacks) fails alone: launching one of its kernels returns that error, the others run.
///
/// `KernelSet` is `Send + Sync`: kernels can be launched from several threads at once
/// (each kernel's arguments are set and enqueued under its own lock).
pub struct KernelSet<P> {
    core: SetCore,
    _programs: PhantomData<fn() -> P>,
}

/// What [`KernelSet`] holds, indexed by program number. Not generic, so that its code is
/// compiled once in this crate rather than again (at the user's optimisation level) in
/// every crate that calls `include_kernels!`.
struct SetCore {
    engine: Engine,
    slots: Vec<Slot>,
    tuning: Tuning,
    /// Loads running now (a second one concurrently runs under a parallel sentinel).
    in_flight: AtomicUsize,
    /// Serialises loads on drivers that crash under concurrency.
    serial_lock: Mutex<()>,
    /// Wall time spent loading so far, in nanoseconds: each eager load or preload as a
    /// whole, plus each program created at its first launch.
    load_ns: AtomicU64,
    started: Instant,
}

impl<P: ProgramId> KernelSet<P> {
    /// Parses `bundle` (tables only, checksummed; nothing decompressed) and opens the disk
    /// cache `opts` names. No program is created yet.
    pub fn load(session: &Session, bundle: &Embedded<P>, opts: &LoadOptions) -> Result<Self, Error> {
        Ok(KernelSet { core: SetCore::open(session, bundle.bytes(), P::expected(), opts)?, _programs: PhantomData })
    }

    /// [`load`](Self::load), then creates every program now (embedded binaries on several
    /// threads on CPU devices). A program that fails is recorded, not returned: its kernels
    /// return the error when launched, and the [report](Self::report) lists it.
    pub fn load_eager(session: &Session, bundle: &Embedded<P>, opts: &LoadOptions) -> Result<Self, Error> {
        let set = Self::load(session, bundle, opts)?;
        let all: Vec<usize> = (0..set.core.slots.len()).collect();
        set.core.load_indices(&all);
        Ok(set)
    }

    /// Creates `programs` now if they are not yet (several at once, as an eager load does).
    pub fn preload(&self, programs: &[P]) {
        let idx: Vec<usize> = programs.iter().map(|p| p.index()).collect();
        self.core.load_indices(&idx);
    }

    /// Whether program `p` has been created.
    pub fn is_loaded(&self, p: P) -> bool {
        self.core.is_loaded(p.index())
    }

    /// Number of programs created so far.
    pub fn loaded_count(&self) -> usize {
        self.core.loaded_count()
    }

    /// The path that served program `p`, if it is loaded.
    pub fn path(&self, p: P) -> Option<LoadPath> {
        self.core.path(p.index())
    }

    /// Number of programs in the bundle.
    pub fn len(&self) -> usize {
        self.core.slots.len()
    }

    /// Whether the bundle holds no program.
    pub fn is_empty(&self) -> bool {
        self.core.slots.is_empty()
    }

    /// The name of program `p` in the bundle.
    pub fn program_name(&self, p: P) -> &str {
        self.core.program_name(p.index())
    }

    /// The index of kernel `name` of program `p` (what [`launch`](Self::launch) takes).
    pub fn kernel_index(&self, p: P, name: &str) -> Option<usize> {
        self.core.kernel_index(p.index(), name)
    }

    /// The session the programs are created on.
    pub fn session(&self) -> &Session {
        &self.core.engine.session
    }

    /// The tuned work sizes used when a launch passes no local size.
    pub fn tuning(&self) -> &Tuning {
        &self.core.tuning
    }

    /// Replaces the tuned work sizes ([`Tuning::none`] lets the driver choose every local
    /// size).
    pub fn with_tuning(mut self, tuning: Tuning) -> Self {
        self.core.tuning = tuning;
        self
    }

    /// Starts a launch of kernel number `kernel` (in the bundle's order, see
    /// [`kernel_index`](Self::kernel_index)) of program `p`, creating the program on first
    /// use. Untyped, yet safe: each argument is checked against the parameter the device's
    /// driver reports (kind, type, address space, access) before anything is set.
    pub fn launch(&self, p: P, kernel: usize) -> Result<Launch<'_>, Error> {
        self.core.launch(p.index(), kernel)
    }

    /// [`launch`](Self::launch) by kernel name.
    pub fn launch_named(&self, p: P, kernel: &str) -> Result<Launch<'_>, Error> {
        self.core.launch_named(p.index(), kernel)
    }

    /// Recovers from a kernel of program `p` failing at enqueue or run (stale binaries show
    /// up as `CL_INVALID_PROGRAM_EXECUTABLE` or `CL_OUT_OF_RESOURCES` on some drivers): drops
    /// the binary it was loaded from (evicts its cache entry, or marks the embedded binary
    /// unusable for the rest of this process), rebuilds it from source, stores the new
    /// binary in the cache and records `cause` in the report. The caller retries once.
    pub fn recover(&self, p: P, cause: &dyn std::fmt::Display) -> Result<(), Error> {
        self.core.recover(p.index(), cause)
    }

    /// What the loads so far did: one entry per program created or failed, in bundle order.
    pub fn report(&self) -> LoadReport {
        self.core.report()
    }

    /// Time since the set was created (for start-up measurements).
    pub fn age(&self) -> std::time::Duration {
        self.core.started.elapsed()
    }
}

impl SetCore {
    /// Parses `bundle` and opens the disk cache; `expected` are the program names the
    /// caller's code was generated for.
    fn open(session: &Session, bundle: &'static [u8], expected: Option<&[&str]>, opts: &LoadOptions) -> Result<Self, Error> {
        let engine = Engine::open(session, bundle, opts)?;
        if let Some(expected) = expected {
            let found: Vec<&str> = engine.programs().iter().map(|p| p.name).collect();
            if found != expected {
                return Err(Error::WrongBundle { detail: format!("{} program(s) expected, {} found", expected.len(), found.len()) });
            }
        }
        let tuning = Tuning::from_bundle(&engine.bundle, &session.device().fingerprint);
        let slots = engine
            .programs()
            .iter()
            .map(|_| Slot { state: Mutex::new(State::Unloaded), report: Mutex::new(None), loading: Mutex::new(()) })
            .collect();
        Ok(SetCore {
            engine,
            slots,
            tuning,
            in_flight: AtomicUsize::new(0),
            serial_lock: Mutex::new(()),
            load_ns: AtomicU64::new(0),
            started: Instant::now(),
        })
    }

    /// Creates programs `which` (indices) now, several at once, skipping those already
    /// created or out of range.
    fn load_indices(&self, which: &[usize]) {
        let t = Instant::now();
        self.load_indices_untimed(which);
        self.add_load_time(t);
    }

    fn add_load_time(&self, since: Instant) {
        self.load_ns.fetch_add(u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn load_indices_untimed(&self, which: &[usize]) {
        let todo: Vec<usize> = which
            .iter()
            .copied()
            .filter(|&i| i < self.slots.len())
            .filter(|&i| matches!(*self.slots[i].state.lock().unwrap_or_else(|e| e.into_inner()), State::Unloaded))
            .collect();
        let mut compiled = false;
        for (i, o) in super::schedule::load_all(&self.engine, &todo) {
            compiled |= o.report.path == LoadPath::Source;
            // A failure is recorded in the slot and the report.
            let _ = self.store(i, &self.slots[i], o);
        }
        if compiled {
            self.summary_to_stderr();
        }
    }

    /// Records the outcome of program `i`'s load in its slot.
    fn store(&self, i: usize, slot: &Slot, o: Outcome) -> Result<Arc<Loaded>, Error> {
        let mut state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = o.report;
        let result = match o.built {
            Ok(built) => {
                let loaded = Arc::new(self.wrap(i, built, report.path));
                *state = State::Loaded(loaded.clone());
                Ok(loaded)
            }
            Err(e) => {
                report.error = Some(e.to_string());
                let name = self.engine.programs()[i].name.to_string();
                log::warn!("{name}: cannot load: {e}");
                let e = Arc::new(e);
                *state = State::Failed(e.clone());
                Err(Error::Unavailable { program: name, cause: e })
            }
        };
        *slot.report.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
        result
    }

    /// Kernels of a built program in the bundle's order, with their parameters.
    fn wrap(&self, i: usize, built: BuiltProgram, path: LoadPath) -> Loaded {
        let entry = &self.engine.programs()[i];
        let device = self.engine.session.device().id;
        let mut by_name = built.kernels;
        let kernels = entry
            .kernels
            .iter()
            .map(|k| {
                let kernel = by_name.iter().position(|(n, _)| n == k.name).map(|at| by_name.swap_remove(at).1);
                let recorded = (k.origin != SignatureOrigin::Unknown).then(|| k.params.iter().map(|p| p.info()).collect());
                let params = kernel.as_ref().and_then(|kk| kernel_params(kk).ok()).or(recorded);
                let required = kernel.as_ref().and_then(|kk| required_size(kk, device));
                KernelSlot { name: k.name.to_string(), kernel: kernel.map(Mutex::new), params, required }
            })
            .collect();
        Loaded { _program: built.program, name: entry.name.to_string(), index: i, kernels, path }
    }

    /// Program `i`, created now if this is its first use.
    fn loaded(&self, i: usize) -> Result<Arc<Loaded>, Error> {
        let Some(slot) = self.slots.get(i) else {
            return Err(Error::WrongBundle { detail: format!("program index {i}, the bundle has {}", self.slots.len()) });
        };
        // Fast path: already there.
        match &*slot.state.lock().unwrap_or_else(|e| e.into_inner()) {
            State::Loaded(l) => return Ok(l.clone()),
            State::Failed(e) => return Err(Error::Unavailable { program: self.engine.programs()[i].name.to_string(), cause: e.clone() }),
            State::Unloaded => {}
        }
        // One load per program at a time; a second caller of the same program waits for it.
        let _one = if self.engine.serial { Some(self.serial_lock.lock().unwrap_or_else(|e| e.into_inner())) } else { None };
        let _loading = slot.loading.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot.state.lock().unwrap_or_else(|e| e.into_inner()) {
            State::Loaded(l) => return Ok(l.clone()),
            State::Failed(e) => return Err(Error::Unavailable { program: self.engine.programs()[i].name.to_string(), cause: e.clone() }),
            State::Unloaded => {}
        }
        let overlapping = self.in_flight.fetch_add(1, Ordering::SeqCst) > 0;
        let _parallel = overlapping.then(|| {
            self.engine.cache.as_ref().and_then(|c| {
                crate::cache::sentinel::Sentinel::arm(c.device_dir(), crate::cache::sentinel::ALL, crate::cache::sentinel::Source::Parallel)
            })
        });
        let t = Instant::now();
        let outcome = self.load_one(i);
        self.add_load_time(t);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let compiled = outcome.report.path == LoadPath::Source;
        let result = self.store(i, slot, outcome);
        if compiled {
            self.summary_to_stderr();
        }
        result
    }

    fn load_one(&self, i: usize) -> Outcome {
        let t = Instant::now();
        let name = self.engine.programs()[i].name;
        let mut report = ProgramReport::new(name, LoadPath::Embedded);
        let built = match self.engine.embedded(i, &mut report) {
            Ok(b) => Ok(b),
            Err(reason) => {
                log::info!("{name}: embedded binary missed: {reason}");
                report.misses.push(Miss { path: LoadPath::Embedded, reason });
                report.binary_bytes = None;
                self.engine
                    .cache_or_source(i, Locking::Wait, &mut report)
                    .unwrap_or_else(|()| Err(Error::NoSuchKernel { program: name.into(), kernel: "?".into() }))
            }
        };
        report.total_ms = t.elapsed().as_secs_f64() * 1e3;
        Outcome { built, report }
    }

    fn is_loaded(&self, i: usize) -> bool {
        self.slots.get(i).is_some_and(|s| matches!(*s.state.lock().unwrap_or_else(|e| e.into_inner()), State::Loaded(_)))
    }

    fn loaded_count(&self) -> usize {
        self.slots.iter().filter(|s| matches!(*s.state.lock().unwrap_or_else(|e| e.into_inner()), State::Loaded(_))).count()
    }

    fn path(&self, i: usize) -> Option<LoadPath> {
        match &*self.slots.get(i)?.state.lock().unwrap_or_else(|e| e.into_inner()) {
            State::Loaded(l) => Some(l.path),
            _ => None,
        }
    }

    fn program_name(&self, i: usize) -> &str {
        self.engine.programs().get(i).map_or("?", |e| e.name)
    }

    fn kernel_index(&self, i: usize, name: &str) -> Option<usize> {
        self.engine.programs().get(i)?.kernel(name).map(|(i, _)| i)
    }

    fn launch(&self, i: usize, kernel: usize) -> Result<Launch<'_>, Error> {
        let loaded = self.loaded(i)?;
        if loaded.kernels.get(kernel).is_none_or(|k| k.kernel.is_none()) {
            let name =
                self.engine.programs()[loaded.index].kernels.get(kernel).map_or_else(|| format!("#{kernel}"), |k| k.name.to_string());
            return Err(Error::NoSuchKernel { program: loaded.name.clone(), kernel: name });
        }
        Ok(Launch::new(loaded, kernel, &self.tuning, &self.engine.session))
    }

    fn launch_named(&self, i: usize, kernel: &str) -> Result<Launch<'_>, Error> {
        let index = self
            .kernel_index(i, kernel)
            .ok_or_else(|| Error::NoSuchKernel { program: self.program_name(i).to_string(), kernel: kernel.to_string() })?;
        self.launch(i, index)
    }

    fn recover(&self, i: usize, cause: &dyn std::fmt::Display) -> Result<(), Error> {
        let slot = self.slots.get(i).ok_or_else(|| Error::WrongBundle { detail: format!("program index {i}") })?;
        let was = match &*slot.state.lock().unwrap_or_else(|e| e.into_inner()) {
            State::Loaded(l) => l.path,
            _ => LoadPath::Source,
        };
        let mut report =
            slot.report.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_else(|| ProgramReport::new(self.program_name(i), was));
        let t = Instant::now();
        let built = self.engine.rebuild(i, was, &cause.to_string(), &mut report);
        report.total_ms += t.elapsed().as_secs_f64() * 1e3;
        let result = self.store(i, slot, Outcome { built, report }).map(drop);
        self.summary_to_stderr();
        result
    }

    fn report(&self) -> LoadReport {
        let programs: Vec<ProgramReport> =
            self.slots.iter().filter_map(|s| s.report.lock().unwrap_or_else(|e| e.into_inner()).clone()).collect();
        LoadReport {
            device: self.engine.session.device().fingerprint.clone(),
            parse_ms: self.engine.parse_ms,
            total_ms: self.engine.parse_ms + self.load_ns.load(Ordering::Relaxed) as f64 / 1e6,
            programs,
            cache: self.engine.cache_report(),
            serial: self.engine.serial,
        }
    }

    /// Without a `log` logger installed (and unless `CLBAKE_LOG=off`), prints one line on
    /// stderr when a program had to be compiled from source: a start that is slow for a
    /// reason should say so on a board where nobody installed a logger. Once per process;
    /// called only after a load that compiled (after a whole eager load, so that the line
    /// names every program it compiled), never on the embedded path.
    fn summary_to_stderr(&self) {
        static SAID: std::sync::Once = std::sync::Once::new();
        if SAID.is_completed()
            || log::max_level() != log::LevelFilter::Off
            || clbake_core::env::choice(clbake_core::env::LOG, &["stderr", "off"]).ok().flatten() == Some("off")
        {
            return;
        }
        if let Some(line) = self.report().summary_line() {
            SAID.call_once(|| eprintln!("{line}"));
        }
    }
}
