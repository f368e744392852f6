//! `clbake demo`.

use anyhow::{Context, Result};
use clbake::{DeviceSelector, LoadOptions, Session};
use std::process::ExitCode;

/// Arguments of `clbake demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Device index (see `clbake devices`); default: CLBAKE_DEVICE, else the first GPU, else device 0.
    #[arg(long)]
    device: Option<usize>,
    /// Create all 14 programs up front instead of the three the network runs, at their
    /// first launch.
    #[arg(long)]
    eager: bool,
    /// Load the kernels from this bundle instead of the embedded one (a bundle of the same
    /// programs baked on another device, e.g. with `clbake bake` or `--clbake-bake`): try a
    /// board's bundle before embedding it.
    #[arg(long, value_name = "FILE")]
    bundle: Option<std::path::PathBuf>,
    /// Classify only the first N test images (default: all 450): for slow devices such as
    /// simulators.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=450))]
    images: Option<u64>,
}

/// Runs the demo; exit code 3 when results disagree with the reference.
pub fn run(args: Args) -> Result<ExitCode> {
    let selector = match args.device {
        Some(i) => DeviceSelector::Index(i),
        None => DeviceSelector::from_env()?,
    };
    let session = Session::new(selector)?;
    let bundle = match &args.bundle {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(super::kernels::BUNDLE.replaced_by(bytes).with_context(|| {
                format!("{}: not a bundle of the demo's 14 programs (bake cli/kernels, or `clbake --clbake-bake FILE`)", path.display())
            })?)
        }
        None => None,
    };
    let images = args.images.map(|n| n as usize);
    let report = super::demo::run(&session, &LoadOptions::from_env()?, args.eager, bundle, images)?;
    if args.json {
        super::print_json(&report)?;
    } else {
        print!("{report}");
    }
    if !report.matches_reference() {
        eprintln!("error: results on this device disagree with the reference (see accuracy and max error above)");
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}
