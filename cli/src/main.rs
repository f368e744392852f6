//! The `clbake` command-line tool: list devices, inspect bundles, bake bundles, run the demo.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;

/// Embedded kernels of this executable: clbake's own NN kernel library.
mod kernels {
    clbake::include_kernels!();
}

/// Exit codes, shown under every `--help` (docs/GUIDE.md has the same table).
const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    error: one line on stderr naming the cause and the fix (a kernel compile error is
       followed by the driver's log; `inspect` also exits 1 when a bundle is damaged)
  2    usage error (unknown verb or option, missing argument)
  3    `demo` ran but its results disagree with the reference
  141  killed by SIGPIPE: the reader of stdout went away (e.g. `clbake inspect app | head`)";

/// Environment variables, shown under the top-level `--help` (from clbake's one table of
/// them, `clbake::core::env::VARS`).
fn environment() -> String {
    let mut s = String::from("Environment:\n");
    for line in clbake::core::env::help_lines() {
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str("  RUST_LOG=info               log output (same as -v)");
    s
}

/// clbake: bake OpenCL programs into executables.
///
/// A build script compiles a crate's kernels for the OpenCL devices it finds and embeds
/// sources and verified, zstd-compressed binaries in the executable. This tool lists
/// devices and their fingerprints, shows what a bundle or an executable holds, bakes
/// bundles on a board (to copy back into kernels/precompiled/), and runs a demo network.
/// The guide: docs/GUIDE.md.
#[derive(Parser)]
#[command(name = "clbake", version, after_help = format!("{EXIT_CODES}\n\n{}", environment()))]
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
    ///
    /// The index is what `--device`, `CLBAKE_DEVICE` and `bake --device` take. The
    /// fingerprint (platform, device, driver and OpenCL C versions, address bits) selects the
    /// embedded binary at start-up; its hash is what `inspect` prints for each binary.
    #[command(after_help = EXIT_CODES)]
    Devices(cmd::devices::Args),
    /// Show what a .clbk bundle, or an executable holding bundles, contains.
    ///
    /// Reads the `.clbake` ELF section of an executable built with `include_kernels!`, or a
    /// bundle file written by `clbake bake`: header fields, programs (name, build options,
    /// kernels, source sizes) and binaries (program, device fingerprint, sizes).
    #[command(after_help = format!("Examples:\n  clbake inspect ./app\n  clbake inspect --json kernels/precompiled/mali-g52.clbk | jq '.bundles[0].binaries'\n\n{EXIT_CODES}"))]
    Inspect(cmd::inspect::Args),
    /// Compile kernels for the devices present and write a bundle.
    ///
    /// Sources come from `--kernels DIR`, from the bundle embedded in `--from APP`, or, with
    /// neither, from the kernels embedded in this executable (self-bake). Run it on the
    /// board, copy the bundle into your crate's kernels/precompiled/ and rebuild: the next
    /// build embeds it. Progress goes to stderr, one line per compile.
    #[command(after_help = format!("Examples:\n  clbake bake --from ./app -o board.clbk      # on the board, for an app built with clbake\n  clbake bake --kernels kernels -o host.clbk  # from .cl files\n  clbake bake -o clbake-kernels.clbk          # self-bake: clbake's own kernel library\n\n{EXIT_CODES}"))]
    Bake(Box<cmd::bake::Args>),
    /// Run the digits CNN from embedded kernels and weights; print accuracy and start-up.
    ///
    /// Loads clbake's kernel library (embedded binary, else source), uploads the embedded
    /// weights, classifies the embedded test images and compares with the reference logits.
    /// The start-up breakdown shows which path served each program.
    #[command(after_help = EXIT_CODES)]
    Demo(cmd::demo_cmd::Args),
    /// List, verify, prune or clear the disk cache of programs compiled at start-up.
    #[command(after_help = EXIT_CODES)]
    Cache(cmd::cache::Args),
}

fn main() -> ExitCode {
    cmd::output::restore_sigpipe();
    // `clbake --clbake-bake FILE`: the self-bake every clbake-built app offers (bake --remote
    // runs it); also the compile worker processes of `clbake bake`.
    if let Some(code) = clbake::selfbake::run_from_args(&kernels::BUNDLE) {
        return code;
    }
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).format_timestamp(None).init();
    let result = match cli.command {
        Command::Devices(a) => cmd::devices::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Bake(a) => cmd::bake::run(*a),
        Command::Demo(a) => cmd::demo_cmd::run(a),
        Command::Cache(a) => cmd::cache::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", cmd::errors::render(&e));
            ExitCode::FAILURE
        }
    }
}
