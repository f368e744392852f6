//! The build-script side of clbake: discover kernels, bake them, write the bundle to `OUT_DIR`.
//!
//! A user crate's whole `build.rs`:
//! ```no_run
//! fn main() {
//!     clbake_core::build::bake_kernels("kernels");
//! }
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
//! A kernel that fails to compile fails the build with the driver's log (file and line).
//!
//! Before a binary is captured, every launch the sources declare (`// clbake:launch` lines,
//! see [`crate::tune`]) runs once on the device, so that code a
//! driver compiles at a kernel's first launch (PoCL: a work-group function per local size)
//! is in the binary and the application's first launch does not compile it.
//! [`Builder::with_warm`]`(false)` or `CLBAKE_WARM=0` turns that off.

use crate::cl::{self, BakeOptions, BakeProgress, ClError};
use crate::format::{Bundle, FormatError};
use crate::source::{self, DiscoverOptions, SourceError};
use std::path::{Path, PathBuf};

/// Every environment variable that changes what a build bakes.
pub const TRACKED_ENV: &[&str] =
    &["CLBAKE_BAKE", "CLBAKE_ZSTD_LEVEL", "CLBAKE_JOBS", "CLBAKE_WARM", "OCL_ICD_VENDORS", "OPENCL_DYLIB_PATH", "POCL_DEVICES", "POCL_CACHE_DIR"];

/// Why a build-script bake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Kernel sources could not be read or expanded.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A kernel failed to compile, or OpenCL failed.
    #[error(transparent)]
    Cl(#[from] ClError),
    /// A precompiled bundle is unreadable.
    #[error("{path}: {source}")]
    Precompiled {
        /// The bundle file.
        path: PathBuf,
        /// What is wrong with it.
        source: FormatError,
    },
    /// `CLBAKE_BAKE` holds an unknown value.
    #[error("CLBAKE_BAKE={0:?} is not one of: off, host, auto")]
    BadMode(String),
    /// `CLBAKE_BAKE=host` but no device to bake for.
    #[error("CLBAKE_BAKE=host but no OpenCL device is usable: {0}")]
    NoDevice(ClError),
    /// Writing the bundle failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// Output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What a bake did, for logs and tests.
#[derive(Clone, Debug, Default)]
pub struct BuildSummary {
    /// Where the bundle was written.
    pub bundle: PathBuf,
    /// Number of programs.
    pub programs: usize,
    /// Binaries compiled on this machine.
    pub baked: usize,
    /// Binaries taken from precompiled bundles.
    pub precompiled: usize,
    /// Declared launches run before capturing binaries (all programs and devices).
    pub warmed: usize,
    /// Warnings emitted (stale precompiled entries, skipped bake).
    pub warnings: Vec<String>,
}

/// Configures a build-script bake. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Builder {
    kernels_dir: PathBuf,
    precompiled_dir: Option<PathBuf>,
    name: String,
    discover: DiscoverOptions,
    warm: bool,
}

/// One-shot bake for a build script: [`Builder::new`]`(dir).`[`run_or_exit`](Builder::run_or_exit)`()`.
pub fn bake_kernels(dir: impl AsRef<Path>) {
    Builder::new(dir).run_or_exit();
}

impl Builder {
    /// A bake of the `.cl` files in `kernels_dir` (relative to the crate's manifest dir),
    /// with precompiled bundles from `kernels_dir/precompiled`.
    pub fn new(kernels_dir: impl AsRef<Path>) -> Self {
        let dir = kernels_dir.as_ref();
        let dir = if dir.is_relative() {
            std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default().join(dir)
        } else {
            dir.to_path_buf()
        };
        Builder { precompiled_dir: Some(dir.join("precompiled")), kernels_dir: dir, name: "kernels".into(), discover: DiscoverOptions::default(), warm: true }
    }

