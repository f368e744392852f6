//! Steps 3 and 4 of the load order for the programs the embedded binaries did not serve:
//! the disk cache entry, else the embedded source (whose binary then refills the cache).
//!
//! Programs are served on a pool of threads. Each program is first looked up without a lock
//! (a hit is the common case and needs none); a miss takes the program's advisory lock,
//! looks again (another process may just have written the entry), and only then compiles
//! and stores. A program whose lock is busy is put back and taken up last, so that
//! processes starting together compile different programs instead of waiting on each other.

use super::lock::{self, EntryLock, TryLock};
use super::sentinel::{Sentinel, Source};
use super::{stem, DiskCache};
use crate::report::{CacheEvent, CacheEventKind, LoadPath, Miss, MissReason};
use crate::{LoadError, Session};
use clbake_core::cl::{build_from_binary, build_from_source, capture_binary, BuiltProgram};
use clbake_core::format::ProgramEntry;
use clbake_core::Hash128;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

/// How one program was served by the cache or the source.
pub(crate) struct Served {
    /// The program, or why even its source failed.
    pub(crate) built: Result<BuiltProgram, LoadError>,
    /// [`LoadPath::Cache`] or [`LoadPath::Source`].
    pub(crate) path: LoadPath,
    /// What it took.
    pub(crate) info: Info,
}

/// What serving a program took.
#[derive(Default)]
pub(crate) struct Info {
    /// Misses of the cache step.
    pub(crate) misses: Vec<Miss>,
    /// What the cache did.
    pub(crate) events: Vec<CacheEvent>,
    /// Time reading and verifying the entry.
    pub(crate) verify_ms: f64,
    /// Time in the driver for the serving path.
    pub(crate) driver_ms: f64,
    /// Size of the cached binary used.
    pub(crate) binary_bytes: Option<u64>,
    /// Whether a fresh entry was stored.
    pub(crate) cached: bool,
}

/// What the cache step needs to know.
pub(crate) struct Ctx<'a> {
    /// The device.
    pub(crate) session: &'a Session,
    /// The cache, if one is open.
    pub(crate) cache: Option<&'a DiskCache>,
    /// The miss to report when there is no cache (disabled or unavailable).
    pub(crate) no_cache: MissReason,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Serves programs `todo` of `programs` on `workers` threads; results in any order.
