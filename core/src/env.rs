//! Every `CLBAKE_*` environment variable, in one table, with one parser per kind of value.
//!
//! Build scripts, the runtime, the self-bake and the `clbake` tool read the environment only
//! through this module, so a value means the same everywhere and an unparsable one is an
//! error that names the variable, its value and what is accepted — never silently ignored.
//! [`VARS`] feeds `clbake --help`, and a test checks that README.md and docs/GUIDE.md list
//! every variable.

use std::fmt;

/// Where a variable is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// By build scripts (`clbake_core::build`): changes what is baked. Cargo re-runs the
    /// build script when it changes.
    Build,
    /// At run time, by applications and the `clbake` tool.
    Run,
    /// Both.
    Both,
    /// Only with clbake's `test-hooks` feature (clbake's own fault-injection tests).
    Test,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Build => "build",
            Scope::Run => "run",
            Scope::Both => "build, run",
            Scope::Test => "tests",
        })
    }
}

/// One environment variable clbake reads.
#[derive(Clone, Copy, Debug)]
pub struct Var {
    /// Its name.
    pub name: &'static str,
    /// Where it is read.
    pub scope: Scope,
    /// The values accepted.
    pub values: &'static str,
    /// What it does.
    pub effect: &'static str,
}

/// The bake mode of a build script.
pub const BAKE: &str = "CLBAKE_BAKE";
/// zstd level of bundles.
pub const ZSTD_LEVEL: &str = "CLBAKE_ZSTD_LEVEL";
/// Parallel compiles and loads.
pub const JOBS: &str = "CLBAKE_JOBS";
/// Longest time one compile in a worker process may take.
pub const COMPILE_TIMEOUT: &str = "CLBAKE_COMPILE_TIMEOUT";
/// Running declared launches before capturing binaries.
pub const WARM: &str = "CLBAKE_WARM";
/// Known answers: recording at bake time, replaying at run time.
pub const CHECK: &str = "CLBAKE_CHECK";
/// Tuning in the self-bake.
pub const TUNE: &str = "CLBAKE_TUNE";
/// Timed launches per tuning candidate.
pub const TUNE_REPS: &str = "CLBAKE_TUNE_REPS";
/// Most tuning candidates per shape.
pub const TUNE_CANDIDATES: &str = "CLBAKE_TUNE_CANDIDATES";
/// The device index.
pub const DEVICE: &str = "CLBAKE_DEVICE";
/// Whether embedded binaries are tried.
pub const EMBEDDED: &str = "CLBAKE_EMBEDDED";
/// The disk cache directory.
pub const CACHE_DIR: &str = "CLBAKE_CACHE_DIR";
/// Most bytes the disk cache may hold.
pub const CACHE_MAX_BYTES: &str = "CLBAKE_CACHE_MAX_BYTES";
/// Days after which unused cache entries are pruned.
pub const CACHE_MAX_AGE_DAYS: &str = "CLBAKE_CACHE_MAX_AGE_DAYS";
/// Where the one-line load summary goes when no logger is installed.
pub const LOG: &str = "CLBAKE_LOG";
/// Test hook: abort after a crash sentinel is written.
pub const TEST_ABORT_AFTER_SENTINEL: &str = "CLBAKE_TEST_ABORT_AFTER_SENTINEL";
/// Test hook: fail the demo's first enqueue of a program.
pub const TEST_FAIL_ENQUEUE: &str = "CLBAKE_TEST_FAIL_ENQUEUE";
/// Internal: set by clbake on the compile worker processes it starts.
pub const BAKE_WORKER: &str = "CLBAKE_BAKE_WORKER";