    /// Adds an include directory for `#include "..."`.
    pub fn with_include_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.discover.include_dirs.push(dir.into());
        self
    }

    /// Adds `-D name=value` to every program.
    pub fn with_define(mut self, name: &str, value: &str) -> Self {
        self.discover.defines.push((name.into(), value.into()));
        self
    }

    /// Uses another directory of precompiled bundles (or none).
    pub fn with_precompiled_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.precompiled_dir = dir;
        self
    }

    /// Names the bundle (`OUT_DIR/clbake/NAME.clbk`, `include_kernels!(NAME)`); default `kernels`.
    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Whether to run the declared launches before capturing binaries (default `true`;
    /// `CLBAKE_WARM=0` also turns it off). See the [module docs](self).
    pub fn with_warm(mut self, warm: bool) -> Self {
        self.warm = warm;
        self
    }

    /// Runs the bake; on failure prints the error for cargo and exits with status 1.
    pub fn run_or_exit(&self) -> BuildSummary {
        match self.run() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("clbake: {e}");
                for line in e.to_string().lines().take(40) {
                    build_rs::output::error(line);
                }
                std::process::exit(1);
            }
        }
    }

    /// Runs the bake inside a build script (reads `OUT_DIR`, `TARGET`, `HOST`).
    pub fn run(&self) -> Result<BuildSummary, BuildError> {
        for var in TRACKED_ENV {
            build_rs::output::rerun_if_env_changed(var);
        }
        let out = build_rs::input::out_dir().join("clbake").join(format!("{}.clbk", self.name));
        isolate_pocl_cache(&build_rs::input::out_dir().join("clbake").join("pocl-cache"));
        let cross = build_rs::input::target() != build_rs::input::host();
        let mode = std::env::var("CLBAKE_BAKE").unwrap_or_default();
        let summary = self.bake_to(&out, cross, &mode, &|p| {
            // Cargo shows build-script stdout only with -vv; keep a progress line there.
            let BakeProgress::Compiled { program, device, done, total, elapsed, .. } = p;
            println!("clbake: [{done}/{total}] {program} for {} in {:.0?}", device.fingerprint.device_name, elapsed);
        })?;
        build_rs::output::rerun_if_changed(&self.kernels_dir);
        for w in &summary.warnings {
            build_rs::output::warning(w);
        }
        Ok(summary)
    }

    /// The bake itself, outside of cargo's environment: writes the bundle to `out`.
    /// `cross` skips capturing host binaries; `mode` is the value of `CLBAKE_BAKE`.
    pub fn bake_to(
        &self,
        out: &Path,
        cross: bool,
        mode: &str,
        progress: &(dyn Fn(BakeProgress<'_>) + Sync),
    ) -> Result<BuildSummary, BuildError> {
        let programs = source::discover(&self.kernels_dir, &self.discover)?;
        for p in &programs {
            for input in &p.inputs {
                build_rs_rerun(input);
            }
        }
        let mut summary = BuildSummary { bundle: out.to_path_buf(), programs: programs.len(), ..Default::default() };
        let mode = match mode.trim() {
            "" | "auto" => Mode::Auto,
            "host" => Mode::Host,
            "off" => Mode::Off,
            other => return Err(BuildError::BadMode(other.into())),
        };
        let jobs = std::env::var("CLBAKE_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut baked = Vec::new();
        let mut devices = Vec::new();
        if mode != Mode::Off {
            match cl::devices().and_then(|d| if d.is_empty() { Err(ClError::NoDevice) } else { Ok(d) }) {
                Ok(found) => {
                    let warm = self.warm && !matches!(std::env::var("CLBAKE_WARM").unwrap_or_default().trim(), "0" | "off" | "false" | "no");
                    let opts = BakeOptions { capture: !cross, jobs, warm, ..BakeOptions::default() };
                    baked = cl::bake(&programs, &found, &opts, progress)?;
                    for b in &baked {
                        summary.warmed += b.warm.launches;
                        for s in &b.warm.skipped {
                            summary.warnings.push(format!("{}: a declared launch did not run on {} ({s}); its first launch there compiles at run time", programs[b.program].file.display(), found[b.device].fingerprint.device_name));
                        }
                    }
                    devices = found;
                }
                Err(e) if mode == Mode::Host => return Err(BuildError::NoDevice(e)),
                Err(e) => summary.warnings.push(format!("no kernels compiled at build time, the binary will compile them at start-up: {e}")),
            }
        } else {
            summary.warnings.push("CLBAKE_BAKE=off: embedding kernel sources only".into());
        }
        let mut writer = crate::format::BundleWriter::new();
        if let Ok(level) = std::env::var("CLBAKE_ZSTD_LEVEL").unwrap_or_default().parse::<i32>() {
            writer = writer.with_level(level);
        }
        let mut writer = cl::bundle_writer_with(writer, &programs, &baked, &devices);
        summary.baked = baked.iter().filter(|b| b.binary.is_some()).count();
        if let Some(dir) = &self.precompiled_dir {
            summary.precompiled = merge_precompiled(dir, &programs, &devices, cross, &mut writer, &mut summary.warnings)?;
        }
        let bytes = writer.to_bytes();
        let io = |source| BuildError::Write { path: out.to_path_buf(), source };
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        // Rewrite only on change, so an unchanged bake does not force a relink.
        if std::fs::read(out).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(out, &bytes).map_err(io)?;
        }
        Ok(summary)
    }
}

/// Points PoCL at a fresh, empty kernel cache for this build-script process (unless the
/// user chose one with `POCL_CACHE_DIR`). PoCL puts into a program binary whatever launch-size
/// specialised work-group functions its cache holds; with the developer's own cache that
/// would make the embedded bytes depend on which programs happened to run on this machine.
fn isolate_pocl_cache(dir: &Path) {
    if std::env::var_os("POCL_CACHE_DIR").is_some() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    if std::fs::create_dir_all(dir).is_ok() {
        // The build script is single-threaded here and OpenCL has not been loaded yet.
        std::env::set_var("POCL_CACHE_DIR", dir);
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Mode {
    Auto,
    Host,
    Off,
}

fn build_rs_rerun(path: &Path) {
    if std::env::var_os("OUT_DIR").is_some() {
        build_rs::output::rerun_if_changed(path);
    }
}

/// Adds the fresh binaries of every `dir/*.clbk` to `writer`; stale ones (sources changed)
/// become warnings. Binaries for a device baked on this machine are skipped (ours are newer).
fn merge_precompiled(
    dir: &Path,
    programs: &[source::ProgramSource],
    baked_devices: &[cl::DeviceInfo],
    cross: bool,
    writer: &mut crate::format::BundleWriter,
    warnings: &mut Vec<String>,
) -> Result<usize, BuildError> {
    build_rs_rerun(dir);
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(0) };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "clbk")).collect();
    files.sort();
    let ours: Vec<_> = if cross { Vec::new() } else { baked_devices.iter().map(|d| d.fingerprint.hash()).collect() };
    let mut added = 0;
    let mut seen = std::collections::HashSet::new();
    for path in files {
        build_rs_rerun(&path);
        let bytes = std::fs::read(&path).map_err(|source| BuildError::Write { path: path.clone(), source })?;
        let bundle = Bundle::parse(&bytes).map_err(|source| BuildError::Precompiled { path: path.clone(), source })?;
        let mut stale = Vec::new();
        for bin in bundle.binaries() {
            let Some(prog) = bundle.programs().get(bin.program as usize) else { continue };
            let Some(idx) = programs.iter().position(|p| p.name == prog.name) else {
                stale.push(format!("{} (program no longer exists)", prog.name));
                continue;
            };
            let current = &programs[idx];
            let key = crate::hash::program_key(&current.name, &current.options, &crate::Hash128::of(current.source.as_bytes()));
            if bin.program_key != key {
                stale.push(prog.name.to_string());
                continue;
            }
            if ours.contains(&bin.fingerprint_hash) || !seen.insert((idx, bin.fingerprint_hash)) {
                continue;
            }
            writer.add_binary_entry(idx as u32, bin).map_err(|source| BuildError::Precompiled { path: path.clone(), source })?;
            added += 1;
        }
        // Tuned work sizes (`clbake bake --tune`) of programs whose source is unchanged.
        for t in bundle.tunings() {
            let idx = bundle.programs().get(t.program as usize).and_then(|prog| programs.iter().position(|p| p.name == prog.name));
            if idx.is_none_or(|i| writer.add_tuning_entry(i as u32, t).is_err()) {
                stale.push(format!("{} (tuning of {})", bundle.programs().get(t.program as usize).map_or("?", |p| p.name), t.kernel));
            }
        }
        if !stale.is_empty() {
            let device = bundle.binaries().first().and_then(|b| b.fingerprint().ok()).map(|f| f.describe()).unwrap_or_default();
            warnings.push(format!(
                "{}: skipped {} stale binar{} for {device} (kernel sources changed since it was baked; re-bake on the device): {}",
                path.display(),
                stale.len(),
                if stale.len() == 1 { "y" } else { "ies" },
                stale.join(", ")
            ));
        }
    }
    Ok(added)
}
