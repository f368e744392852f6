//! `clbake bake --remote [USER@]HOST`: bake on a board over ssh and bring the bundle home.
//!
//! The round trip, each step timed on stderr:
//! 1. `ssh HOST mktemp -d` (or `mkdir -p --remote-dir`): a work directory on the board;
//! 2. `scp APP HOST:DIR/`: the executable whose embedded kernels are baked (`--from APP`, by
//!    default this `clbake`; for a cross deployment, the board's build of the app);
//! 3. `ssh HOST 'RUNNER DIR/APP --clbake-bake DIR/APP.clbk'`: the app's self-bake
//!    ([`clbake::selfbake`]), its progress streamed here; `--runner` prefixes a command (an
//!    emulator such as `qemu-aarch64-static`, or `env POCL_DEVICES=pthread`);
//! 4. `scp HOST:DIR/APP.clbk`: the bundle comes back, is validated (`Bundle::parse`, one
//!    binary per program and device, the app's programs) and lands atomically in
//!    `kernels/precompiled/HOST.clbk` (or `--out`); the work directory is removed.
//!
//! ssh and scp are the system's OpenSSH clients: keys, agents, `~/.ssh/config` and jump hosts
//! work as for any ssh command; `--ssh-config FILE` passes `-F FILE` to both.

use anyhow::{bail, Context, Result};
use clbake::core::format::{bundle_region, scan, Bundle};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// The `--remote` options of `clbake bake`.
#[derive(clap::Args)]
pub struct RemoteArgs {
    /// Bake on this ssh host (`[USER@]HOST` or a Host of the ssh config): copies the executable
    /// (--from APP, default this clbake) there with scp, runs `APP --clbake-bake FILE` over
    /// ssh and copies the bundle back into kernels/precompiled/HOST.clbk (or --out).
    #[arg(long, value_name = "[USER@]HOST", conflicts_with = "kernels")]
    pub remote: Option<String>,
    /// Command prefix for the remote run, as words for the remote shell (e.g. an emulator:
    /// `qemu-aarch64-static -L /usr/aarch64-linux-gnu`, or `env POCL_DEVICES=pthread`).
    #[arg(long, value_name = "CMD", requires = "remote")]
    pub runner: Option<String>,
    /// ssh configuration file for ssh and scp (`-F FILE`).
    #[arg(long, value_name = "FILE", requires = "remote")]
    pub ssh_config: Option<PathBuf>,
    /// Work directory on the remote host (created if missing; relative to the remote home);
    /// default: a fresh `mktemp -d` directory, removed afterwards.
    #[arg(long, value_name = "DIR", requires = "remote")]
    pub remote_dir: Option<String>,
}

/// What the rest of `clbake bake` contributes to a remote bake.
pub struct Local<'a> {
    /// `--from APP` (default: this executable).
    pub from: Option<&'a Path>,
    /// `--out FILE` (default: kernels/precompiled/HOST.clbk).
    pub out: Option<&'a Path>,
    /// `--device` (at most one: passed as `CLBAKE_DEVICE`).
    pub device: &'a [usize],
    /// `--jobs` (passed as `CLBAKE_JOBS` when not 0).
    pub jobs: usize,
    /// `--json`: a summary on stdout.
    pub json: bool,
    /// `--tune`, `--tune-reps`, `--tune-candidates` (passed as `CLBAKE_TUNE=1`,
    /// `CLBAKE_TUNE_REPS`, `CLBAKE_TUNE_CANDIDATES`).
    pub tune: Option<(usize, usize)>,
    /// `--no-warm` (passed as `CLBAKE_WARM=0`).
    pub no_warm: bool,
}

#[derive(serde::Serialize)]
struct Summary<'a> {
    host: &'a str,
    app: &'a Path,
    out: &'a Path,
    bytes: usize,
    programs: usize,
    binaries: usize,
    devices: Vec<String>,
    seconds: f64,
}

/// The ssh side: host and the options every ssh/scp call gets.
struct Ssh<'a> {
    host: &'a str,
    config: Option<&'a Path>,
}

