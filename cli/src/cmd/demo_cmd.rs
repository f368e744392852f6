//! `clbake demo`.

use anyhow::Result;
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
}

/// Runs the demo; exit code 3 when results disagree with the reference.
pub fn run(args: Args) -> Result<ExitCode> {
    let selector = match args.device {
        Some(i) => DeviceSelector::Index(i),
        None => DeviceSelector::from_env()?,
    };
    let session = Session::new(selector)?;
    let report = super::demo::run(&session, &LoadOptions::from_env()?, args.eager)?;
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
