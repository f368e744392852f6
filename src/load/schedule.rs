//! How many programs load at once, and loading many.
//!
//! Measured (see BENCHMARKS.md): PoCL loads embedded binaries faster on several threads
//! (its binary load is mostly file work: 14 programs in 63 ms on one thread, 37 ms on four,
//! on 2 cores), but compiles sources one at a time inside a process (a process-wide
//! compiler lock: threads gain nothing); NVIDIA serialises binary loads inside its driver;
//! Oclgrind crashes when two threads build programs at once. So: embedded binaries load on
//! [`binary_threads`] threads on CPU devices and one thread on others, and programs that
//! must come from the cache or the source load one at a time unless `CLBAKE_JOBS` asks
//! for more.
//!
//! Safety net: while several loads or compiles run at once, a *parallel sentinel* sits in
//! the cache directory. A process that dies meanwhile leaves it behind; the next start for
//! that device finds it, records that the device loads one program at a time from now on
//! (`serial.marker`, reported in the load report; `clbake cache clear` resets), and does.

use super::engine::{Engine, Locking, Outcome};
use super::report::{CacheEvent, CacheEventKind, LoadPath, Miss, ProgramReport};
use crate::cache::sentinel::{self, Sentinel, Source, ALL};
use crate::cache::DiskCache;
use clbake_core::Fingerprint;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The least number of threads loading embedded binaries by default on a CPU device.
pub const MIN_BINARY_THREADS: usize = 4;

/// Drivers known to crash when several programs build at once in one process.
pub(crate) fn known_serial(fp: &Fingerprint) -> bool {
    fp.platform_name.contains("Oclgrind")
}

/// Threads loading embedded binaries. `jobs` > 0 is taken as is (`CLBAKE_JOBS`); 0 means
/// one per core, at least [`MIN_BINARY_THREADS`], on a CPU device, and one thread on other
/// devices (NVIDIA's driver serialises binary loads inside: on an H200, 16 threads took
/// 6 ms where one took 4 ms).
pub fn binary_threads(jobs: usize, programs: usize, device_type: &str) -> usize {
    let n = match jobs {
        0 if device_type.contains("CPU") => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(MIN_BINARY_THREADS),
        0 => 1,
        n => n,
    };
    n.min(programs).max(1)
}

/// Finds the parallel sentinels of dead processes: the device then loads one program at a
/// time from now on. Returns whether it must (marker found or just written).
pub(crate) fn check_parallel_crash(c: &DiskCache, events: &mut Vec<CacheEvent>) -> bool {
    let mut crashes = c.crashes();
    let dead = crashes.take_dead(ALL, Source::Parallel);
    if dead.is_empty() {
        return crashes.serial;
    }
    let pids: Vec<String> = dead.iter().map(|(_, p)| p.to_string()).collect();
    let detail = format!(
        "process {} died while several programs loaded or compiled at once on this device; loading one at a time from now on (`clbake cache clear` resets)",
        pids.join(", ")
    );
    log::warn!("{detail}");
    let kind = match sentinel::serialize(c.device_dir(), &dead) {
        Ok(()) => CacheEventKind::Serialized,
        Err(e) => {
            log::warn!("cannot record it: {e}");
            CacheEventKind::RemoveFailed
        }
    };
    events.push(CacheEvent { program: ALL.to_string(), kind, detail });
    true
}

/// Runs `work` on `threads` threads over `items`, under a parallel sentinel when more than
/// one thread runs. Results in any order.
fn spread<T: Send>(engine: &Engine, threads: usize, items: Vec<usize>, work: &(dyn Fn(usize) -> T + Sync)) -> Vec<(usize, T)> {
    if threads <= 1 || items.len() <= 1 {
        return items.into_iter().map(|i| (i, work(i))).collect();
    }
    let _guard = engine.cache.as_ref().and_then(|c| Sentinel::arm(c.device_dir(), ALL, Source::Parallel));
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len()) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = items.get(k) else { break };
                let r = work(i);
                done.lock().unwrap_or_else(|e| e.into_inner()).push((i, r));
            });
        }
    });
    done.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// Loads programs `which` (eagerly): embedded binaries first, on [`binary_threads`]
/// threads, then the misses from the cache or the source. A program whose cache lock another
/// process holds is put back and taken up last, so that processes starting together
/// compile different programs instead of waiting on each other. Results in `which` order,
/// each with its program index.
pub(crate) fn load_all(engine: &Engine, which: &[usize]) -> Vec<(usize, Outcome)> {
    let names: Vec<&str> = engine.programs().iter().map(|p| p.name).collect();
    let device_type = engine.session.device().device_type.clone();
    let serial = engine.serial;
    let threads = if serial || !engine.opts.embedded { 1 } else { binary_threads(engine.opts.jobs, which.len(), &device_type) };
    let embedded = spread(engine, threads, which.to_vec(), &|i| {
        let t = Instant::now();
        let mut report = ProgramReport::new(names[i], LoadPath::Embedded);
        let r = engine.embedded(i, &mut report);
        report.total_ms = t.elapsed().as_secs_f64() * 1e3;
        (r, report)
    });
    let mut outcomes: Vec<Option<Outcome>> = (0..engine.programs().len()).map(|_| None).collect();
    let mut todo = Vec::new();
    for (i, (r, mut report)) in embedded {
        match r {
            Ok(built) => outcomes[i] = Some(Outcome { built: Ok(built), report }),
            Err(reason) => {
                log::info!("{}: embedded binary missed: {reason}", names[i]);
                report.misses.push(Miss { path: LoadPath::Embedded, reason });
                report.binary_bytes = None;
                todo.push((i, report));
            }
        }
    }
    let jobs = if serial { 1 } else { engine.opts.jobs.max(1) };
    let queue: Mutex<VecDeque<(usize, ProgramReport)>> = Mutex::new(todo.into_iter().collect());
    let deferred: Mutex<Vec<(usize, ProgramReport)>> = Mutex::new(Vec::new());
    let finished: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::new());
    let pending = queue.lock().unwrap_or_else(|e| e.into_inner()).len();
    let worker = || loop {
        let (i, mut report, locking) = if let Some((i, r)) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() {
            (i, r, Locking::Try)
        } else if let Some((i, r)) = deferred.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            (i, r, Locking::Wait)
        } else {
            break;
        };
        let t = Instant::now();
        match engine.cache_or_source(i, locking, &mut report) {
            Ok(built) => {
                report.total_ms += t.elapsed().as_secs_f64() * 1e3;
                finished.lock().unwrap_or_else(|e| e.into_inner()).push((i, Outcome { built, report }));
            }
            Err(()) => deferred.lock().unwrap_or_else(|e| e.into_inner()).push((i, report)),
        }
    };
    if jobs <= 1 || pending <= 1 {
        worker();
    } else {
        let _guard = engine.cache.as_ref().and_then(|c| Sentinel::arm(c.device_dir(), ALL, Source::Parallel));
        std::thread::scope(|s| {
            for _ in 0..jobs.min(pending) {
                s.spawn(worker);
            }
        });
    }
    for (i, o) in finished.into_inner().unwrap_or_else(|e| e.into_inner()) {
        outcomes[i] = Some(o);
    }
    which.iter().filter_map(|&i| Some((i, outcomes[i].take()?))).collect()
}
