//! `clbake bake --tune`: the options, and how a tuning record is printed (the measuring is
//! [`clbake::core::bake::tune`]).

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
