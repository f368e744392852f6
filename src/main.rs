//! The `clbake` command-line tool: list devices, inspect bundles, bake bundles, run the demo.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cli;

/// Embedded kernels of this executable: clbake's own NN kernel library.
mod kernels {
    clbake::include_kernels!();
}

/// clbake: bake OpenCL programs into executables.
///
/// Exit codes: 0 success; 1 error (message on stderr); 2 usage error; 3 the demo ran but its
/// results disagree with the reference.
#[derive(Parser)]
#[command(name = "clbake", version, about, long_about = None)]
struct Cli {
    /// More log output (repeat for more); or set RUST_LOG.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List OpenCL platforms and devices with their fingerprints.
    Devices(cli::devices::Args),
    /// Show what a .clbk bundle, or an executable holding bundles, contains.
    Inspect(cli::inspect::Args),
    /// Compile kernels for the devices present and write a bundle.
    Bake(cli::bake::Args),
    /// Run the digits CNN from embedded kernels and weights; print accuracy and start-up.
    Demo(cli::demo_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).format_timestamp(None).init();
    let result = match cli.command {
        Command::Devices(a) => cli::devices::run(a),
        Command::Inspect(a) => cli::inspect::run(a),
        Command::Bake(a) => cli::bake::run(a),
        Command::Demo(a) => cli::demo_cmd::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
