//! The build-script side of clbake: discover kernels, bake them, write the bundle to `OUT_DIR`.
//!
//! A user crate's whole `build.rs`:
//! ```no_run
//! clbake_core::build::bake_kernels("kernels");
//! ```
//! Or, for a kernel library written for a C++ runtime, kept as it is:
//! ```no_run
//! clbake_core::build::Builder::new("cl_kernels")
//!     .with_include_dir("cl_kernels")                       // #include <helpers.h>
//!     .with_define("DATA_TYPE", "float")                    // -D for every program
//!     .with_program_options("imgproc/boxFilter*", "-D T=uchar -D cn=1")
//!     .exclude("experimental/*")
//!     .keep_going(true)                                     // bake what compiles, warn about the rest
//!     .run_or_exit();
//! ```
//! What it does depends on the target and on `CLBAKE_BAKE`:
//!
//! | situation | result |
//! | --- | --- |
//! | TARGET == HOST, an OpenCL device present | binaries for every device found, plus fresh precompiled ones |
//! | TARGET != HOST (cross build) | sources, fresh binaries from `kernels/precompiled/*.clbk`; every program still compile-checked on a host device if one exists |
//! | no OpenCL runtime or device | sources only, with a cargo warning |
//! | `CLBAKE_BAKE=off` | sources (and precompiled binaries) only, no compiling |
//! | `CLBAKE_BAKE=host` | like the first row, but a missing device fails the build |
//!
//! A program that fails to compile fails the build with every failing program's file,
//! options and driver log (all of them, in one run); [`Builder::keep_going`] bakes the
//! others and makes the failures warnings. Every kernel without a typed method is a cargo
//! warning naming the kernel, the parameter and the reason ([`Builder::deny_untyped`] makes
//! it an error).
//!
//! Bakes are incremental: a program whose key (name, options, tokens of its source — not
//! comments or whitespace) and device are unchanged keeps its binary from the previous
//! bake. On CPU devices compiles run in worker processes, one per core (PoCL compiles one
//! program at a time per process); GPU drivers compile in the build script's own process
//! (`CLBAKE_JOBS` overrides both). The build script re-runs itself as the worker, so call
//! the builder first thing in `main`.
//!
//! Before a binary is captured, every launch the sources declare (`// clbake:launch` lines,
//! see [`crate::clc::directives`]) runs once on the device and its outputs are recorded (a
//! known answer the runtime replays once per device). [`Builder::with_warm`]`(false)` or
//! `CLBAKE_WARM=off` turns that off.

use crate::bake::{self, BakeError, Plan, Progress, Report, WorkerCommand};
use crate::cl::{self, ClError};
use crate::env::{self, EnvError};
use crate::source::{self, DiscoverOptions, SourceError};
use std::path::{Path, PathBuf};

/// Why a build-script bake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The kernel directory cannot be read, or an option or pattern is wrong.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Programs failed to compile, or OpenCL failed (boxed: it is large, and rare).
    #[error(transparent)]
    Bake(Box<BakeError>),
    /// A `CLBAKE_*` variable holds a value that cannot be used.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// `CLBAKE_BAKE=host` but no device to bake for.
    #[error("CLBAKE_BAKE=host but no OpenCL device is usable: {0}")]
    NoDevice(ClError),
    /// Kernels without a typed method, with [`Builder::deny_untyped`].
    #[error("{} kernel(s) get no typed method:\n{}", .0.len(), .0.iter().map(|u| format!("  {u}\n")).collect::<String>())]
    Untyped(Vec<bake::Untyped>),
    /// Writing the bundle failed.
    #[error(transparent)]
    Write(#[from] crate::atomic::WriteError),
}

impl From<BakeError> for BuildError {
    fn from(e: BakeError) -> Self {
        BuildError::Bake(Box::new(e))
    }
}

/// What a bake did, for logs and tests.
#[derive(Clone, Debug, Default)]
pub struct BuildSummary {
    /// Where the bundle was written.
    pub bundle: PathBuf,
    /// The bake's report.
    pub report: Report,
}

/// Configures a build-script bake. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Builder {
    kernels_dir: PathBuf,
    precompiled_dir: Option<PathBuf>,
    name: String,
    discover: DiscoverOptions,
    warm: bool,
    checks: bool,
    keep_going: bool,
    deny_untyped: bool,
    mode: Option<&'static str>,
}

/// One-shot bake for a build script: [`Builder::new`]`(dir).`[`run_or_exit`](Builder::run_or_exit)`()`.
pub fn bake_kernels(dir: impl AsRef<Path>) {
    Builder::new(dir).run_or_exit();
}

/// Whether this process is a build script run by cargo: `OUT_DIR` alone is not enough
/// (cargo also sets it for the tests and `cargo run` of a package that has a build
/// script), but `TARGET`, `HOST` and `NUM_JOBS` are set for build scripts only.
fn in_build_script() -> bool {
    ["OUT_DIR", "TARGET", "HOST", "NUM_JOBS"].iter().all(|v| std::env::var_os(v).is_some())
}