impl Ssh<'_> {
    fn base(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        if let Some(f) = self.config {
            c.arg("-F").arg(f);
        }
        c.stdin(Stdio::null());
        c
    }

    fn ssh(&self, remote_command: &str) -> Command {
        let mut c = self.base("ssh");
        c.arg(self.host).arg(remote_command);
        c
    }

    fn scp(&self, from: impl AsRef<std::ffi::OsStr>, to: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = self.base("scp");
        c.arg("-q").arg(from).arg(to);
        c
    }
}

/// Runs `c`, returning its stdout; a spawn failure or a non-zero exit becomes an error that
/// carries the exit status and the end of stderr.
fn captured(c: &mut Command) -> Result<String> {
    let program = c.get_program().to_string_lossy().into_owned();
    let out =
        c.output().with_context(|| format!("cannot run `{program}` (is OpenSSH's client installed? apt-get install openssh-client)"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(5)..].join(" | ");
        bail!("`{program}` {}{}", exit_text(out.status), if tail.is_empty() { String::new() } else { format!(": {tail}") });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn exit_text(s: std::process::ExitStatus) -> String {
    match s.code() {
        Some(255) => "exited with 255 (ssh could not connect or authenticate)".into(),
        Some(code) => format!("exited with {code}"),
        None => format!("was killed ({s})"),
    }
}

/// Single-quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Paths on the remote side are kept to characters that mean the same to the remote shell,
/// to scp and to sftp.
fn check_remote_path(what: &str, p: &str) -> Result<()> {
    let ok = !p.is_empty() && !p.starts_with('-') && p.chars().all(|c| c.is_ascii_alphanumeric() || "._/+-".contains(c));
    if !ok {
        bail!("{what} {p:?}: use only letters, digits and . _ / + - (and do not start with -)");
    }
    Ok(())
}

/// `user@board.local` -> `board.local`, made safe for a file name.
fn host_slug(host: &str) -> String {
    let h = host.rsplit('@').next().unwrap_or(host);
    let s: String = h.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '-' }).collect();
    if s.is_empty() {
        "remote".into()
    } else {
        s
    }
}

/// Program names of the bundle embedded in `app`.
fn embedded_programs(app: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(app).with_context(|| format!("cannot read {}", app.display()))?;
    let first = scan(bundle_region(&bytes)).into_iter().next();
    let Some((_, parsed)) = first else {
        bail!(
            "{}: no clbake bundle embedded; pass --from with an executable built with `include_kernels!` whose main calls clbake::selfbake::run_from_args",
            app.display()
        );
    };
    let bundle = parsed.with_context(|| format!("{}: embedded bundle is unreadable", app.display()))?;
    Ok(bundle.programs().iter().map(|p| p.name.to_string()).collect())
}

/// Prints a step's start and returns a closure printing its end.
fn step(host: &str, n: usize, what: &str) -> impl FnOnce() {
    eprintln!("[remote {host}] {n}/4 {what}");
    let start = Instant::now();
    let host = host.to_string();
    move || eprintln!("[remote {host}] {n}/4 done in {:.1} s", start.elapsed().as_secs_f64())
}

