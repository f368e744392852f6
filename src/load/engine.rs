//! The one per-program load path, used by eager loads, lazy loads and recovery alike:
//!
//! 1. the embedded binary for this device's fingerprint (verified, under a crash sentinel,
//!    its known answers replayed once per device);
//! 2. the disk cache entry (verified, under a crash sentinel; compiled by this very driver,
//!    so its known answers are not replayed);
//! 3. the embedded source, compiled under a crash sentinel, its binary stored in the cache.
//!
//! Every miss falls through with a reason recorded in the program's report; nothing
//! unverified reaches the driver. Several processes starting together each take a
//! program's advisory lock before compiling it, so a program is compiled once.

use super::report::{CacheEvent, CacheEventKind, CacheReport, CacheState, LoadPath, Miss, MissReason, ProgramReport};
use super::LoadOptions;
use crate::cache::lock::{self, EntryLock, TryLock};
use crate::cache::sentinel::{self, Sentinel, Source};
use crate::cache::{stem, DiskCache};
use crate::{Error, Session};
use clbake_core::cl::{build_from_binary, build_from_source, capture_binary, kernel_params, known, BuiltProgram};
use clbake_core::format::{Bundle, ProgramEntry, SignatureOrigin, Table};
use clbake_core::Hash128;
use std::sync::Mutex;
use std::time::Instant;

/// Embedded binaries dropped in this process after a kernel failed to run from them:
/// (fingerprint hash, program key).
static DROPPED: Mutex<Vec<(Hash128, Hash128)>> = Mutex::new(Vec::new());

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// One program loaded, or why not, with its report and the cache events of its load.
pub(crate) struct Outcome {
    pub built: Result<BuiltProgram, Error>,
    pub report: ProgramReport,
}

/// What loading needs, shared by every program of a bundle.
pub(crate) struct Engine {
    pub session: Session,
    pub bundle: Bundle<'static>,
    pub opts: LoadOptions,
    pub cache: Option<DiskCache>,
    no_cache: MissReason,
    fp: Hash128,
    /// Load one program at a time on this device.
    pub serial: bool,
    /// The cache's state and events so far.
    cache_report: Mutex<CacheReport>,
    /// Time to parse the bundle.
    pub parse_ms: f64,
}

/// How a program's cache lock is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locking {
    /// Wait for it (one program at a time: lazy loads, recovery).
    Wait,
    /// Give up when busy: the caller defers the program and comes back to it.
    Try,
}

impl Engine {
    /// Parses the bundle and opens the disk cache `opts` names.
    pub fn open(session: &Session, bytes: &'static [u8], opts: &LoadOptions) -> Result<Engine, Error> {
        let start = Instant::now();
        let bundle = Bundle::parse(bytes).map_err(Error::Bundle)?;
        let parse_ms = ms(start);
        let fingerprint = &session.device().fingerprint;
        let mut report = CacheReport::disabled();
        let mut no_cache = MissReason::Disabled;
        let mut cache = None;
        // A driver known to crash under concurrency loads one program at a time, unless
        // CLBAKE_JOBS asks for more (then the parallel sentinel is the safety net).
        let mut serial = super::schedule::known_serial(fingerprint) && opts.jobs == 0;
        if let Some(dir) = &opts.cache_dir {
            report = CacheReport { state: CacheState::Enabled, dir: Some(dir.clone()), detail: None, events: Vec::new() };
            match DiskCache::open(dir, fingerprint) {
                Ok(c) => {
                    let c = c.with_limits(opts.cache_limits);
                    no_cache = MissReason::NotCached;
                    serial |= super::schedule::check_parallel_crash(&c, &mut report.events);
                    cache = Some(c);
                }
                Err(e) => {
                    log::warn!("disk cache unavailable, going on without: {e}");
                    report.state = CacheState::Unavailable;
                    report.detail = Some(e.to_string());
                    no_cache = MissReason::Unavailable { detail: e.to_string() };
                }
            }
        }
        if let Some((_, damage)) = bundle.damage().iter().find(|(t, _)| *t == Table::Binaries) {
            log::warn!("the embedded binary table is damaged; every program compiles from source: {damage}");
        }
        Ok(Engine {
            session: session.clone(),
            bundle,
            opts: opts.clone(),
            cache,
            no_cache,
            fp: fingerprint.hash(),
            serial,
            cache_report: Mutex::new(report),
            parse_ms,
        })
    }

