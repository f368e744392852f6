//! Load order: embedded binary for this fingerprint, else the disk cache entry, else compile
//! the embedded source (and store its binary in the cache). Every miss of a binary path is
//! recorded and falls through; nothing unverified reaches the driver. A crash sentinel guards
//! every binary handed to the driver (see [`crate::cache`]). Embedded binaries load on
//! several threads ([`binary_threads`]).

use crate::cache::sentinel::{self, Sentinel, Source};
use crate::cache::serve::{self, Ctx};
use crate::cache::{stem, DiskCache};
use crate::report::{CacheEvent, CacheEventKind, CacheReport, CacheState, LoadPath, LoadReport, Miss, MissReason, ProgramReport};
use crate::{Embedded, LoadError, Session};
use clbake_core::cl::{build_from_binary, build_from_source, BuiltProgram};
use clbake_core::format::{Bundle, ProgramEntry};
use clbake_core::Hash128;
use opencl3::kernel::Kernel;
use opencl3::program::Program;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Implemented by the `Program` enum that [`include_kernels!`](crate::include_kernels) generates.
pub trait ProgramId: Copy {
    /// Position of the program in the bundle.
    fn index(self) -> usize;
    /// Program name.
    fn name(self) -> &'static str;
}

/// Load policy.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Try embedded binaries (default true; `CLBAKE_EMBEDDED=off` turns it off).
    pub embedded: bool,
    /// Threads loading programs: embedded binaries (0 = as [`binary_threads`] says), and
    /// programs that must come from the disk cache or source (0 = one per core)
    /// (`CLBAKE_JOBS`).
    pub jobs: usize,
    /// The disk cache directory; `None` = no disk cache. [`LoadOptions::default`] has none
    /// (a library default writes nothing to disk); [`LoadOptions::from_env`] (used by the
    /// generated `load`) takes `CLBAKE_CACHE_DIR` or the platform cache directory.
    pub cache_dir: Option<PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { embedded: true, jobs: 0, cache_dir: None }
    }
}

impl LoadOptions {
    /// Defaults overridden by `CLBAKE_EMBEDDED` and `CLBAKE_JOBS`, with the disk cache in
    /// `CLBAKE_CACHE_DIR` (`off` disables it), else `$XDG_CACHE_HOME/clbake/<exe>` or
    /// `~/.cache/clbake/<exe>` (see [`crate::cache::from_env`]).
    pub fn from_env() -> Self {
        LoadOptions {
            embedded: !std::env::var("CLBAKE_EMBEDDED").is_ok_and(|v| crate::cache::dir::is_off(&v)),
            jobs: std::env::var("CLBAKE_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(0),
            cache_dir: crate::cache::from_env(),
        }
    }

    /// Sets the disk cache directory (`None`: no disk cache).
    pub fn with_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// Sets whether embedded binaries are tried.
    pub fn with_embedded(mut self, on: bool) -> Self {
        self.embedded = on;
        self
    }

    /// Sets the number of loading threads (0 = the default, see [`LoadOptions::jobs`]).
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }
}

/// A program ready to run, with all its kernels created.
pub struct LoadedProgram {
    /// Program name.
    pub name: String,
    /// The OpenCL program.
    pub program: Program,
    /// Its kernels by name.
    pub kernels: Vec<(String, Kernel)>,
}