/// Every variable, in the order the docs list them.
pub const VARS: &[Var] = &[
    Var { name: BAKE, scope: Scope::Build, values: "auto, off, host", effect: "`off` embeds sources only; `host` fails the build without a device; `auto` (default) bakes for the devices found" },
    Var { name: ZSTD_LEVEL, scope: Scope::Build, values: "1 to 22", effect: "zstd level of the bundle (default 19)" },
    Var { name: JOBS, scope: Scope::Both, values: "a number, 0 = automatic", effect: "compile workers at build time (default: one process per core where the driver compiles one program at a time); threads loading programs at run time" },
    Var { name: COMPILE_TIMEOUT, scope: Scope::Both, values: "seconds, 0 = no limit", effect: "a compile in a worker process that takes longer fails (the driver is stuck on it) instead of stalling the bake (default 600); compiles in the baking process itself cannot be stopped" },
    Var { name: WARM, scope: Scope::Build, values: "on, off", effect: "`off` skips running the declared `// clbake:launch` lines before capturing binaries" },
    Var { name: CHECK, scope: Scope::Both, values: "on, off", effect: "known answers: `off` records none at build time, and replays none at run time" },
    Var { name: TUNE, scope: Scope::Run, values: "on, off", effect: "self-bake (`--clbake-bake`): also measure local work sizes, as `clbake bake --tune`" },
    Var { name: TUNE_REPS, scope: Scope::Run, values: "a number >= 1", effect: "self-bake tuning: timed launches per candidate (default 5)" },
    Var { name: TUNE_CANDIDATES, scope: Scope::Run, values: "a number >= 1", effect: "self-bake tuning: most local sizes tried per shape (default 32)" },
    Var { name: DEVICE, scope: Scope::Run, values: "a device index (see `clbake devices`)", effect: "the device apps and `clbake demo` use (default: the first GPU, else device 0)" },
    Var { name: EMBEDDED, scope: Scope::Run, values: "on, off", effect: "`off` ignores embedded binaries (measurements)" },
    Var { name: CACHE_DIR, scope: Scope::Run, values: "a directory, or off", effect: "the disk cache of programs compiled at start-up (default `$XDG_CACHE_HOME/clbake/<exe>`, else `~/.cache/clbake/<exe>`); `off` disables it" },
    Var { name: CACHE_MAX_BYTES, scope: Scope::Run, values: "a size: 64M, 1G, 500000", effect: "the disk cache is pruned to this size when an entry is written (default 256M)" },
    Var { name: CACHE_MAX_AGE_DAYS, scope: Scope::Run, values: "a number of days", effect: "entries not used for this long are pruned when an entry is written (default 30)" },
    Var { name: LOG, scope: Scope::Run, values: "stderr, off", effect: "without a `log` logger installed, a load that compiled from source prints one summary line on stderr; `off` silences it" },
    Var { name: TEST_ABORT_AFTER_SENTINEL, scope: Scope::Test, values: "embedded, cache, source, parallel, any", effect: "abort as a crashing driver would, right after a crash sentinel is written" },
    Var { name: TEST_FAIL_ENQUEUE, scope: Scope::Test, values: "a program name", effect: "the demo's first enqueue of that program fails as a stale binary does" },
    Var { name: BAKE_WORKER, scope: Scope::Test, values: "(set by clbake)", effect: "internal: marks a compile worker process started by a bake" },
];

/// An environment variable holds a value clbake cannot use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?} is not valid: expected {accepted}")]
pub struct EnvError {
    /// The variable.
    pub var: &'static str,
    /// The value found.
    pub value: String,
    /// What is accepted.
    pub accepted: String,
}

fn accepted(var: &'static str) -> String {
    VARS.iter().find(|v| v.name == var).map_or_else(|| "another value".to_string(), |v| v.values.to_string())
}

fn err(var: &'static str, value: &str) -> EnvError {
    EnvError { var, value: value.to_string(), accepted: accepted(var) }
}

/// The variable's value, trimmed; `None` when unset or empty.
pub fn text(var: &'static str) -> Option<String> {
    std::env::var(var).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Parses an on/off value: `1`, `on`, `true`, `yes` / `0`, `off`, `false`, `no`.
pub fn parse_flag(var: &'static str, value: &str) -> Result<bool, EnvError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        _ => Err(EnvError { var, value: value.to_string(), accepted: "on or off (1/0, true/false, yes/no)".into() }),
    }
}