/// Runs a remote bake.
pub fn run(r: &RemoteArgs, local: &Local<'_>) -> Result<ExitCode> {
    let Some(host) = r.remote.as_deref() else { bail!("--remote needs a host") };
    if host.is_empty() || host.starts_with('-') || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("--remote {host:?} is not a host: pass [USER@]HOST or a Host of the ssh config");
    }
    if local.device.len() > 1 {
        bail!("--remote bakes for one --device or for all devices of the host; got {} --device options", local.device.len());
    }
    if let Some(cfg) = r.ssh_config.as_deref() {
        if !cfg.is_file() {
            bail!("--ssh-config {}: no such file", cfg.display());
        }
    }
    let start = Instant::now();
    let app = match local.from {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe().context("cannot find this executable")?,
    };
    let programs = embedded_programs(&app)?;
    let out = match local.out {
        Some(o) => o.to_path_buf(),
        None => {
            let dir = Path::new("kernels/precompiled");
            if !Path::new("kernels").is_dir() {
                bail!(
                    "no kernels/ directory here for kernels/precompiled/{}.clbk: run from your crate's root, or pass --out FILE",
                    host_slug(host)
                );
            }
            dir.join(format!("{}.clbk", host_slug(host)))
        }
    };
    let name = app.file_name().and_then(|n| n.to_str()).filter(|n| check_remote_path("app name", n).is_ok()).unwrap_or("app").to_string();
    let ssh = Ssh { host, config: r.ssh_config.as_deref() };
    eprintln!("[remote {host}] baking {} program(s) of {} on {host}, bundle -> {}", programs.len(), app.display(), out.display());

    // 1. Work directory.
    let done = step(host, 1, "creating a work directory");
    let (dir, temporary) = match r.remote_dir.as_deref() {
        Some(d) => {
            check_remote_path("--remote-dir", d)?;
            captured(&mut ssh.ssh(&format!("mkdir -p -- {}", sh_quote(d))))
                .with_context(|| format!("bake --remote {host}: step 1/4 (mkdir {d} over ssh) failed"))?;
            (d.trim_end_matches('/').to_string(), false)
        }
        None => {
            let made = captured(&mut ssh.ssh(r#"mktemp -d "${TMPDIR:-/tmp}/clbake-bake.XXXXXX""#))
                .with_context(|| format!("bake --remote {host}: step 1/4 (mktemp -d over ssh) failed"))?;
            let d = made.trim().to_string();
            check_remote_path("remote mktemp -d answered", &d)
                .with_context(|| format!("bake --remote {host}: step 1/4 (mktemp -d over ssh) failed"))?;
            (d, true)
        }
    };
    done();
    let remote_app = format!("{dir}/{name}");
    let remote_out = format!("{remote_app}.clbk");
    let result = round_trip(&ssh, r, local, &app, &remote_app, &remote_out, &out, &programs);

    // Clean up on success and failure alike; a failed cleanup is only a warning.
    let cleanup = if temporary {
        format!("rm -rf -- {}", sh_quote(&dir))
    } else {
        format!("rm -f -- {} {}", sh_quote(&remote_app), sh_quote(&remote_out))
    };
    if let Err(e) = captured(&mut ssh.ssh(&cleanup)) {
        eprintln!("[remote {host}] warning: cleanup of {dir} failed: {e:#}");
    }
    let bundle = result?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "[remote {host}] wrote {} ({} bytes: {} program(s), {} binaries for {}) in {seconds:.1} s",
        out.display(),
        bundle.bytes,
        bundle.programs,
        bundle.binaries,
        bundle.devices.join("; ")
    );
    if local.json {
        super::print_json(&Summary {
            host,
            app: &app,
            out: &out,
            bytes: bundle.bytes,
            programs: bundle.programs,
            binaries: bundle.binaries,
            devices: bundle.devices,
            seconds,
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

/// What came back.
struct Fetched {
    bytes: usize,
    programs: usize,
    binaries: usize,
    devices: Vec<String>,
}

/// Steps 2–4: upload, bake, download and validate.
#[allow(clippy::too_many_arguments)]
fn round_trip(
    ssh: &Ssh<'_>,
    r: &RemoteArgs,
    local: &Local<'_>,
    app: &Path,
    remote_app: &str,
    remote_out: &str,
    out: &Path,
    programs: &[String],
) -> Result<Fetched> {
    let host = ssh.host;
    let done = step(host, 2, &format!("copying {} to {host}:{remote_app}", app.display()));
    captured(&mut ssh.scp(app, format!("{host}:{remote_app}")))
        .with_context(|| format!("bake --remote {host}: step 2/4 (copy {} to {host}:{remote_app} with scp) failed", app.display()))?;
    done();

    let mut env = String::new();
    if let Some(d) = local.device.first() {
        env.push_str(&format!("CLBAKE_DEVICE={d} "));
    }
    if local.jobs != 0 {
        env.push_str(&format!("CLBAKE_JOBS={} ", local.jobs));
    }
    if let Some((reps, candidates)) = local.tune {
        env.push_str(&format!("CLBAKE_TUNE=1 CLBAKE_TUNE_REPS={reps} CLBAKE_TUNE_CANDIDATES={candidates} "));
    }
    if local.no_warm {
        env.push_str("CLBAKE_WARM=off ");
    }
    let runner = r.runner.as_deref().map(|s| format!("{} ", s.trim())).unwrap_or_default();
    let command = format!(
        "chmod 755 {app} && {prefix}{runner}{app} --clbake-bake {out}",
        app = sh_quote(remote_app),
        out = sh_quote(remote_out),
        prefix = if env.is_empty() { String::new() } else { format!("env {env}") },
    );
    let done = step(host, 3, &format!("baking on {host}: {command}"));
    // The remote bake's progress goes to stderr, as ours does; stdout stays for --json.
    let stderr = std::io::stderr();
    let to_stderr = std::os::fd::AsFd::as_fd(&stderr).try_clone_to_owned().context("cannot duplicate stderr")?;
    let status = ssh
        .ssh(&command)
        .stdout(Stdio::from(to_stderr))
        .status()
        .context("cannot run `ssh` (is OpenSSH's client installed? apt-get install openssh-client)")?;
    if !status.success() {
        let hint = match status.code() {
            Some(255) => " (ssh could not connect or authenticate)".to_string(),
            Some(126) => format!(" ({remote_app} cannot be executed there: built for another architecture? pass the board's build with --from, or an emulator with --runner)"),
            Some(127) => " (command not found: check --runner)".to_string(),
            Some(2) => format!(" (usage error: does {} handle --clbake-bake? its main must call clbake::selfbake::run_from_args)", app.display()),
            _ => " (its output is above)".to_string(),
        };
        bail!("bake --remote {host}: step 3/4 (the bake on {host}) {}{hint}", exit_text(status));
    }
    done();

    let done = step(host, 4, &format!("copying {host}:{remote_out} back"));
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".{}.remote{}", out.file_name().and_then(|n| n.to_str()).unwrap_or("bundle"), std::process::id()));
    let fetched = captured(&mut ssh.scp(format!("{host}:{remote_out}"), &tmp))
        .with_context(|| format!("bake --remote {host}: step 4/4 (copy {host}:{remote_out} to {} with scp) failed", tmp.display()))
        .and_then(|_| std::fs::read(&tmp).with_context(|| format!("cannot read {}", tmp.display())));
    let _ = std::fs::remove_file(&tmp);
    let bytes = fetched?;
    let summary = validate(&bytes, programs)
        .with_context(|| format!("bake --remote {host}: step 4/4: the bundle from {host}:{remote_out} is not usable"))?;
    clbake::core::atomic::write(out, &bytes, 0o644).with_context(|| format!("cannot write {}", out.display()))?;
    done();
    Ok(summary)
}

/// Checks a fetched bundle: it parses, holds the app's programs, and a binary for every
/// program on every device it names.
fn validate(bytes: &[u8], programs: &[String]) -> Result<Fetched> {
    let bundle = Bundle::parse(bytes)?;
    let names: Vec<&str> = bundle.programs().iter().map(|p| p.name).collect();
    if names != programs.iter().map(String::as_str).collect::<Vec<_>>() {
        bail!("it holds programs [{}], the app embeds [{}]", names.join(", "), programs.join(", "));
    }
    let devices: BTreeSet<_> = bundle.binaries().iter().map(|b| b.fingerprint_hash).collect();
    if devices.is_empty() {
        bail!("it holds no binary (no device baked)");
    }
    let mut described = Vec::new();
    for fp in &devices {
        let on: BTreeSet<u32> = bundle.binaries().iter().filter(|b| b.fingerprint_hash == *fp).map(|b| b.program).collect();
        let first = bundle.binaries().iter().find(|b| b.fingerprint_hash == *fp);
        let desc = first.and_then(|b| b.fingerprint().ok()).map(|f| f.describe()).unwrap_or_else(|| fp.to_hex());
        if on.len() != names.len() {
            bail!("{desc}: binaries for {} of {} programs", on.len(), names.len());
        }
        described.push(desc);
    }
    Ok(Fetched { bytes: bytes.len(), programs: names.len(), binaries: bundle.binaries().len(), devices: described })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_names() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(host_slug("pi@board.local"), "board.local");
        assert_eq!(host_slug("clbake-test"), "clbake-test");
        assert_eq!(host_slug("[::1]"), "---1-");
        assert!(check_remote_path("d", "/tmp/clbake-bake.AbC123").is_ok());
        assert!(check_remote_path("d", "work/x").is_ok());
        for bad in ["", "-rf", "a b", "$(id)", "a;b", "~/x", "a'b"] {
            assert!(check_remote_path("d", bad).is_err(), "{bad:?} accepted");
        }
    }
}
