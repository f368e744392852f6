//! Compile workers: a bake spread over several processes.
//!
//! PoCL compiles one program at a time inside a process (a process-wide compiler lock), and
//! Oclgrind crashes when two threads build at once, but separate processes compile in
//! parallel on both. So a bake with several compiles starts worker processes — the calling
//! executable itself, re-run with `CLBAKE_BAKE_WORKER` set — and hands them one compile at a
//! time. Only executables that answer to that variable may be used: build scripts through
//! [`crate::build`], the `clbake` tool and apps' `--clbake-bake` do (each calls
//! [`serve_if_worker`] first thing); a caller passes a [`WorkerCommand`] only for those.
//!
//! Protocol: the parent writes one *job bundle* (a `.clbk` holding the programs, with the
//! settings and device fingerprints in its info, and tuned work sizes in its tuning table);
//! each worker opens the devices, prints `ready`, then reads `P D` lines from stdin (compile
//! program P for device D), writes each result as a small bundle next to the job bundle and
//! prints `done P D`. A worker that dies mid-compile fails that compile only (the driver
//! crashed on it), and a new worker takes over the rest.

use super::job::{compile, Compiled, Failure, JobSettings};
use crate::cl::{self, ClError, DeviceInfo, WarmReport};
use crate::format::{Bundle, BundleWriter, KernelRecord, ProgramSpec, TunedLaunch};
use crate::hash::Hash128;
use crate::source::ProgramSource;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How to start a compile worker: an executable that calls [`serve_if_worker`] before
/// doing anything else, and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl WorkerCommand {
    /// This process's own executable, with `args`.
    pub fn this_executable(args: &[&str]) -> Option<Self> {
        Some(WorkerCommand { program: std::env::current_exe().ok()?, args: args.iter().map(OsString::from).collect() })
    }
}

/// First line of a job bundle's info.
const JOB_MAGIC: &str = "clbake-worker-job 1";
/// How long a worker may take to open its devices.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Times a worker slot is restarted after its process died.
const RESTARTS: usize = 3;

/// Serves as a compile worker when this process was started as one (`CLBAKE_BAKE_WORKER`
/// set): runs the compiles it is sent and returns the exit code; `None` otherwise, doing
/// nothing. Call it first thing in `main` of an executable passed as a [`WorkerCommand`].
pub fn serve_if_worker() -> Option<i32> {
    let job = std::env::var_os(crate::env::BAKE_WORKER)?;
    Some(match serve(Path::new(&job)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("clbake compile worker: {e}");
            2
        }
    })
}

/// The settings, device fingerprints and tuned sizes a job bundle carries in its info.
fn job_info(settings: JobSettings, devices: &[DeviceInfo]) -> String {
    let hashes: Vec<String> = devices.iter().map(|d| d.fingerprint.hash().to_hex()).collect();
    format!(
        "{JOB_MAGIC}\ncapture={} warm={} checks={}\ndevices={}",
        settings.capture as u8,
        settings.warm as u8,
        settings.checks as u8,
        hashes.join(",")
    )
}

fn parse_job_info(info: &str) -> Option<(JobSettings, Vec<String>)> {
    let mut lines = info.lines();
    if lines.next()? != JOB_MAGIC {
        return None;
    }
    let flags = lines.next()?;
    let flag = |name: &str| flags.split_whitespace().any(|w| w == format!("{name}=1"));
    let settings = JobSettings { capture: flag("capture"), warm: flag("warm"), checks: flag("checks") };
    let devices = lines.next()?.strip_prefix("devices=")?.split(',').filter(|s| !s.is_empty()).map(String::from).collect();
    Some((settings, devices))
}

/// The result file of compile (`program`, `device`) of the job at `job`.
fn result_path(job: &Path, program: usize, device: usize) -> PathBuf {
    job.with_extension(format!("r{program}_{device}.clbk"))
}

