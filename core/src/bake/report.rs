//! What a bake reports: one progress line per compile, and a summary with every failure,
//! warning and kernel without a typed method.

use super::job::{Compiled, Failure};
use crate::cl::DeviceInfo;
use crate::format::{tuning_columns, KernelRecord, TunedLaunch};
use std::time::Duration;

/// How one compile ended.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    /// Compiled (binary captured when capturing).
    Compiled(&'a Compiled),
    /// Failed.
    Failed(&'a Failure),
    /// A launch shape was tuned (before the compiles; `done` and `total` count shapes).
    Tuned(&'a TunedLaunch),
}

/// One finished compile, for progress output.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// Program name.
    pub program: &'a str,
    /// The device.
    pub device: &'a DeviceInfo,
    /// Compiles (and reused binaries) done so far, this one included.
    pub done: usize,
    /// Compiles and reused binaries in all.
    pub total: usize,
    /// How it ended.
    pub step: Step<'a>,
}

impl Progress<'_> {
    /// One line: `[done/total] PROGRAM DEVICE  TIME  SIZE, N launches warmed`, or
    /// `[done/total] PROGRAM DEVICE  FAILED: first error line`, or for a tuned shape
    /// `tuning PROGRAM KERNEL global [..] local [..] TIME (NULL TIME) on DEVICE`.
    pub fn line(&self) -> String {
        let head = format!("[{}/{}] {:<22} {:<28}", self.done, self.total, self.program, self.device.fingerprint.device_name);
        match self.step {
            Step::Compiled(c) => {
                let mut s = format!("{head} {:>7.0} ms", c.elapsed.as_secs_f64() * 1e3);
                if let Some(b) = &c.binary {
                    s += &format!("  {} B", b.len());
                }
                if c.warm.launches > 0 {
                    s += &format!(", {} launch{} warmed", c.warm.launches, if c.warm.launches == 1 { "" } else { "es" });
                }
                if c.kernels.is_empty() {
                    s += ", no kernels";
                }
                for skipped in &c.warm.skipped {
                    s += &format!("\n    launch skipped: {skipped}");
                }
                s
            }
            Step::Failed(f) => format!("{head}  FAILED: {}", f.first_error()),
            Step::Tuned(t) => format!(
                "tuning {} on {}",
                tuning_columns(self.program, &t.kernel, &t.global, t.local.as_deref(), t.best_ns, t.default_ns),
                self.device.fingerprint.device_name
            ),
        }
    }
}

/// A kernel that gets no typed method, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Untyped {
    /// Program name.
    pub program: String,
    /// Kernel name.
    pub kernel: String,
    /// The parameter at fault, when one is.
    pub param: Option<String>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Untyped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.param {
            Some(p) => {
                write!(f, "program `{}`, kernel `{}` gets no typed method: parameter `{p}`: {}", self.program, self.kernel, self.reason)
            }
            None => write!(f, "program `{}`, kernel `{}` gets no typed method: {}", self.program, self.kernel, self.reason),
        }
    }
}

/// Every kernel of program `program` that gets no typed method.
pub fn untyped_kernels(program: &str, kernels: &[KernelRecord]) -> Vec<Untyped> {
    kernels
        .iter()
        .filter_map(|k| {
            k.why_untyped().map(|(param, reason)| Untyped { program: program.to_string(), kernel: k.name.clone(), param, reason })
        })
        .collect()
}

/// What a bake did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Programs in the bundle.
    pub programs: usize,
    /// Devices baked for (descriptions).
    pub devices: Vec<String>,
    /// Compiles run.
    pub compiled: usize,
    /// Binaries taken from the previous bundle instead of compiling.
    pub reused: usize,
    /// Binaries merged from precompiled bundles.
    pub precompiled: usize,
    /// Programs that failed (discovery problems and compile errors), each once per device.
    pub failures: Vec<Failure>,
    /// Warnings: stale precompiled entries, launches that did not run, includes kept.
    pub warnings: Vec<String>,
    /// Kernels without a typed method.
    pub untyped: Vec<Untyped>,
    /// Declared launches run.
    pub warmed: usize,
    /// Known answers recorded.
    pub answers: usize,
    /// Tuning records measured.
    pub tunings: usize,
    /// Wall time of the bake.
    pub elapsed: Duration,
}

impl Report {
    /// The summary line: `14 programs: 2 compiled, 12 reused, 0 failed in 1.2 s`.
    pub fn summary(&self) -> String {
        let failed: std::collections::BTreeSet<&str> = self.failures.iter().map(|f| f.program.as_str()).collect();
        format!(
            "{} program(s): {} compiled, {} reused from the previous bake, {} from precompiled bundles, {} failed, in {:.1} s",
            self.programs,
            self.compiled,
            self.reused,
            self.precompiled,
            failed.len(),
            self.elapsed.as_secs_f64()
        )
    }
}
