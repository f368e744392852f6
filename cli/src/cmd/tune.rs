//! `clbake bake --tune`: measure local work sizes and add them to the bundle being written.

use anyhow::{Context, Result};
use clbake::core::cl::DeviceInfo;
use clbake::core::source::ProgramSource;
use clbake::tuner::{self, DeviceTunings, Measured, TuneOptions};

/// Options of `clbake bake` that control tuning.
#[derive(clap::Args, Clone, Debug)]
pub struct TuneArgs {
    /// Also measure candidate local work sizes for every `// clbake:tune KERNEL GLOBAL ARGS`
    /// line of the kernels on each device and store the fastest in the bundle's tuning
    /// table; launches with `local = None` then use them.
    #[arg(long)]
    pub tune: bool,
    /// Timed launches per candidate local size (the median counts).
    #[arg(long, value_name = "N", default_value_t = 5, requires = "tune")]
    pub tune_reps: usize,
    /// Most candidate local sizes tried per shape.
    #[arg(long, value_name = "N", default_value_t = 32, requires = "tune")]
    pub tune_candidates: usize,
}

/// Tunes `programs` on every device (nothing without `--tune`); prints one line per shape on
/// stderr.
pub fn measure(args: &TuneArgs, programs: &[ProgramSource], devices: &[DeviceInfo]) -> Result<Vec<DeviceTunings>> {
    if !args.tune {
        return Ok(Vec::new());
    }
    let opts = TuneOptions { reps: args.tune_reps.max(1), max_candidates: args.tune_candidates.max(1) };
    let started = |device: &DeviceInfo| eprintln!("tuning local work sizes on device {}: {}", device.index, device.fingerprint.describe());
    let progress = |p: &ProgramSource, m: &Measured| {
        let l = &m.launch;
        let ratio = l.default_ns as f64 / l.best_ns.max(1) as f64;
        eprintln!("  {}, {ratio:.2}x; {} candidates", record_columns(&p.name, &l.kernel, &l.global, l.local.as_deref(), l.best_ns, l.default_ns), m.candidates);
    };
    let out = tuner::tune_devices(programs, devices, &opts, &started, &progress).context("tuning local work sizes")?;
    for s in out.iter().flat_map(|d| &d.skipped) {
        eprintln!("  {:<18} {:<18} skipped: reqd_work_group_size fixes its local size", programs[s.program].name, s.kernel);
    }
    if out.iter().all(|d| d.measured.is_empty()) {
        eprintln!("no `// clbake:tune` lines in these kernels: nothing tuned");
    }
    Ok(out)
}

/// One tuning record in columns: program, kernel, global and local size, the tuned and the
/// driver's time (`clbake bake --tune` progress, `clbake inspect`).
pub fn record_columns(program: &str, kernel: &str, global: &[u64], local: Option<&[u64]>, best_ns: u64, default_ns: u64) -> String {
    let local = local.map_or_else(|| "driver's choice".to_string(), |v| format!("{v:?}"));
    format!(
        "{program:<18} {kernel:<18} global {:<16} local {local:<16} {:>9.3} ms (NULL {:.3} ms",
        format!("{global:?}"),
        best_ns as f64 / 1e6,
        default_ns as f64 / 1e6
    )
}
