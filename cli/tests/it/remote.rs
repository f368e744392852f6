//! `clbake bake --remote`: the scp/ssh round trip against a real OpenSSH server on 127.0.0.1
//! (scripts/sshd.sh: Debian's openssh-server, a throwaway key), baking on the host's PoCL as
//! the "board". The aarch64 variant, with the remote command run under qemu, is in
//! scripts/test-cross.sh (it needs the arm64 PoCL sysroot and minutes of emulation).

use crate::common::*;
use clbake::core::format::{scan, section, Bundle};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A throwaway sshd for one test, stopped on drop.
struct Sshd {
    dir: tempfile::TempDir,
}

impl Sshd {
    /// Starts one on a free port, or returns `None` (with a note) where OpenSSH is missing.
    fn start() -> Option<Sshd> {
        if !Path::new("/usr/sbin/sshd").exists() || Command::new("ssh").arg("-V").output().is_err() {
            eprintln!("note: openssh-server/openssh-client not installed: bake --remote test skipped (CI installs them via scripts/setup-host.sh)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // The port is free now; another process could take it before sshd binds (then the
        // script fails loudly naming the port, and the test with it).
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        run_ok(Command::new(script("sshd.sh")).arg("start").arg(dir.path()).arg(port.to_string()));
        Some(Sshd { dir })
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// `clbake bake --remote clbake-test --ssh-config ...` plus `args`.
    fn bake(&self, args: &[&str]) -> Command {
        let mut c = command(&clbake_bin());
        c.args(["bake", "--remote", "clbake-test", "--ssh-config"]).arg(self.config()).args(args);
        c
    }

    /// Runs `command` on the "remote" host and returns its stdout.
    fn ssh(&self, command: &str) -> String {
        let out = run_ok(Command::new("ssh").arg("-F").arg(self.config()).args(["clbake-test", command]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = Command::new(script("sshd.sh")).arg("stop").arg(self.dir.path()).output();
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").join("scripts").join(name)
}

/// Program names embedded in the clbake binary.
fn embedded_programs() -> Vec<String> {
    let bytes = std::fs::read(clbake_bin()).unwrap();
    let region = section(&bytes, ".clbake").expect(".clbake section");
    let (_, first) = scan(region).into_iter().next().expect("an embedded bundle");
    first.unwrap().programs().iter().map(|p| p.name.to_string()).collect()
}

#[test]
fn bake_remote_round_trip_lands_in_kernels_precompiled() {
    let Some(sshd) = Sshd::start() else { return };
    // A crate root with kernels/ but no precompiled/ yet: the default output goes there.
    let crate_root = tempfile::tempdir().unwrap();
    std::fs::create_dir(crate_root.path().join("kernels")).unwrap();
    let work = sshd.dir.path().join("remote work"); // must be rejected: a space
    let bad = sshd.bake(&["--remote-dir"]).arg(&work).current_dir(crate_root.path()).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--remote-dir"), "{}", String::from_utf8_lossy(&bad.stderr));

    let work = sshd.dir.path().join("remote-work");
    let out = run_ok(
        sshd.bake(&[
            "--json",
            "--tune",
            "--tune-reps",
            "1",
            "--tune-candidates",
            "2",
            "--runner",
            "env POCL_KERNEL_CACHE=0",
            "--remote-dir",
        ])
        .arg(&work)
        .current_dir(crate_root.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for step in ["1/4", "2/4", "3/4", "4/4", "self-bake: [1/", "self-bake: tuning", "launches warmed"] {
        assert!(stderr.contains(step), "no progress line {step:?} in:\n{stderr}");
    }
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["host"], "clbake-test");

    let bundle_path = crate_root.path().join("kernels/precompiled/clbake-test.clbk");
    let bytes = std::fs::read(&bundle_path).unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", bundle_path.display()));
    assert_eq!(summary["bytes"].as_u64(), Some(bytes.len() as u64));
    let bundle = Bundle::parse(&bytes).unwrap();
    let names: Vec<String> = bundle.programs().iter().map(|p| p.name.to_string()).collect();
    assert_eq!(names, embedded_programs());
    let devices: BTreeSet<_> = bundle.binaries().iter().map(|b| b.fingerprint_hash).collect();
    assert!(!devices.is_empty());
    assert_eq!(bundle.binaries().len(), names.len() * devices.len(), "a binary per program and device");
    for (i, _) in names.iter().enumerate() {
        assert!(bundle.binaries().iter().any(|b| b.program as usize == i), "program {} has no binary", names[i]);
    }
    // --tune travels: the board measured local sizes for the `// clbake:tune` shapes.
    assert!(!bundle.tunings().is_empty(), "no tuning records:\n{stderr}");
    for b in bundle.binaries() {
        // Verified bytes (checksum of the uncompressed binary), keyed to the embedded source.
        assert!(!b.decompress().unwrap().is_empty());
        assert_eq!(b.program_key, bundle.programs()[b.program as usize].key());
    }
    // The remote files are gone, the directory given stays.
    assert_eq!(sshd.ssh(&format!("ls -A '{}'", work.display())).trim(), "");
}

#[test]
fn bake_remote_failures_name_the_host_and_the_step() {
    let Some(sshd) = Sshd::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.clbk");

    // The remote command fails: step 3, exit status, no bundle, remote files removed.
    let work = dir.path().join("work");
    let failed = sshd.bake(&["--runner", "false", "--remote-dir"]).arg(&work).arg("--out").arg(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: bake --remote clbake-test: step 3/4"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists());
    assert_eq!(sshd.ssh(&format!("ls -A '{}'", work.display())).trim(), "");

    // An unreachable host: step 1, ssh's exit 255 explained.
    let cfg = dir.path().join("ssh_config");
    let text = std::fs::read_to_string(sshd.config()).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text: String =
        text.lines().map(|l| if l.trim_start().starts_with("Port ") { format!("    Port {port}\n") } else { format!("{l}\n") }).collect();
    std::fs::write(&cfg, text).unwrap();
    let unreachable =
        command(&clbake_bin()).args(["bake", "--remote", "clbake-test", "--ssh-config"]).arg(&cfg).arg("--out").arg(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bake --remote clbake-test: step 1/4") && stderr.contains("255"), "{stderr}");

    // An executable without an embedded bundle is refused before any ssh.
    let no_bundle = sshd.bake(&["--from", "/bin/true", "--out"]).arg(&out).output().unwrap();
    let stderr = String::from_utf8_lossy(&no_bundle.stderr);
    assert_eq!(no_bundle.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/bin/true: no clbake bundle embedded") && !stderr.contains("1/4"), "{stderr}");
}
