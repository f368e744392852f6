//! `clbake cache ls|verify|prune|clear`: the disk cache of compiled programs.

use anyhow::{Context as _, Result};
use clbake::cache::inventory::{self, Inventory, OtherKind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `clbake cache`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// Cache directory; default: CLBAKE_CACHE_DIR, else `~/.cache/clbake/<this executable's
    /// name>` (another application's cache: `~/.cache/clbake/<its name>`).
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Action {
    /// List entries (program, device, size, whether the loader would use it), locks, sentinels.
    Ls,
    /// Verify every entry's checksums, ownership and place; exit 1 if any would be rejected.
    Verify,
    /// Remove entries not used for `--max-age-days` and the least recently used ones beyond
    /// `--max-bytes`, then device directories left empty (the loader does the same, with
    /// CLBAKE_CACHE_MAX_BYTES and CLBAKE_CACHE_MAX_AGE_DAYS, whenever it writes an entry).
    Prune {
        /// Most bytes of entries to keep (64M, 1G, ...); default CLBAKE_CACHE_MAX_BYTES, else 256M.
        #[arg(long, value_name = "SIZE")]
        max_bytes: Option<String>,
        /// Remove entries not used for this many days; default CLBAKE_CACHE_MAX_AGE_DAYS, else 30.
        #[arg(long, value_name = "DAYS")]
        max_age_days: Option<u64>,
    },
    /// Remove every entry, lock, sentinel, quarantine marker and temporary file.
    Clear,
}

fn cache_dir(args: &Args) -> Result<PathBuf> {
    match &args.dir {
        Some(d) => Ok(d.clone()),
        None => clbake::cache::from_env().context("the disk cache is off (CLBAKE_CACHE_DIR=off, or no HOME) and no --dir was given"),
    }
}

/// Runs `clbake cache`.
pub fn run(args: Args) -> Result<ExitCode> {
    let dir = cache_dir(&args)?;
    match args.action {
        Action::Ls | Action::Verify => {
            let inv = inventory::scan(&dir).with_context(|| format!("reading the cache {}", dir.display()))?;
            if args.json {
                super::print_json(&inv)?;
            } else {
                print_inventory(&inv);
            }
            if matches!(args.action, Action::Verify) && inv.problems() > 0 {
                eprintln!("error: {} problem(s) in the cache {}", inv.problems(), dir.display());
                return Ok(ExitCode::FAILURE);
            }
        }
        Action::Prune { max_bytes, max_age_days } => {
            let mut limits = clbake::cache::Limits::from_env()?;
            if let Some(b) = max_bytes {
                limits.max_bytes = clbake::core::env::parse_size(clbake::core::env::CACHE_MAX_BYTES, &b)
                    .map_err(|e| anyhow::anyhow!("--max-bytes {b:?}: {}", e.accepted))?;
            }
            if let Some(d) = max_age_days {
                limits.max_age = std::time::Duration::from_secs(d.saturating_mul(86_400));
            }
            let pruned = clbake::cache::prune(&dir, &limits).with_context(|| format!("pruning the cache {}", dir.display()))?;
            if args.json {
                super::print_json(
                    &serde_json::json!({ "dir": dir, "removed": pruned.removed, "freed_bytes": pruned.freed, "dirs_removed": pruned.dirs, "kept_bytes": pruned.kept }),
                )?;
            } else {
                println!("{}: {pruned}", dir.display());
            }
        }
        Action::Clear => {
            let cleared = inventory::clear(&dir).with_context(|| format!("clearing the cache {}", dir.display()))?;
            if args.json {
                super::print_json(&cleared)?;
            } else {
                println!("removed {} file(s) and directories from {}", cleared.removed, dir.display());
                for k in &cleared.kept {
                    println!("  kept {} (not written by clbake)", k.display());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn rel<'a>(path: &'a Path, root: &Path) -> std::borrow::Cow<'a, str> {
    path.strip_prefix(root).unwrap_or(path).to_string_lossy()
}

fn print_inventory(inv: &Inventory) {
    let total: u64 = inv.entries.iter().map(|e| e.bytes).sum();
    println!("cache {}: {} entries, {} KiB", inv.dir.display(), inv.entries.len(), total.div_ceil(1024));
    if let Some(p) = &inv.problem {
        println!("  the directory is not trusted: {p}");
    }
    for e in &inv.entries {
        let status = if e.ok { "ok " } else { "BAD" };
        let what = match (&e.program, &e.device) {
            (Some(p), Some(d)) => format!("{p} for {d}"),
            _ => String::new(),
        };
        println!("  {status} {:<40} {:>8} B  {what}", rel(&e.path, &inv.dir), e.bytes);
        if let Some(p) = &e.problem {
            println!("        {p}");
        }
    }
    for o in inv.other.iter().filter(|o| o.kind != OtherKind::Lock) {
        let note = o.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
        println!("  {}: {}{note}", o.kind, rel(&o.path, &inv.dir));
    }
}