impl LoadedProgram {
    /// The kernel called `name`.
    pub fn kernel(&self, name: &str) -> Result<&Kernel, LoadError> {
        self.kernels.iter().find(|(n, _)| n == name).map(|(_, k)| k).ok_or_else(|| LoadError::NoSuchKernel {
            program: self.name.clone(),
            kernel: name.to_string(),
            available: self.kernels.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// Every program of a bundle, loaded for one device, indexed by the generated `Program` enum.
pub struct Programs<P> {
    programs: Vec<LoadedProgram>,
    report: LoadReport,
    bundle: &'static [u8],
    cache: Option<DiskCache>,
    _ids: PhantomData<P>,
}

/// Embedded binaries dropped in this process after a kernel failed to run from them:
/// (fingerprint hash, program key).
static DROPPED: Mutex<Vec<(Hash128, Hash128)>> = Mutex::new(Vec::new());

fn dropped(fp: &Hash128, key: &Hash128) -> bool {
    DROPPED.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|d| d == &(*fp, *key))
}

impl<P: ProgramId> Programs<P> {
    /// Loads every program of `bundle` for the session's device.
    pub fn load(session: &Session, bundle: &Embedded, opts: &LoadOptions) -> Result<Self, LoadError> {
        let (programs, report, cache) = load_all(session, bundle.bytes(), opts)?;
        Ok(Programs { programs, report, bundle: bundle.bytes(), cache, _ids: PhantomData })
    }

    /// The path that serves program `id` now.
    pub fn path(&self, id: P) -> LoadPath {
        self.report.programs[id.index()].path
    }

    /// Recovers from a kernel of program `id` failing at enqueue or run (stale binaries show
    /// up as `CL_INVALID_PROGRAM_EXECUTABLE` or `CL_OUT_OF_RESOURCES` on some drivers): drops
    /// the binary it was loaded from (evicts its cache entry, or marks the embedded binary
    /// unusable for the rest of this process), rebuilds it from source, stores the new
    /// binary in the cache and records `cause` in the report. The caller retries once.
    ///
    /// Kernels of the program borrowed before are invalid afterwards (the borrow checker
    /// sees to it); take them again with [`kernel`](Self::kernel).
    pub fn recover(&mut self, session: &Session, id: P, cause: &dyn std::fmt::Display) -> Result<(), LoadError> {
        let i = id.index();
        let bundle = Bundle::parse(self.bundle).map_err(LoadError::Bundle)?;
        let count = bundle.programs().len();
        let (Some(prog), Some(was)) = (bundle.programs().get(i), self.report.programs.get(i).map(|r| r.path)) else {
            return Err(LoadError::ProgramCount { expected: i + 1, found: count });
        };
        let key = prog.key();
        let mut events = Vec::new();
        match (was, &self.cache) {
            (LoadPath::Embedded, _) => DROPPED.lock().unwrap_or_else(|e| e.into_inner()).push((session.device.fingerprint.hash(), key)),
            (LoadPath::Cache, Some(c)) => {
                let why = format!("a kernel failed to run from it: {cause}");
                c.remove(prog.name, &c.entry_path(prog.name, &key), &why, CacheEventKind::Evicted, &mut events);
            }
            _ => {}
        }
        log::warn!("{}: a kernel failed to run from the {was} binary ({cause}); rebuilding from source", prog.name);
        let t = Instant::now();
        let src = prog.source().map_err(|source| LoadError::Source { program: prog.name.to_string(), source })?;
        let built = build_from_source(&session.context, session.device.id, prog.name, &src, prog.options)?;
        let took = ms(t);
        let cached = self.cache.as_ref().is_some_and(|c| serve::store_built(c, prog, &key, &built, &mut events));
        self.programs[i] = LoadedProgram { name: prog.name.to_string(), program: built.program, kernels: built.kernels };
        let r = &mut self.report.programs[i];
        r.misses.push(Miss { path: was, reason: MissReason::ExecutionFailed { detail: cause.to_string() } });
        r.path = LoadPath::Source;
        r.recovered = true;
        r.cached |= cached;
        r.driver_ms = took;
        r.total_ms += took;
        r.binary_bytes = None;
        self.report.cache.events.extend(events);
        Ok(())
    }

    /// The loaded program `id`.
    pub fn get(&self, id: P) -> &LoadedProgram {
        &self.programs[id.index()]
    }

    /// Kernel `name` of program `id`.
    pub fn kernel(&self, id: P, name: &str) -> Result<&Kernel, LoadError> {
        self.get(id).kernel(name)
    }

    /// What the load did.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// Opens the disk cache asked for, reporting why it cannot be used.
pub(crate) fn open_cache(session: &Session, opts: &LoadOptions) -> (Option<DiskCache>, CacheReport, MissReason) {
    let Some(dir) = &opts.cache_dir else { return (None, CacheReport::disabled(), MissReason::Disabled) };
    let mut report = CacheReport { state: CacheState::Enabled, dir: Some(dir.clone()), detail: None, events: Vec::new() };
    match DiskCache::open(dir, &session.device.fingerprint) {
        Ok(c) => (Some(c), report, MissReason::NotCached),
        Err(e) => {
            log::warn!("disk cache unavailable, going on without: {e}");
            report.state = CacheState::Unavailable;
            report.detail = Some(e.to_string());
            (None, report, MissReason::Unavailable { detail: e.to_string() })
        }
    }
}

/// Loads every program of the bundle in `bytes`: embedded binaries first, then the programs
/// that missed are served from the disk cache or compiled from source on `opts.jobs` threads.
pub(crate) fn load_all(session: &Session, bytes: &[u8], opts: &LoadOptions) -> Result<(Vec<LoadedProgram>, LoadReport, Option<DiskCache>), LoadError> {
    let start = Instant::now();
    let bundle = Bundle::parse(bytes).map_err(LoadError::Bundle)?;
    let parse_ms = ms(start);
    let (cache, mut cache_report, no_cache) = open_cache(session, opts);
    let n = bundle.programs().len();
    let mut built: Vec<Option<BuiltProgram>> = (0..n).map(|_| None).collect();
    let mut reports: Vec<ProgramReport> = Vec::with_capacity(n);
    for (i, (result, mut report, events)) in load_embedded(session, &bundle, opts, cache.as_ref()).into_iter().enumerate() {
        cache_report.events.extend(events);
        match result {
            Ok(b) => {
                report.path = LoadPath::Embedded;
                built[i] = Some(b);
            }
            Err(reason) => {
                log::info!("{}: embedded binary missed: {reason}", report.name);
                report.misses.push(Miss { path: LoadPath::Embedded, reason });
            }
        }
        reports.push(report);
    }
    let todo: Vec<usize> = (0..n).filter(|&i| built[i].is_none()).collect();
    if !todo.is_empty() {
        let workers = match opts.jobs {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        }
        .min(todo.len());
        let ctx = Ctx { session, cache: cache.as_ref(), no_cache };
        let t = Instant::now();
        let mut served = serve::serve_all(&ctx, bundle.programs(), todo, workers);
        served.sort_by_key(|(i, _)| *i);
        let wall = ms(t);
        for (i, s) in served {
            let r = &mut reports[i];
            if let Some(b) = r.binary_bytes.take() {
                log::debug!("{}: embedded binary of {b} bytes was not used", r.name);
            }
            r.path = s.path;
            r.misses.extend(s.info.misses);
            r.verify_ms += s.info.verify_ms;
            r.driver_ms = s.info.driver_ms;
            r.binary_bytes = s.info.binary_bytes;
            r.cached = s.info.cached;
            r.total_ms += s.info.verify_ms + s.info.driver_ms;
            cache_report.events.extend(s.info.events);
            built[i] = Some(s.built?);
        }
        log::debug!("cache and source step took {wall:.1} ms");
    }
    let programs = built
        .into_iter()
        .zip(bundle.programs())
        .map(|(b, p)| {
            let b = b.expect("every program is built or an error was returned");
            LoadedProgram { name: p.name.to_string(), program: b.program, kernels: b.kernels }
        })
        .collect();
    let report = LoadReport { device: session.device.fingerprint.clone(), parse_ms, total_ms: ms(start), programs: reports, cache: cache_report };
    Ok((programs, report, cache))
}

/// One embedded load: the program or why it missed, its report, cache events.
type EmbeddedLoad = (Result<BuiltProgram, MissReason>, ProgramReport, Vec<CacheEvent>);

/// Threads loading embedded binaries. `jobs` > 0 is taken as is (`CLBAKE_JOBS`); 0 means
/// one per core, at least [`MIN_BINARY_THREADS`], on a CPU device, and one thread on other
/// devices. On a CPU device (PoCL) loading a binary is mostly the driver's file and loader
/// work (PoCL writes each binary into a scratch directory, `fdatasync`s it and `dlopen`s its
/// kernels), so threads overlap even on two cores: 14 programs took 57 ms on one thread and
/// 30 ms on four on a 2-core machine. NVIDIA's driver serialises binary loads inside: on an
/// H200, 16 threads took 6 ms where one took 4 ms (see `BENCHMARKS.md`).
pub fn binary_threads(jobs: usize, programs: usize, device_type: &str) -> usize {
    let n = match jobs {
        0 if device_type.contains("CPU") => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(MIN_BINARY_THREADS),
        0 => 1,
        n => n,
    };
    n.min(programs).max(1)
}

/// The least number of threads loading embedded binaries by default on a CPU device.
pub const MIN_BINARY_THREADS: usize = 4;

/// Tries the embedded binary of every program of `bundle`, on [`binary_threads`] threads.
/// Results are in program order. A process that crashes while several binaries load leaves
/// a crash sentinel for each, so the next start quarantines all of them (they are then
/// served from source and the disk cache: slower, never unsafe).
fn load_embedded(session: &Session, bundle: &Bundle<'_>, opts: &LoadOptions, cache: Option<&DiskCache>) -> Vec<EmbeddedLoad> {
    let programs = bundle.programs();
    let one = |i: usize| -> EmbeddedLoad {
        let prog = &programs[i];
        let t = Instant::now();
        let mut report = ProgramReport::new(prog.name, LoadPath::Source);
        let mut events = Vec::new();
        let r = try_embedded(session, bundle, i as u32, prog, opts, cache, &mut report, &mut events);
        report.total_ms = ms(t);
        (r, report, events)
    };
    let threads = if opts.embedded { binary_threads(opts.jobs, programs.len(), &session.device.device_type) } else { 1 };
    if threads <= 1 {
        return (0..programs.len()).map(one).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, EmbeddedLoad)>> = Mutex::new(Vec::with_capacity(programs.len()));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= programs.len() {
                    break;
                }
                let r = one(i);
                done.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// The embedded binary for this device, verified, under a crash sentinel.
#[allow(clippy::too_many_arguments)]
pub(crate) fn try_embedded(
    session: &Session,
    bundle: &Bundle<'_>,
    index: u32,
    prog: &ProgramEntry<'_>,
    opts: &LoadOptions,
    cache: Option<&DiskCache>,
    report: &mut ProgramReport,
    events: &mut Vec<CacheEvent>,
) -> Result<BuiltProgram, MissReason> {
    if !opts.embedded {
        return Err(MissReason::Disabled);
    }
    let fp = &session.device.fingerprint;
    let fp_hash = fp.hash();
    let key = prog.key();
    if dropped(&fp_hash, &key) {
        return Err(MissReason::ExecutionFailed { detail: "dropped earlier in this process after a kernel failed to run from it".into() });
    }
    if let Some(c) = cache {
        crash_check(c, prog.name, &stem(prog.name, &key), events)?;
    }
    let Some(bin) = bundle.find_binary(index, &fp_hash) else {
        return Err(closest_mismatch(bundle, index, fp));
    };
    if bin.program_key != key {
        return Err(MissReason::Stale);
    }
    let t = Instant::now();
    let bytes = bin.decompress().map_err(|e| MissReason::Corrupt { detail: e.to_string() })?;
    report.verify_ms = ms(t);
    report.binary_bytes = Some(bytes.len() as u64);
    let t = Instant::now();
    let guard = cache.and_then(|c| Sentinel::arm(c.device_dir(), &stem(prog.name, &key), Source::Embedded));
    let built = build_from_binary(&session.context, session.device.id, &bytes, prog.options);
    drop(guard);
    let built = built.map_err(|e| MissReason::DriverRejected { detail: e.to_string() })?;
    report.driver_ms = ms(t);
    Ok(built)
}

/// Skips an embedded binary that crashed a previous process (quarantining it for this
/// device) or was quarantined before.
fn crash_check(c: &DiskCache, name: &str, stem: &str, events: &mut Vec<CacheEvent>) -> Result<(), MissReason> {
    let mut crashes = c.crashes();
    let dead = crashes.take_dead(stem, Source::Embedded);
    if !dead.is_empty() {
        let pids: Vec<String> = dead.iter().map(|(_, p)| p.to_string()).collect();
        let detail = format!(
            "process {} died while the driver loaded this embedded binary (or another one loading at the same time); skipped for this device from now on (`clbake cache clear` resets)",
            pids.join(", ")
        );
        let (kind, note) = match sentinel::quarantine(c.device_dir(), stem, &dead) {
            Ok(()) => (CacheEventKind::Quarantined, detail.clone()),
            Err(e) => (CacheEventKind::RemoveFailed, format!("{detail}; cannot record the quarantine: {e}")),
        };
        log::warn!("{name}: {note}");
        events.push(CacheEvent { program: name.to_string(), kind, detail: note });
        return Err(MissReason::CrashSentinel { detail });
    }
    if crashes.is_quarantined(stem) {
        return Err(MissReason::CrashSentinel {
            detail: format!("quarantined after a previous crash ({}); `clbake cache clear` resets", c.device_dir().join(format!("{stem}.embedded.quarantine")).display()),
        });
    }
    Ok(())
}

/// The mismatch against the stored fingerprint closest to this device's.
fn closest_mismatch(bundle: &Bundle<'_>, index: u32, fp: &clbake_core::Fingerprint) -> MissReason {
    let diff = bundle
        .binaries_of(index)
        .filter_map(|b| b.fingerprint().ok())
        .map(|stored| stored.diff(fp))
        .min_by_key(Vec::len);
    match diff {
        Some(diff) => MissReason::FingerprintMismatch { diff },
        None => MissReason::NoBinaries,
    }
}
