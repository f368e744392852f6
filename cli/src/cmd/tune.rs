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