/// `cargo::rerun-if-changed` for `path`, when running inside a build script.
pub(crate) fn rerun_if_changed(path: &Path) {
    if in_build_script() {
        build_rs::output::rerun_if_changed(path);
    }
}

impl Builder {
    /// A bake of the `.cl` files under `kernels_dir` (relative to the crate's manifest dir),
    /// with precompiled bundles from `kernels_dir/precompiled`.
    pub fn new(kernels_dir: impl AsRef<Path>) -> Self {
        let dir = kernels_dir.as_ref();
        let dir = if dir.is_relative() {
            std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default().join(dir)
        } else {
            dir.to_path_buf()
        };
        Builder {
            precompiled_dir: Some(dir.join("precompiled")),
            kernels_dir: dir,
            name: "kernels".into(),
            discover: DiscoverOptions::default(),
            warm: true,
            checks: true,
            keep_going: false,
            deny_untyped: false,
            mode: None,
        }
    }

    fn resolve(&self, dir: PathBuf) -> PathBuf {
        if dir.is_relative() {
            std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default().join(dir)
        } else {
            dir
        }
    }

    /// Adds an include directory (relative to the crate's manifest dir) for `#include <...>`
    /// and `#include "..."`. Headers are expanded into the bundle; the directory never
    /// reaches the build options.
    pub fn with_include_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = self.resolve(dir.into());
        self.discover.include_dirs.push(dir);
        self
    }

    /// Adds `-D name=value` to every program (`value` empty: `-D name`). The name must be
    /// an identifier and the value one word; the bake fails otherwise.
    pub fn with_define(mut self, name: &str, value: &str) -> Self {
        self.discover.defines.push((name.into(), value.into()));
        self
    }

    /// Adds build options to the programs whose name or relative file path matches
    /// `name_or_glob` (`imgproc/boxFilter`, `imgproc/*`, `nchw/*.cl`). Any option but `-I`.
    pub fn with_program_options(mut self, name_or_glob: &str, options: &str) -> Self {
        self.discover.program_options.push((name_or_glob.into(), options.into()));
        self
    }

    /// Leaves out the files whose relative path matches `glob` (`experimental/*`, `*_mmul.cl`).
    pub fn exclude(mut self, glob: &str) -> Self {
        self.discover.exclude.push(glob.into());
        self
    }

    /// Bakes only the files whose relative path matches `glob` (repeatable; default: all).
    pub fn only(mut self, glob: &str) -> Self {
        self.discover.only.push(glob.into());
        self
    }

    /// Declares a build variant `name` with `options` for the files matching `glob`, as a
    /// `// clbake:variant` line in each would.
    pub fn with_variant(mut self, glob: &str, name: &str, options: &str) -> Self {
        self.discover.variants.push((glob.into(), name.into(), options.into()));
        self
    }

    /// Uses another directory of precompiled bundles (or none).
    pub fn with_precompiled_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.precompiled_dir = dir.map(|d| self.resolve(d));
        self
    }

    /// Names the bundle (`OUT_DIR/clbake/NAME.clbk`, `include_kernels!(NAME)`); default `kernels`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Whether to run the declared launches before capturing binaries (default `true`;
    /// `CLBAKE_WARM=off` also turns it off).
    pub fn with_warm(mut self, warm: bool) -> Self {
        self.warm = warm;
        self
    }

    /// Whether to record known answers of the declared launches (default `true`;
    /// `CLBAKE_CHECK=off` also turns it off).
    pub fn with_checks(mut self, checks: bool) -> Self {
        self.checks = checks;
        self
    }

    /// Bake the programs that compile and make the others warnings, instead of failing the
    /// build (default `false`).
    pub fn keep_going(mut self, on: bool) -> Self {
        self.keep_going = on;
        self
    }

    /// Sets the bake mode (`auto`, `off`, `host`) instead of reading `CLBAKE_BAKE`.
    pub fn with_bake_mode(mut self, mode: &str) -> Self {
        self.mode = ["auto", "off", "host"].into_iter().find(|m| *m == mode);
        self
    }

    /// Make every kernel without a typed method a build error instead of a warning.
    pub fn deny_untyped(mut self, on: bool) -> Self {
        self.deny_untyped = on;
        self
    }

    /// Runs the bake; on failure prints the error for cargo and exits with status 1. When
    /// the build script runs as a compile worker of its own bake, serves and exits.
    pub fn run_or_exit(&self) -> BuildSummary {
        if let Some(code) = bake::serve_if_worker() {
            std::process::exit(code);
        }
        match self.run() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("clbake: {e}");
                for line in e.to_string().lines().take(200) {
                    build_rs::output::error(line);
                }
                std::process::exit(1);
            }
        }
    }

    /// Runs the bake inside a build script (reads `OUT_DIR`, `TARGET`, `HOST`).
    pub fn run(&self) -> Result<BuildSummary, BuildError> {
        if let Some(code) = bake::serve_if_worker() {
            std::process::exit(code);
        }
        for var in env::build_tracked() {
            build_rs::output::rerun_if_env_changed(var);
        }
        let out_dir = build_rs::input::out_dir().join("clbake");
        std::fs::create_dir_all(&out_dir).map_err(|source| crate::atomic::WriteError { op: "create", path: out_dir.clone(), source })?;
        let out = out_dir.join(format!("{}.clbk", self.name));
        isolate_pocl_cache(&out_dir.join("pocl-cache"));
        let cross = build_rs::input::target() != build_rs::input::host();
        build_rs::output::rerun_if_changed(&self.kernels_dir);
        let summary = self.bake_to(&out, cross, WorkerCommand::this_executable(&[]), &|p| {
            // Cargo shows build-script stdout only with -vv; keep a progress line there.
            println!("clbake: {}", p.line());
        })?;
        let r = &summary.report;
        println!("clbake: {}", r.summary());
        for w in r.warnings.iter().chain(r.failures.iter().map(|f| f.to_string()).collect::<Vec<_>>().iter()) {
            for line in w.lines().take(20) {
                build_rs::output::warning(line);
            }
        }
        for u in &r.untyped {
            build_rs::output::warning(&u.to_string());
        }
        Ok(summary)
    }

    /// The bake itself, outside of cargo's environment: writes the bundle to `out` (whose
    /// previous contents, when they are a bundle, serve for an incremental bake). `cross`
    /// skips capturing host binaries; `workers` starts compile worker processes (the
    /// executable must call [`bake::serve_if_worker`] first).
    pub fn bake_to(
        &self,
        out: &Path,
        cross: bool,
        workers: Option<WorkerCommand>,
        progress: &(dyn Fn(Progress<'_>) + Sync),
    ) -> Result<BuildSummary, BuildError> {
        let found = source::discover(&self.kernels_dir, &self.discover)?;
        for p in &found.programs {
            for input in &p.inputs {
                rerun_if_changed(input);
            }
        }
        let mode = match self.mode {
            Some(m) => m,
            None => env::choice(env::BAKE, &["auto", "off", "host"])?.unwrap_or("auto"),
        };
        let mut plan = Plan {
            settings: bake::JobSettings {
                capture: !cross,
                warm: self.warm && env::flag(env::WARM)?.unwrap_or(true),
                checks: self.checks && env::flag(env::CHECK)?.unwrap_or(true),
            },
            keep_going: self.keep_going,
            jobs: env::number(env::JOBS)?.unwrap_or(0),
            workers,
            compile_timeout: bake::compile_timeout(env::number(env::COMPILE_TIMEOUT)?),
            previous: std::fs::read(out).ok(),
            precompiled_dir: self.precompiled_dir.clone(),
            zstd_level: env::number(env::ZSTD_LEVEL)?.unwrap_or(crate::format::DEFAULT_LEVEL),
            ..Plan::default()
        };
        let mut warnings = Vec::new();
        if mode == "off" {
            warnings.push("CLBAKE_BAKE=off: embedding kernel sources only".to_string());
        } else {
            match cl::devices().and_then(|d| if d.is_empty() { Err(ClError::NoDevice) } else { Ok(d) }) {
                Ok(found) => plan.devices = found,
                Err(e) if mode == "host" => return Err(BuildError::NoDevice(e)),
                Err(e) => warnings.push(format!("no kernels compiled at build time, the binary will compile them at start-up: {e}")),
            }
        }
        let baked = bake::bake(&found.programs, &found.failures, &plan, progress)?;
        let mut report = baked.report;
        report.warnings.splice(0..0, warnings);
        if self.deny_untyped && !report.untyped.is_empty() {
            return Err(BuildError::Untyped(report.untyped));
        }
        // Rewrite only on change, so an unchanged bake does not force a relink.
        if std::fs::read(out).ok().as_deref() != Some(&baked.bundle[..]) {
            crate::atomic::write(out, &baked.bundle, 0o644)?;
        }
        Ok(BuildSummary { bundle: out.to_path_buf(), report })
    }
}

/// Points PoCL at a fresh, empty kernel cache for this process (unless the user chose one
/// with `POCL_CACHE_DIR`). PoCL puts into a program binary whatever launch-size specialised
/// work-group functions its cache holds; with the developer's own cache that would make the
/// embedded bytes depend on which programs happened to run on this machine. Build scripts
/// and `clbake bake` both call it before OpenCL is loaded.
pub fn isolate_pocl_cache(dir: &Path) {
    if std::env::var_os("POCL_CACHE_DIR").is_some() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    if std::fs::create_dir_all(dir).is_ok() {
        // Called before OpenCL is loaded and before any thread is started.
        std::env::set_var("POCL_CACHE_DIR", dir);
    }
}