/// An on/off variable; `None` when unset.
pub fn flag(var: &'static str) -> Result<Option<bool>, EnvError> {
    text(var).map(|v| parse_flag(var, &v)).transpose()
}

/// A number; `None` when unset.
pub fn number<T: std::str::FromStr>(var: &'static str) -> Result<Option<T>, EnvError> {
    text(var).map(|v| v.parse::<T>().map_err(|_| err(var, &v))).transpose()
}

/// One of `choices`; `None` when unset.
pub fn choice(var: &'static str, choices: &[&'static str]) -> Result<Option<&'static str>, EnvError> {
    let Some(v) = text(var) else { return Ok(None) };
    let lower = v.to_ascii_lowercase();
    choices.iter().find(|c| **c == lower).copied().map(Some).ok_or_else(|| EnvError { var, value: v, accepted: choices.join(", ") })
}

/// Parses a size in bytes: a number with an optional `K`, `M`, `G` suffix (powers of 1024).
pub fn parse_size(var: &'static str, value: &str) -> Result<u64, EnvError> {
    let v = value.trim();
    let (digits, mult) = match v.char_indices().last() {
        Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&v[..i], 1u64 << 10),
        Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&v[..i], 1u64 << 20),
        Some((i, c)) if c.eq_ignore_ascii_case(&'g') => (&v[..i], 1u64 << 30),
        _ => (v, 1),
    };
    digits.trim().parse::<u64>().ok().and_then(|n| n.checked_mul(mult)).ok_or_else(|| err(var, value))
}

/// A size in bytes; `None` when unset.
pub fn size(var: &'static str) -> Result<Option<u64>, EnvError> {
    text(var).map(|v| parse_size(var, &v)).transpose()
}

/// The variables a build script reads, for `cargo::rerun-if-env-changed`, with the
/// driver-selection variables that change which devices a bake sees.
pub fn build_tracked() -> impl Iterator<Item = &'static str> {
    VARS.iter().filter(|v| matches!(v.scope, Scope::Build | Scope::Both)).map(|v| v.name).chain([
        "OCL_ICD_VENDORS",
        "OCL_ICD_FILENAMES",
        "OPENCL_DYLIB_PATH",
        "POCL_DEVICES",
        "POCL_CACHE_DIR",
    ])
}

/// The table as text lines for `--help` (`NAME=VALUES  effect`), for one scope or all.
pub fn help_lines() -> Vec<String> {
    VARS.iter().filter(|v| v.scope != Scope::Test).map(|v| format!("  {:<26} {} [{}]: {}", v.name, v.values, v.scope, v.effect)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_numbers_sizes_and_their_errors() {
        assert_eq!(parse_flag(WARM, "Off"), Ok(false));
        assert_eq!(parse_flag(WARM, "1"), Ok(true));
        let e = parse_flag(WARM, "maybe").unwrap_err();
        assert_eq!(e.to_string(), "CLBAKE_WARM=\"maybe\" is not valid: expected on or off (1/0, true/false, yes/no)");
        assert_eq!(parse_size(CACHE_MAX_BYTES, "64M"), Ok(64 << 20));
        assert_eq!(parse_size(CACHE_MAX_BYTES, "1g"), Ok(1 << 30));
        assert_eq!(parse_size(CACHE_MAX_BYTES, "500000"), Ok(500_000));
        assert!(parse_size(CACHE_MAX_BYTES, "lots").unwrap_err().to_string().contains("64M, 1G"));
    }

    #[test]
    fn every_variable_is_documented_once() {
        let mut names: Vec<&str> = VARS.iter().map(|v| v.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), VARS.len());
        assert!(VARS.iter().all(|v| v.name.starts_with("CLBAKE_") && !v.effect.is_empty() && !v.values.is_empty()));
        assert!(build_tracked().any(|v| v == BAKE) && !build_tracked().any(|v| v == DEVICE));
    }
}
