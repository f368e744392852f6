//! Load order: embedded binary for this fingerprint, else compile the embedded source.
//! Every miss of the binary path is recorded and falls through; nothing unverified reaches
//! the driver.

use crate::report::{LoadPath, LoadReport, Miss, MissReason, ProgramReport};
use crate::{Embedded, LoadError, Session};
use clbake_core::cl::{build_from_binary, build_from_source, BuiltProgram};
use clbake_core::format::{Bundle, ProgramEntry};
use opencl3::kernel::Kernel;
use opencl3::program::Program;
use std::marker::PhantomData;
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
    /// Threads compiling programs that must come from source; 0 = one per core
    /// (`CLBAKE_JOBS`).
    pub jobs: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { embedded: true, jobs: 0 }
    }
}

impl LoadOptions {
    /// Defaults overridden by `CLBAKE_EMBEDDED` and `CLBAKE_JOBS`.
    pub fn from_env() -> Self {
        let off = |v: &str| matches!(v.trim(), "off" | "0" | "false" | "no");
        LoadOptions {
            embedded: !std::env::var("CLBAKE_EMBEDDED").is_ok_and(|v| off(&v)),
            jobs: std::env::var("CLBAKE_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(0),
        }
    }

    /// Sets whether embedded binaries are tried.
    pub fn with_embedded(mut self, on: bool) -> Self {
        self.embedded = on;
        self
    }

    /// Sets the number of compile threads (0 = one per core).
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
    _ids: PhantomData<P>,
}

impl<P: ProgramId> Programs<P> {
    /// Loads every program of `bundle` for the session's device.
    pub fn load(session: &Session, bundle: &Embedded, opts: &LoadOptions) -> Result<Self, LoadError> {
        let (programs, report) = load_all(session, bundle.bytes(), opts)?;
        Ok(Programs { programs, report, _ids: PhantomData })
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

/// Loads every program of the bundle in `bytes`: embedded binaries first, then the programs
/// that missed are compiled from source on `opts.jobs` threads.
pub fn load_all(session: &Session, bytes: &[u8], opts: &LoadOptions) -> Result<(Vec<LoadedProgram>, LoadReport), LoadError> {
    let start = Instant::now();
    let bundle = Bundle::parse(bytes).map_err(LoadError::Bundle)?;
    let parse_ms = ms(start);
    let n = bundle.programs().len();
    let mut built: Vec<Option<BuiltProgram>> = (0..n).map(|_| None).collect();
    let mut reports: Vec<ProgramReport> = Vec::with_capacity(n);
    for (i, prog) in bundle.programs().iter().enumerate() {
        let t = Instant::now();
        let mut report = ProgramReport {
            name: prog.name.to_string(),
            path: LoadPath::Source,
            misses: Vec::new(),
            verify_ms: 0.0,
            driver_ms: 0.0,
            total_ms: 0.0,
            binary_bytes: None,
        };
        match try_embedded(session, &bundle, i as u32, prog, opts, &mut report) {
            Ok(b) => {
                report.path = LoadPath::Embedded;
                built[i] = Some(b);
            }
            Err(reason) => {
                log::info!("{}: embedded binary missed: {reason}", prog.name);
                report.misses.push(Miss { path: LoadPath::Embedded, reason });
            }
        }
        report.total_ms = ms(t);
        reports.push(report);
    }
    compile_missing(session, &bundle, opts, &mut built, &mut reports)?;
    let programs = built
        .into_iter()
        .zip(bundle.programs())
        .map(|(b, p)| {
            let b = b.expect("every program is built or an error was returned");
            LoadedProgram { name: p.name.to_string(), program: b.program, kernels: b.kernels }
        })
        .collect();
    let report = LoadReport { device: session.device.fingerprint.clone(), parse_ms, total_ms: ms(start), programs: reports };
    Ok((programs, report))
}

fn try_embedded(
    session: &Session,
    bundle: &Bundle<'_>,
    index: u32,
    prog: &ProgramEntry<'_>,
    opts: &LoadOptions,
    report: &mut ProgramReport,
) -> Result<BuiltProgram, MissReason> {
    if !opts.embedded {
        return Err(MissReason::Disabled);
    }
    let fp = &session.device.fingerprint;
    let Some(bin) = bundle.find_binary(index, &fp.hash()) else {
        return Err(closest_mismatch(bundle, index, fp));
    };
    if bin.program_key != prog.key() {
        return Err(MissReason::Stale);
    }
    let t = Instant::now();
    let bytes = bin.decompress().map_err(|e| MissReason::Corrupt { detail: e.to_string() })?;
    report.verify_ms = ms(t);
    report.binary_bytes = Some(bytes.len() as u64);
    let t = Instant::now();
    let built = build_from_binary(&session.context, session.device.id, &bytes, prog.options)
        .map_err(|e| MissReason::DriverRejected { detail: e.to_string() })?;
    report.driver_ms = ms(t);
    Ok(built)
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

/// Compiles every program still missing from its embedded source, in parallel.
fn compile_missing(
    session: &Session,
    bundle: &Bundle<'_>,
    opts: &LoadOptions,
    built: &mut [Option<BuiltProgram>],
    reports: &mut [ProgramReport],
) -> Result<(), LoadError> {
    let todo: Vec<usize> = (0..built.len()).filter(|&i| built[i].is_none()).collect();
    if todo.is_empty() {
        return Ok(());
    }
    let workers = match opts.jobs {
        0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        n => n,
    }
    .min(todo.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, f64, Result<BuiltProgram, LoadError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let Some(&i) = todo.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                let prog = &bundle.programs()[i];
                let t = Instant::now();
                let r = prog
                    .source()
                    .map_err(|source| LoadError::Source { program: prog.name.to_string(), source })
                    .and_then(|src| Ok(build_from_source(&session.context, session.device.id, prog.name, &src, prog.options)?));
                results.lock().unwrap_or_else(|e| e.into_inner()).push((i, ms(t), r));
            });
        }
    });
    for (i, took, r) in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        built[i] = Some(r?);
        reports[i].driver_ms = took;
        reports[i].total_ms += took;
        reports[i].path = LoadPath::Source;
    }
    Ok(())
}