    /// The programs of the bundle.
    pub fn programs(&self) -> &[ProgramEntry<'static>] {
        self.bundle.programs()
    }

    /// The cache's state and what it did so far.
    pub fn cache_report(&self) -> CacheReport {
        self.cache_report.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn record(&self, events: Vec<CacheEvent>) {
        if !events.is_empty() {
            self.cache_report.lock().unwrap_or_else(|e| e.into_inner()).events.extend(events);
        }
    }

    /// Step 1: the embedded binary of program `i` for this device.
    pub fn embedded(&self, i: usize, report: &mut ProgramReport) -> Result<BuiltProgram, MissReason> {
        let mut events = Vec::new();
        let r = self.embedded_inner(i, report, &mut events);
        self.record(events);
        r
    }

    fn embedded_inner(&self, i: usize, report: &mut ProgramReport, events: &mut Vec<CacheEvent>) -> Result<BuiltProgram, MissReason> {
        if !self.opts.embedded {
            return Err(MissReason::Disabled);
        }
        if let Some((_, damage)) = self.bundle.damage().iter().find(|(t, _)| *t == Table::Binaries) {
            return Err(MissReason::TableDamaged { detail: damage.clone() });
        }
        let prog = &self.programs()[i];
        let key = prog.key;
        if DROPPED.lock().unwrap_or_else(|e| e.into_inner()).contains(&(self.fp, key)) {
            return Err(MissReason::ExecutionFailed {
                detail: "dropped earlier in this process after a kernel failed to run from it".into(),
            });
        }
        let stem = stem(prog.name, &key);
        if let Some(c) = &self.cache {
            crash_check(c, prog.name, &stem, events)?;
        }
        let Some(bin) = self.bundle.find_binary(i as u32, &self.fp) else {
            return Err(self.closest_mismatch(i));
        };
        if bin.program_key != key {
            return Err(MissReason::Stale);
        }
        let t = Instant::now();
        let bytes = bin.decompress().map_err(|e| MissReason::Corrupt { detail: e.to_string() })?;
        report.verify_ms = ms(t);
        report.binary_bytes = Some(bytes.len() as u64);
        let t = Instant::now();
        let guard = self.cache.as_ref().and_then(|c| Sentinel::arm(c.device_dir(), &stem, Source::Embedded));
        let built = build_from_binary(self.session.context(), self.session.device().id, &bytes, prog.options)
            .map_err(|e| MissReason::DriverRejected { detail: e.to_string() })?;
        report.driver_ms = ms(t);
        let checked = self.check_answers(i, &built, &bin.checksum, report);
        drop(guard);
        if let Err(detail) = checked {
            if let Some(c) = &self.cache {
                let why = format!("binary gave wrong results: {detail}");
                let kind = match sentinel::quarantine_because(c.device_dir(), &stem, &why) {
                    Ok(()) => CacheEventKind::Quarantined,
                    Err(e) => {
                        log::warn!("{}: cannot record the quarantine: {e}", prog.name);
                        CacheEventKind::RemoveFailed
                    }
                };
                events.push(CacheEvent { program: prog.name.to_string(), kind, detail: why });
            }
            DROPPED.lock().unwrap_or_else(|e| e.into_inner()).push((self.fp, key));
            log::warn!("{}: the embedded binary gave wrong results ({detail}); rebuilding from source", prog.name);
            return Err(MissReason::WrongResults { detail });
        }
        Ok(built)
    }

    /// Replays the known answers recorded for program `i` on this device, once per binary
    /// (remembered in the cache directory; with the cache off, once per process).
    fn check_answers(&self, i: usize, built: &BuiltProgram, checksum: &Hash128, report: &mut ProgramReport) -> Result<(), String> {
        if !self.opts.checks {
            return Ok(());
        }
        let Some(recorded) = self.bundle.find_binary(i as u32, &self.fp) else { return Ok(()) };
        let Ok(answers) = recorded.checks() else { return Ok(()) };
        if answers.is_empty() {
            return Ok(());
        }
        let prog = &self.programs()[i];
        let stem = stem(prog.name, &prog.key);
        let mark = checksum.to_hex();
        if self.cache.as_ref().is_some_and(|c| sentinel::checked(c.device_dir(), &stem, &mark)) {
            return Ok(());
        }
        let t = Instant::now();
        #[allow(deprecated)] // clCreateCommandQueue: the OpenCL 1.2 call
        let queue = opencl3::command_queue::CommandQueue::create_default(self.session.context(), 0)
            .map_err(|e| format!("no queue to replay on: {}", e))?;
        for a in &answers {
            let Some((_, kernel)) = built.kernels.iter().find(|(n, _)| *n == a.kernel) else {
                return Err(format!("kernel `{}` is missing", a.kernel));
            };
            let params = kernel_params(kernel).ok().or_else(|| {
                prog.kernel(&a.kernel)
                    .filter(|(_, k)| k.origin != SignatureOrigin::Unknown)
                    .map(|(_, k)| k.params.iter().map(|p| p.info()).collect())
            });
            let Some(params) = params else { continue };
            match known::replay(self.session.context(), &queue, kernel, &params, a) {
                Ok(Ok(())) => {}
                Ok(Err(diff)) => return Err(format!("`{}` {:?}: {diff}", a.kernel, a.global)),
                Err(e) => return Err(format!("`{}` {:?} did not run: {e}", a.kernel, a.global)),
            }
        }
        report.check_ms += ms(t);
        if let Some(c) = &self.cache {
            sentinel::mark_checked(c.device_dir(), &stem, &mark);
        }
        Ok(())
    }

    /// The mismatch against the stored fingerprint closest to this device's.
    fn closest_mismatch(&self, i: usize) -> MissReason {
        let fp = &self.session.device().fingerprint;
        let diff =
            self.bundle.binaries_of(i as u32).filter_map(|b| b.fingerprint().ok()).map(|stored| stored.diff(fp)).min_by_key(Vec::len);
        match diff {
            Some(diff) => MissReason::FingerprintMismatch { diff },
            None => MissReason::NoBinaries,
        }
    }

    /// Steps 2 and 3 for program `i`: the disk cache, else the source. With
    /// [`Locking::Try`], a program whose lock another process holds comes back as `Err(())`
    /// (untouched) for the caller to retry with [`Locking::Wait`].
    pub fn cache_or_source(&self, i: usize, locking: Locking, report: &mut ProgramReport) -> Result<Result<BuiltProgram, Error>, ()> {
        let mut events = Vec::new();
        let r = self.cache_or_source_inner(i, locking, report, &mut events);
        self.record(events);
        r
    }

    fn cache_or_source_inner(
        &self,
        i: usize,
        locking: Locking,
        report: &mut ProgramReport,
        events: &mut Vec<CacheEvent>,
    ) -> Result<Result<BuiltProgram, Error>, ()> {
        let prog = &self.programs()[i];
        let miss = |reason| Miss { path: LoadPath::Cache, reason };
        let Some(c) = &self.cache else {
            report.misses.push(miss(self.no_cache.clone()));
            return Ok(self.source(i, report, events));
        };
        let key = prog.key;
        let stem = stem(prog.name, &key);
        let path = c.entry_path(prog.name, &key);
        // A crash while loading the entry earlier: evict it and rebuild.
        let crashed = c.crashes().take_dead(&stem, Source::Cache);
        if !crashed.is_empty() {
            let pids: Vec<String> = crashed.iter().map(|(_, p)| p.to_string()).collect();
            let why = format!("process {} died while the driver loaded {}", pids.join(", "), path.display());
            c.remove(prog.name, &path, &why, CacheEventKind::Evicted, events);
            if events.last().is_some_and(|e| e.kind == CacheEventKind::Evicted) {
                for (s, _) in &crashed {
                    let _ = std::fs::remove_file(s);
                }
            }
            report.misses.push(miss(MissReason::CrashSentinel { detail: format!("{why}; entry evicted, rebuilding from source") }));
            return Ok(self.source(i, report, events));
        }
        // The common case, a hit, needs no lock.
        let t = Instant::now();
        let peeked = c.peek(prog.name, &key);
        report.verify_ms += ms(t);
        if let Ok(binary) = peeked {
            match self.load_cache_entry(i, c, &binary, report) {
                Ok(built) => return Ok(Ok(built)),
                Err(reason) => {
                    let why = format!("{reason}");
                    c.remove(prog.name, &path, &why, CacheEventKind::Removed, events);
                    report.misses.push(miss(reason));
                    return Ok(self.source(i, report, events));
                }
            }
        }
        let _held: Option<EntryLock> = match locking {
            Locking::Try => match lock::try_lock(c.device_dir(), &stem) {
                TryLock::Held(l) => Some(l),
                TryLock::Busy => return Err(()),
                TryLock::Unavailable(why) => {
                    log::debug!("{}: going on without a lock: {why}", prog.name);
                    None
                }
            },
            Locking::Wait => match lock::lock(c.device_dir(), &stem, lock::WAIT_LIMIT) {
                Ok(l) => Some(l),
                Err(why) => {
                    events.push(CacheEvent { program: prog.name.to_string(), kind: CacheEventKind::LockUnavailable, detail: why });
                    None
                }
            },
        };
        // Under the lock: another process may just have written the entry.
        let t = Instant::now();
        let found = c.lookup(prog.name, &key, events);
        report.verify_ms += ms(t);
        match found {
            Ok(binary) => match self.load_cache_entry(i, c, &binary, report) {
                Ok(built) => Ok(Ok(built)),
                Err(reason) => {
                    c.remove(prog.name, &path, &reason.to_string(), CacheEventKind::Removed, events);
                    report.misses.push(miss(reason));
                    Ok(self.source(i, report, events))
                }
            },
            Err(reason) => {
                report.misses.push(miss(reason));
                Ok(self.source(i, report, events))
            }
        }
    }

    /// Hands a verified cache entry to the driver under a crash sentinel. Its known answers
    /// are not replayed: the entry was compiled by this device's own driver.
    fn load_cache_entry(&self, i: usize, c: &DiskCache, binary: &[u8], report: &mut ProgramReport) -> Result<BuiltProgram, MissReason> {
        let prog = &self.programs()[i];
        let t = Instant::now();
        let guard = Sentinel::arm(c.device_dir(), &stem(prog.name, &prog.key), Source::Cache);
        let built = build_from_binary(self.session.context(), self.session.device().id, binary, prog.options)
            .map_err(|e| MissReason::DriverRejected { detail: e.to_string() });
        drop(guard);
        let built = built?;
        report.driver_ms = ms(t);
        report.path = LoadPath::Cache;
        report.binary_bytes = Some(binary.len() as u64);
        Ok(built)
    }

    /// Step 3: compiles program `i` from its embedded source under a crash sentinel and
    /// stores the binary in the cache.
    fn source(&self, i: usize, report: &mut ProgramReport, events: &mut Vec<CacheEvent>) -> Result<BuiltProgram, Error> {
        let prog = &self.programs()[i];
        report.path = LoadPath::Source;
        report.binary_bytes = None;
        let stem = stem(prog.name, &prog.key);
        if let Some(c) = &self.cache {
            let dead = c.crashes().take_dead(&stem, Source::Compile);
            if !dead.is_empty() {
                let pids: Vec<String> = dead.iter().map(|(_, p)| p.to_string()).collect();
                let detail = format!("process {} died while the driver compiled this program; compiling it again", pids.join(", "));
                log::warn!("{}: {detail}", prog.name);
                events.push(CacheEvent { program: prog.name.to_string(), kind: CacheEventKind::CompilerCrashed, detail });
                for (s, _) in &dead {
                    let _ = std::fs::remove_file(s);
                }
            }
        }
        let t = Instant::now();
        let src = prog.source().map_err(|source| Error::Source { program: prog.name.to_string(), source })?;
        let guard = self.cache.as_ref().and_then(|c| Sentinel::arm(c.device_dir(), &stem, Source::Compile));
        let built = build_from_source(self.session.context(), self.session.device().id, prog.name, &src, prog.options);
        drop(guard);
        report.driver_ms = ms(t);
        let built = built?;
        if let Some(c) = &self.cache {
            report.cached = store_built(c, prog, &built, events);
        }
        Ok(built)
    }

    /// Rebuilds program `i` from source after a kernel failed to run from the binary it was
    /// served from (`was`): drops that binary (evicts the cache entry, or marks the embedded
    /// binary unusable for the rest of this process), compiles and stores the source.
    pub fn rebuild(&self, i: usize, was: LoadPath, cause: &str, report: &mut ProgramReport) -> Result<BuiltProgram, Error> {
        let prog = &self.programs()[i];
        let mut events = Vec::new();
        match (was, &self.cache) {
            (LoadPath::Embedded, _) => DROPPED.lock().unwrap_or_else(|e| e.into_inner()).push((self.fp, prog.key)),
            (LoadPath::Cache, Some(c)) => {
                let why = format!("a kernel failed to run from it: {cause}");
                c.remove(prog.name, &c.entry_path(prog.name, &prog.key), &why, CacheEventKind::Evicted, &mut events);
            }
            _ => {}
        }
        log::warn!("{}: a kernel failed to run from the {was} binary ({cause}); rebuilding from source", prog.name);
        report.misses.push(Miss { path: was, reason: MissReason::ExecutionFailed { detail: cause.to_string() } });
        report.recovered = true;
        let r = self.source(i, report, &mut events);
        self.record(events);
        r
    }
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
        let marker = c.device_dir().join(format!("{stem}.embedded.quarantine"));
        let why = std::fs::read_to_string(&marker).unwrap_or_default();
        return Err(MissReason::Quarantined { detail: format!("{} ({}; `clbake cache clear` resets)", why.trim(), marker.display()) });
    }
    Ok(())
}

/// Captures the binary of a program built from source and stores it; false (with a
/// `write_failed` event) when that fails.
fn store_built(c: &DiskCache, prog: &ProgramEntry<'_>, built: &BuiltProgram, events: &mut Vec<CacheEvent>) -> bool {
    let stored = capture_binary(&built.program)
        .map_err(|e| e.to_string())
        .and_then(|bin| c.store(prog.name, &prog.key, &bin).map_err(|e| e.to_string()));
    let (kind, detail) = match stored {
        Ok((path, pruned)) => {
            if pruned.removed > 0 {
                events.push(CacheEvent {
                    program: prog.name.to_string(),
                    kind: CacheEventKind::Pruned,
                    detail: format!("the cache went over its limits: {pruned}"),
                });
            }
            (CacheEventKind::Stored, path.display().to_string())
        }
        Err(why) => {
            log::warn!("{}: not cached, going on without: {why}", prog.name);
            (CacheEventKind::WriteFailed, why)
        }
    };
    let ok = kind == CacheEventKind::Stored;
    events.push(CacheEvent { program: prog.name.to_string(), kind, detail });
    ok
}