pub(crate) fn serve_all(ctx: &Ctx<'_>, programs: &[ProgramEntry<'_>], todo: Vec<usize>, workers: usize) -> Vec<(usize, Served)> {
    let queue = Mutex::new(todo.into_iter().collect::<VecDeque<_>>());
    let deferred: Mutex<Vec<(usize, Prior)>> = Mutex::new(Vec::new());
    let results = Mutex::new(Vec::new());
    let pop = |m: &Mutex<VecDeque<usize>>| m.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                let (i, prior, held) = if let Some(i) = pop(&queue) {
                    let prog = &programs[i];
                    let prior = match peek(ctx, prog) {
                        Ok(served) => {
                            results.lock().unwrap_or_else(|e| e.into_inner()).push((i, served));
                            continue;
                        }
                        Err(prior) => prior,
                    };
                    let tried = ctx.cache.map(|c| lock::try_lock(c.device_dir(), &stem(prog.name, &prog.key())));
                    match tried {
                        None => (i, prior, None),
                        Some(TryLock::Held(l)) => (i, prior, Some(l)),
                        Some(TryLock::Busy) => {
                            deferred.lock().unwrap_or_else(|e| e.into_inner()).push((i, prior));
                            continue;
                        }
                        Some(TryLock::Unavailable(why)) => {
                            log::debug!("{}: going on without a lock: {why}", prog.name);
                            (i, prior, None)
                        }
                    }
                } else if let Some((i, prior)) = deferred.lock().unwrap_or_else(|e| e.into_inner()).pop() {
                    let prog = &programs[i];
                    // Only programs whose lock was busy are deferred, so there is a cache.
                    match ctx.cache.map(|c| lock::lock(c.device_dir(), &stem(prog.name, &prog.key()), lock::WAIT_LIMIT)) {
                        Some(Ok(l)) => (i, prior, Some(l)),
                        Some(Err(why)) => {
                            let mut prior = prior;
                            prior.events.push(CacheEvent { program: prog.name.to_string(), kind: CacheEventKind::LockUnavailable, detail: why });
                            (i, prior, None)
                        }
                        None => (i, prior, None),
                    }
                } else {
                    break;
                };
                let served = locked(ctx, &programs[i], prior, held);
                results.lock().unwrap_or_else(|e| e.into_inner()).push((i, served));
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// What the unlocked look-up learnt, for the locked step.
#[derive(Default)]
struct Prior {
    /// Sentinels of processes that died loading this program's entry.
    crashed: Vec<(std::path::PathBuf, u32)>,
    /// The driver rejected the entry found without the lock.
    rejected: Option<String>,
    /// Time already spent verifying.
    verify_ms: f64,
    /// Events so far.
    events: Vec<CacheEvent>,
}

/// Looks the program up without a lock and without removing anything; `Ok` when the cache
/// served it.
fn peek(ctx: &Ctx<'_>, prog: &ProgramEntry<'_>) -> Result<Served, Prior> {
    let mut prior = Prior::default();
    let Some(c) = ctx.cache else { return Err(prior) };
    let key = prog.key();
    prior.crashed = c.crashes().take_dead(&stem(prog.name, &key), Source::Cache);
    if !prior.crashed.is_empty() {
        return Err(prior);
    }
    let t = Instant::now();
    let Ok(binary) = c.peek(prog.name, &key) else {
        prior.verify_ms = ms(t);
        return Err(prior);
    };
    prior.verify_ms = ms(t);
    match load_binary(ctx.session, c, prog, &key, &binary) {
        Ok((built, driver_ms)) => Ok(Served {
            built: Ok(built),
            path: LoadPath::Cache,
            info: Info { verify_ms: prior.verify_ms, driver_ms, binary_bytes: Some(binary.len() as u64), ..Info::default() },
        }),
        Err(e) => {
            prior.rejected = Some(e.to_string());
            Err(prior)
        }
    }
}

/// Hands a verified cache entry to the driver under a crash sentinel.
fn load_binary(session: &Session, c: &DiskCache, prog: &ProgramEntry<'_>, key: &Hash128, binary: &[u8]) -> Result<(BuiltProgram, f64), LoadError> {
    let t = Instant::now();
    let guard = Sentinel::arm(c.device_dir(), &stem(prog.name, key), Source::Cache);
    let r = build_from_binary(&session.context, session.device.id, binary, prog.options);
    drop(guard);
    Ok((r?, ms(t)))
}

/// The cache step under the program's lock (when one could be had), then the source.
fn locked(ctx: &Ctx<'_>, prog: &ProgramEntry<'_>, prior: Prior, _held: Option<EntryLock>) -> Served {
    let key = prog.key();
    let mut info = Info { events: prior.events, verify_ms: prior.verify_ms, ..Info::default() };
    let miss = |reason| Miss { path: LoadPath::Cache, reason };
    let Some(c) = ctx.cache else {
        info.misses.push(miss(ctx.no_cache.clone()));
        return from_source(ctx, prog, &key, info);
    };
    let name = prog.name;
    let path = c.entry_path(name, &key);
    if !prior.crashed.is_empty() {
        let pids: Vec<String> = prior.crashed.iter().map(|(_, p)| p.to_string()).collect();
        let why = format!("process {} died while the driver loaded {}", pids.join(", "), path.display());
        c.remove(name, &path, &why, CacheEventKind::Evicted, &mut info.events);
        if info.events.last().is_some_and(|e| e.kind == CacheEventKind::Evicted) {
            // The suspect entry is gone: the sentinels have done their job.
            for (sentinel, _) in &prior.crashed {
                if let Err(e) = std::fs::remove_file(sentinel) {
                    log::warn!("cannot remove crash sentinel {}: {e}", sentinel.display());
                }
            }
        }
        info.misses.push(miss(MissReason::CrashSentinel { detail: format!("{why}; entry evicted, rebuilding from source") }));
        return from_source(ctx, prog, &key, info);
    }
    if let Some(detail) = prior.rejected {
        c.remove(name, &path, &format!("driver rejected it: {detail}"), CacheEventKind::Removed, &mut info.events);
        info.misses.push(miss(MissReason::DriverRejected { detail }));
        return from_source(ctx, prog, &key, info);
    }
    let t = Instant::now();
    let found = c.lookup(name, &key, &mut info.events);
    info.verify_ms += ms(t);
    let binary = match found {
        Ok(b) => b,
        Err(reason) => {
            info.misses.push(miss(reason));
            return from_source(ctx, prog, &key, info);
        }
    };
    match load_binary(ctx.session, c, prog, &key, &binary) {
        Ok((built, driver_ms)) => {
            info.driver_ms = driver_ms;
            info.binary_bytes = Some(binary.len() as u64);
            Served { built: Ok(built), path: LoadPath::Cache, info }
        }
        Err(e) => {
            c.remove(name, &path, &format!("driver rejected it: {e}"), CacheEventKind::Removed, &mut info.events);
            info.misses.push(miss(MissReason::DriverRejected { detail: e.to_string() }));
            from_source(ctx, prog, &key, info)
        }
    }
}

/// Compiles the program from its embedded source and stores the binary in the cache.
fn from_source(ctx: &Ctx<'_>, prog: &ProgramEntry<'_>, key: &Hash128, mut info: Info) -> Served {
    let t = Instant::now();
    let built = prog
        .source()
        .map_err(|source| LoadError::Source { program: prog.name.to_string(), source })
        .and_then(|src| Ok(build_from_source(&ctx.session.context, ctx.session.device.id, prog.name, &src, prog.options)?));
    info.driver_ms = ms(t);
    if let (Ok(built), Some(c)) = (&built, ctx.cache) {
        info.cached = store_built(c, prog, key, built, &mut info.events);
    }
    Served { built, path: LoadPath::Source, info }
}

/// Captures the binary of a program built from source and stores it; false (with a
/// `write_failed` event) when that fails.
pub(crate) fn store_built(c: &DiskCache, prog: &ProgramEntry<'_>, key: &Hash128, built: &BuiltProgram, events: &mut Vec<CacheEvent>) -> bool {
    let stored = capture_binary(&built.program).map_err(|e| e.to_string()).and_then(|bin| c.store(prog.name, key, &bin).map_err(|e| e.to_string()));
    let (kind, detail) = match stored {
        Ok(path) => (CacheEventKind::Stored, path.display().to_string()),
        Err(why) => {
            log::warn!("{}: not cached, going on without: {why}", prog.name);
            (CacheEventKind::WriteFailed, why)
        }
    };
    let ok = kind == CacheEventKind::Stored;
    events.push(CacheEvent { program: prog.name.to_string(), kind, detail });
    ok
}