fn serve(job: &Path) -> Result<(), String> {
    let bytes = std::fs::read(job).map_err(|e| format!("cannot read the job {}: {e}", job.display()))?;
    let bundle = Bundle::parse(&bytes).map_err(|e| format!("{}: {e}", job.display()))?;
    let (settings, wanted) = parse_job_info(bundle.info()).ok_or("not a compile job bundle")?;
    let all = cl::devices().map_err(|e| e.to_string())?;
    let devices: Vec<DeviceInfo> = wanted
        .iter()
        .map(|h| {
            all.iter()
                .find(|d| d.fingerprint.hash().to_hex() == *h)
                .cloned()
                .ok_or_else(|| format!("no device with fingerprint {h} in this process"))
        })
        .collect::<Result<_, _>>()?;
    let contexts = devices
        .iter()
        .map(|d| opencl3::context::Context::from_device(&d.device()).map_err(|e| ClError::api("clCreateContext")(e).to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let programs: Vec<ProgramSource> = bundle
        .programs()
        .iter()
        .map(|p| {
            let source = p.source().map_err(|e| e.to_string())?;
            let mut prog = ProgramSource::new(p.name, p.stem, p.variant, PathBuf::from(format!("{}.cl", p.stem)), p.options, source);
            prog.file = PathBuf::from(p.stem);
            Ok(prog)
        })
        .collect::<Result<_, String>>()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        let mut words = line.split_whitespace().map(str::parse::<usize>);
        let (Some(Ok(p)), Some(Ok(d))) = (words.next(), words.next()) else { return Err(format!("bad request {line:?}")) };
        let (Some(prog), Some(device), Some(context)) = (programs.get(p), devices.get(d), contexts.get(d)) else {
            return Err(format!("no job {p} {d}"));
        };
        let fp = device.fingerprint.hash();
        let local_for = |kernel: &str, global: &[usize]| tuned_local(&bundle, p as u32, &fp, kernel, global);
        let result = compile(context, device, prog, settings, &local_for);
        let written = write_result(&result_path(job, p, d), prog, device, &result);
        writeln!(out, "done {p} {d}").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
        written?;
    }
    Ok(())
}

/// The tuned local size recorded in `bundle` for a launch, if any.
fn tuned_local(bundle: &Bundle<'_>, program: u32, fp: &Hash128, kernel: &str, global: &[usize]) -> Option<Vec<usize>> {
    let t = bundle
        .tunings_for(program, fp)
        .iter()
        .find(|t| t.kernel == kernel && t.global().iter().map(|&g| g as usize).eq(global.iter().copied()))?;
    t.local().map(|l| l.iter().map(|&x| x as usize).collect())
}

/// Writes a compile's result as a bundle: the program with the driver's kernels, the binary
/// with its known answers, and in the info `ok`, the time and the warm report, or `failed`
/// and the log.
fn write_result(path: &Path, prog: &ProgramSource, device: &DeviceInfo, result: &Result<Compiled, Failure>) -> Result<(), String> {
    let (info, kernels) = match result {
        Ok(c) => {
            let mut info = format!("ok\n{}\n{}", c.elapsed.as_nanos(), c.warm.launches);
            for s in &c.warm.skipped {
                info.push('\n');
                info.push_str(&s.replace('\n', " "));
            }
            (info, c.kernels.clone())
        }
        Err(f) => (format!("failed\n{}", f.log), prog.kernels.clone()),
    };
    let mut w = BundleWriter::new().with_level(1).with_info(info);
    let i = w.add_program(&ProgramSpec { kernels, ..prog.spec() });
    if let Ok(Compiled { binary: Some(b), warm, .. }) = result {
        w.add_binary(i, &device.fingerprint, b, &warm.answers);
    }
    crate::atomic::write(path, &w.to_bytes(), 0o600).map_err(|e| e.to_string())
}

/// Reads a result written by [`write_result`].
fn read_result(path: &Path, prog: &ProgramSource, device: &DeviceInfo) -> Result<Compiled, Failure> {
    let fail = |log: String| Failure::of(prog, device, log);
    let bytes = std::fs::read(path).map_err(|e| fail(format!("the compile worker's result {} is unreadable: {e}", path.display())))?;
    let bundle = Bundle::parse(&bytes).map_err(|e| fail(format!("the compile worker's result is damaged: {e}")))?;
    let mut lines = bundle.info().lines();
    if lines.next() != Some("ok") {
        return Err(fail(lines.collect::<Vec<_>>().join("\n")));
    }
    let elapsed = Duration::from_nanos(lines.next().and_then(|l| l.parse().ok()).unwrap_or_default());
    let launches = lines.next().and_then(|l| l.parse().ok()).unwrap_or_default();
    let skipped = lines.map(String::from).collect();
    let p = bundle.programs().first().ok_or_else(|| fail("the compile worker's result holds no program".into()))?;
    let kernels: Vec<KernelRecord> = p.kernels.iter().map(|k| k.to_record()).collect();
    let (binary, answers) = match bundle.binaries().first() {
        Some(b) => (Some(b.decompress().map_err(|e| fail(e.to_string()))?), b.checks().map_err(|e| fail(e.to_string()))?),
        None => (None, Vec::new()),
    };
    Ok(Compiled { kernels, binary, warm: WarmReport { launches, skipped, answers }, elapsed })
}

/// One worker process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn start(cmd: &WorkerCommand, job: &Path) -> Result<Worker, String> {
        let mut child = Command::new(&cmd.program)
            .args(&cmd.args)
            .env(crate::env::BAKE_WORKER, job)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", cmd.program.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else { return Err("no pipes to the worker".into()) };
        let mut w = Worker { child, stdin, stdout: BufReader::new(stdout) };
        let started = Instant::now();
        let mut line = String::new();
        // A reply other than `ready` means the executable is not a clbake worker.
        match w.stdout.read_line(&mut line) {
            Ok(n) if n > 0 && line.trim() == "ready" && started.elapsed() < READY_TIMEOUT => Ok(w),
            _ => {
                let _ = w.child.kill();
                let status = w.child.wait().map(|s| s.to_string()).unwrap_or_default();
                Err(format!("{} did not start as a compile worker ({status})", cmd.program.display()))
            }
        }
    }

    /// Sends one compile and waits for it; `Err` when the process died meanwhile, or was
    /// killed because the compile took longer than `timeout`.
    fn run(&mut self, p: usize, d: usize, timeout: Option<Duration>) -> Result<(), String> {
        writeln!(self.stdin, "{p} {d}").and_then(|()| self.stdin.flush()).map_err(|e| e.to_string())?;
        // A watchdog kills the worker when the compile outlasts the timeout; the read below
        // then ends. Dropping `cancel` stops the watchdog.
        let timed_out = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (cancel, cancelled) = std::sync::mpsc::channel::<()>();
        if let Some(limit) = timeout {
            let (pid, flag) = (self.child.id(), timed_out.clone());
            std::thread::spawn(move || {
                if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(limit) {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    // SAFETY: kill(2) on the pid of our own child, which has not been
                    // reaped (waiting for it needs `&mut self`, held by the reader).
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                }
            });
        }
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line);
        drop(cancel);
        match read {
            Ok(n) if n > 0 && line.trim() == format!("done {p} {d}") => Ok(()),
            _ => {
                let _ = self.child.kill();
                let status = self.child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                if timed_out.load(std::sync::atomic::Ordering::SeqCst) {
                    let secs = timeout.map_or(0, |t| t.as_secs());
                    Err(format!(
                        "the compile took longer than {secs} s and was stopped: the driver is stuck on this program (leave the file out, or raise CLBAKE_COMPILE_TIMEOUT / --compile-timeout; 0 = no limit)"
                    ))
                } else {
                    Err(format!("the compile worker process died while compiling this program ({status}): the driver crashed on it"))
                }
            }
        }
    }

    fn finish(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

/// Runs `jobs` ((program, device) pairs) on `count` worker processes started with `cmd`,
/// calling `done` as each finishes. `Err` when no worker could be started at all (the
/// caller then compiles in-process).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    cmd: &WorkerCommand,
    count: usize,
    programs: &[ProgramSource],
    devices: &[DeviceInfo],
    jobs: &[(usize, usize)],
    settings: JobSettings,
    tuned: &[(usize, usize, TunedLaunch)],
    timeout: Option<Duration>,
    done: &(dyn Fn(usize, Result<Compiled, Failure>) + Sync),
) -> Result<(), String> {
    let scratch = Scratch::new().map_err(|e| format!("cannot create a scratch directory for the compile workers: {e}"))?;
    let dir = scratch.0.as_path();
    let job = dir.join("job.clbk");
    let mut w = BundleWriter::new().with_level(1).with_info(job_info(settings, devices));
    for p in programs {
        w.add_program(&p.spec());
    }
    for (p, d, launch) in tuned {
        if programs[*p].kernels.iter().any(|k| k.name == launch.kernel) {
            w.add_tuning(*p as u32, devices[*d].fingerprint.hash(), launch.clone());
        }
    }
    crate::atomic::write(&job, &w.to_bytes(), 0o600).map_err(|e| e.to_string())?;
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..jobs.len()).collect());
    let first = Worker::start(cmd, &job)?;
    let started: Mutex<Option<Worker>> = Mutex::new(Some(first));
    std::thread::scope(|s| {
        for slot in 0..count.max(1) {
            let (queue, started, job) = (&queue, &started, &job);
            s.spawn(move || {
                let mut worker = if slot == 0 { started.lock().unwrap_or_else(|e| e.into_inner()).take() } else { None };
                let mut restarts = 0;
                loop {
                    let Some(i) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else { break };
                    let (p, d) = jobs[i];
                    if worker.is_none() {
                        match Worker::start(cmd, job) {
                            Ok(w) => worker = Some(w),
                            Err(e) if slot > 0 || restarts >= RESTARTS => {
                                // This slot gives up; others (or slot 0) take the rest.
                                queue.lock().unwrap_or_else(|e| e.into_inner()).push_front(i);
                                if slot == 0 {
                                    let fail = |j: usize| Failure::of(&programs[jobs[j].0], &devices[jobs[j].1], e.clone());
                                    while let Some(j) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() {
                                        done(j, Err(fail(j)));
                                    }
                                }
                                break;
                            }
                            Err(_) => {
                                restarts += 1;
                                queue.lock().unwrap_or_else(|e| e.into_inner()).push_front(i);
                                continue;
                            }
                        }
                    }
                    let Some(w) = worker.as_mut() else { break };
                    let prog = &programs[p];
                    match w.run(p, d, timeout) {
                        Ok(()) => done(i, read_result(&result_path(job, p, d), prog, &devices[d])),
                        Err(why) => {
                            worker = None;
                            restarts += 1;
                            let f = Failure::of(prog, &devices[d], why);
                            done(i, Err(f));
                        }
                    }
                }
                if let Some(w) = worker {
                    w.finish();
                }
            });
        }
    });
    Ok(())
}

/// The workers' scratch directory (the job bundle, one result file per compile), removed
/// when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Self> {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("clbake-bake-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_info_round_trips() {
        let s = JobSettings { capture: true, warm: false, checks: true };
        let info = job_info(s, &[]);
        let (back, devices) = parse_job_info(&info).unwrap();
        assert_eq!((back.capture, back.warm, back.checks), (true, false, true));
        assert!(devices.is_empty());
        assert!(parse_job_info("something else").is_none());
    }
}
