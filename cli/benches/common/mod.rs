//! Helpers shared by the bench binaries: where things live, statistics over runs, running
//! child processes with a clean environment, and writing results for the report.
//!
//! Every bench writes `<target>/bench/results/<name>.json`; `benches/report.py` turns those
//! into BENCHMARKS.md and the chart. Start-up is per process, so start-up figures come from
//! fresh processes, several runs per configuration, interleaved so that a burst of load on
//! the (shared) machine hits every configuration alike.
#![allow(dead_code)] // each bench binary uses a different part

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A boxed error with a message that says what failed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result of a bench step.
pub type R<T> = Result<T, Error>;

/// The repository root (the workspace; the benches belong to cli/).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).expect("the workspace root")
}

/// The clbake-cli package (kernels/, models/).
pub fn cli_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The cargo target directory: `CARGO_TARGET_DIR`, else `<repo>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo().join("target"))
}

/// `<target>/bench`: generated inputs (synthetic bundles, models) and scratch directories.
pub fn bench_dir() -> PathBuf {
    target_dir().join("bench")
}

/// `<target>/bench/results`.
pub fn results_dir() -> PathBuf {
    bench_dir().join("results")
}

/// Runs per configuration: `BENCH_RUNS` (default 5, at least 1).
pub fn runs() -> usize {
    env_usize("BENCH_RUNS", 5).max(1)
}

/// An integer from the environment, or `default`.
pub fn env_usize(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// Whether section `name` is selected by `BENCH_SECTIONS` (comma separated; unset = all).
pub fn section(name: &str) -> bool {
    match std::env::var("BENCH_SECTIONS") {
        Ok(v) if !v.trim().is_empty() => v.split(',').any(|s| s.trim() == name),
        _ => true,
    }
}

/// Minimum, median and maximum of a set of samples.
#[derive(Clone, Debug)]
pub struct Stat {
    /// The samples, in the order taken.
    pub samples: Vec<f64>,
    /// Smallest sample.
    pub min: f64,
    /// Median (mean of the two middle samples for an even count).
    pub median: f64,
    /// Largest sample.
    pub max: f64,
}

impl Stat {
    /// Statistics of `samples` (all NaN for none).
    pub fn of(samples: &[f64]) -> Stat {
        let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        s.sort_by(f64::total_cmp);
        let median = match s.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => s[n / 2],
            n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
        };
        Stat { samples: samples.to_vec(), min: s.first().copied().unwrap_or(f64::NAN), median, max: s.last().copied().unwrap_or(f64::NAN) }
    }

    /// `{"min", "median", "max", "n", "samples"}`.
    pub fn json(&self) -> Value {
        json!({ "min": self.min, "median": self.median, "max": self.max, "n": self.samples.len(), "samples": self.samples })
    }

    /// `min / median` for printing.
    pub fn show(&self, unit: &str) -> String {
        format!("{} / {} {unit}", fmt(self.min), fmt(self.median))
    }
}

/// A number with about three significant digits.
pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Milliseconds since `t`.
pub fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Environment variables that change what clbake or the OpenCL drivers do; removed from
/// every child so that only what a configuration sets applies.
const CLEARED: &[&str] = &[
    "CLBAKE_EMBEDDED",
    "CLBAKE_JOBS",
    "CLBAKE_CACHE_DIR",
    "CLBAKE_DEVICE",
    "CLBAKE_BAKE",
    "POCL_KERNEL_CACHE",
    "POCL_CACHE_DIR",
    "POCL_DEVICES",
    "POCL_WORK_GROUP_SPECIALIZATION",
    "CUDA_CACHE_DISABLE",
    "CUDA_CACHE_PATH",
    "RUST_LOG",
];

/// A command for `exe` with the variables in [`CLEARED`] removed and `env` set.
pub fn command(exe: &Path, args: &[&str], env: &[(String, String)]) -> Command {
    let mut c = Command::new(exe);
    c.args(args);
    for v in CLEARED {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Runs `c`, which must exit 0 and print one JSON value on stdout; returns it and the
/// wall time from spawn to exit in milliseconds.
pub fn run_json(c: &mut Command) -> R<(Value, f64)> {
    let t = Instant::now();
    let out = c.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {c:?}: {e}"))?;
    let wall = ms(t);
    if !out.status.success() {
        return Err(format!("{c:?} failed with {}\nstderr:\n{}", out.status, tail(&String::from_utf8_lossy(&out.stderr), 3000)).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).map_err(|e| format!("{c:?} printed no JSON ({e}): {}", tail(&text, 2000)))?;
    Ok((v, wall))
}

/// Runs `c` to completion; it must exit 0. Returns stdout and stderr.
pub fn run_ok(c: &mut Command) -> R<(String, String)> {
    let out = c.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {c:?}: {e}"))?;
    let (so, se) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    if !out.status.success() {
        return Err(format!("{c:?} failed with {}\nstdout:\n{}\nstderr:\n{}", out.status, tail(&so, 2000), tail(&se, 4000)).into());
    }
    Ok((so, se))
}

/// The last `n` bytes of `s` (on a char boundary).
pub fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Writes `value` to `<results>/<name>.json`, pretty-printed.
pub fn write_result(name: &str, value: &Value) -> R<PathBuf> {
    let dir = results_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(path)
}

/// A fresh, empty directory `<bench>/scratch/<name>` (removed first if it exists).
pub fn fresh_dir(name: &str) -> R<PathBuf> {
    let dir = bench_dir().join("scratch").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // The clbake disk cache refuses directories writable by group or others.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

/// A string pair, for building environments.
pub fn kv(k: &str, v: impl AsRef<std::ffi::OsStr>) -> (String, String) {
    (k.to_string(), v.as_ref().to_string_lossy().into_owned())
}

/// Peak and current memory of this process from `/proc/self/status`, in KiB:
/// `VmHWM`, `VmRSS`, `RssAnon`, `RssFile` (0 where not available).
pub fn memory_kib() -> Value {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
            .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    json!({ "vm_hwm": field("VmHWM"), "vm_rss": field("VmRSS"), "rss_anon": field("RssAnon"), "rss_file": field("RssFile") })
}
