//! The example user crate (examples/hello-kernels): it builds from this checkout with its own
//! three-line build.rs, runs, agrees with the CPU, embeds only its own programs (no demo
//! kernels, no model) — and a user's mistakes fail its build with the file named.
//!
//! These tests run cargo on a crate outside the workspace, with their own target dir
//! (`<target dir>/hello-kernels`), so the first run compiles clbake's dependencies once more.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// The programs examples/hello-kernels/kernels/ defines (saxpy.cl, reduce.cl's two variants
/// and vectors.cl).
const PROGRAMS: [&str; 4] = ["reduce_max", "reduce_sum", "saxpy", "vectors"];
/// The checks the example prints, one line each.
const CHECKS: [&str; 5] = ["saxpy", "reduce_sum", "reduce_max", "scale4", "to_half"];

/// Serialises the cargo runs of this module: they share one target dir (cargo would block
/// on its lock anyway, but then two tests' output would interleave in the build).
static CARGO: Mutex<()> = Mutex::new(());

/// The repository root (the workspace; this package is cli/).
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root")
}

/// `<target dir>/hello-kernels`: next to this test build's own output, never inside the
/// example (a user's `target/` there is theirs).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("hello-kernels")
}

/// A cargo command for `manifest`, isolated from the cargo running these tests.
fn cargo(args: &[&str], manifest: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.args(args).arg("--manifest-path").arg(manifest).arg("--target-dir").arg(target_dir());
    c.env_remove("CARGO_TARGET_DIR").env_remove("CLBAKE_BAKE").env_remove("CLBAKE_EMBEDDED").env_remove("CLBAKE_DEVICE");
    c.env("CLBAKE_CACHE_DIR", "off").env("POCL_KERNEL_CACHE", "0");
    c
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The program lines of a load report: (name, path).
fn report_paths(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (name, path) = (w.next()?, w.next()?);
            (l.starts_with("  ") && PROGRAMS.contains(&name)).then(|| (name.to_string(), path.to_string()))
        })
        .collect()
}

#[test]
fn hello_kernels_builds_runs_and_embeds_only_its_own_programs() {
    let _lock = CARGO.lock().unwrap_or_else(|e| e.into_inner());
    let manifest = repo().join("examples/hello-kernels/Cargo.toml");
    let out = run_ok(&mut cargo(&["run"], &manifest));
    let (stdout, stderr) = text(&out);
    for what in CHECKS {
        assert!(stdout.lines().any(|l| l.starts_with(what) && l.ends_with(" ok")), "{what} not ok:\n{stdout}\n{stderr}");
    }
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
    // Built on a machine with an OpenCL device, so every program starts from its embedded
    // binary; the example launches all four.
    let paths = report_paths(&stdout);
    assert_eq!(paths.len(), PROGRAMS.len(), "{stdout}");
    assert!(paths.iter().all(|(_, p)| p == "embedded"), "{stdout}");

    // The same executable with embedded binaries turned off compiles from source, says why, and agrees.
    let exe = target_dir().join("debug/hello-kernels");
    let out = run_ok(command(&exe).env("CLBAKE_EMBEDDED", "off"));
    let (stdout, _) = text(&out);
    assert!(report_paths(&stdout).iter().all(|(_, p)| p == "source"), "{stdout}");
    assert!(stdout.contains("embedded missed: disabled"), "{stdout}");
    assert_eq!(stdout.matches(" ok\n").count(), CHECKS.len(), "{stdout}");

    // `clbake inspect` on the user's executable: one bundle, exactly its own programs, a binary each.
    let out = run_ok(command(&clbake_bin()).args(["inspect", "--json"]).arg(&exe));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "section .clbake");
    let bundles = v["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 1, "only the example's own bundle: {v}");
    let mut names: Vec<&str> = bundles[0]["programs"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(names, PROGRAMS);
    let binaries = bundles[0]["binaries"].as_array().unwrap();
    assert_eq!(binaries.len(), PROGRAMS.len());
    assert!(binaries.iter().all(|b| PROGRAMS.contains(&b["program"].as_str().unwrap())));

    // Its one-line self-bake (what `clbake bake --remote` runs on a board) writes a bundle of
    // its own programs for this device.
    let dir = tempfile::tempdir().unwrap();
    let baked = dir.path().join("board.clbk");
    run_ok(command(&exe).arg("--clbake-bake").arg(&baked));
    let bytes = std::fs::read(&baked).unwrap();
    let bundle = clbake::core::format::Bundle::parse(&bytes).unwrap();
    let mut baked_names: Vec<&str> = bundle.programs().iter().map(|p| p.name).collect();
    baked_names.sort_unstable();
    assert_eq!(baked_names, PROGRAMS);
    assert_eq!(bundle.binaries().len(), PROGRAMS.len());

    // The library embeds nothing of its own: none of the demo's weights ride along.
    let model = std::fs::read(repo().join("cli/models/digits.safetensors")).unwrap();
    let exe_bytes = std::fs::read(&exe).unwrap();
    let needle = &model[..model.len().min(96)];
    assert!(!exe_bytes.windows(needle.len()).any(|w| w == needle), "the demo model is embedded in the example");
}

/// A copy of the example under a temporary directory, named `name`, with its path
/// dependencies pointing back at this checkout; `edit` changes it before the build.
fn broken_copy(name: &str, edit: impl FnOnce(&Path)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("examples/hello-kernels");
    let dst = dir.path().join(name);
    for sub in ["src", "kernels"] {
        std::fs::create_dir_all(dst.join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, dst.join(sub).join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    std::fs::copy(src.join("build.rs"), dst.join("build.rs")).unwrap();
    if let Ok(lock) = std::fs::read(src.join("Cargo.lock")) {
        std::fs::write(dst.join("Cargo.lock"), lock).unwrap();
    }
    let root = repo().display().to_string();
    let manifest = std::fs::read_to_string(src.join("Cargo.toml"))
        .unwrap()
        .replace("name = \"hello-kernels\"", &format!("name = \"{name}\""))
        .replace("path = \"../..\"", &format!("path = {root:?}"))
        .replace("path = \"../../core\"", &format!("path = \"{root}/core\""));
    assert!(manifest.contains(&root), "the example's path dependencies moved: {manifest}");
    std::fs::write(dst.join("Cargo.toml"), manifest).unwrap();
    edit(&dst);
    (dir, dst.join("Cargo.toml"))
}

#[test]
fn user_mistakes_fail_the_build_naming_the_file() {
    let _lock = CARGO.lock().unwrap_or_else(|e| e.into_inner());
    // include_model! with a wrong path: a compile error naming the path it tried.
    let (_dir, manifest) = broken_copy("hello-missing-model", |d| {
        let main = d.join("src/main.rs");
        let text = std::fs::read_to_string(&main).unwrap();
        std::fs::write(&main, text + "\nmod weights {\n    clbake::include_model!(\"models/missing.safetensors\");\n}\n").unwrap();
    });
    let out = cargo(&["build"], &manifest).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "a missing model must fail the build:\n{stderr}");
    assert!(stderr.contains("cannot read model") && stderr.contains("models/missing.safetensors"), "{stderr}");

    // A kernel that does not compile fails the build script with the driver's log: file and line.
    let (_dir, manifest) = broken_copy("hello-broken-kernel", |d| {
        std::fs::write(d.join("kernels/broken.cl"), "__kernel void broken(__global float* x) {\n\n    x[0] = undefined_thing;\n}\n")
            .unwrap();
    });
    let out = cargo(&["build"], &manifest).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "a broken kernel must fail the build:\n{stderr}");
    assert!(stderr.contains("broken.cl:3") && stderr.contains("undefined_thing"), "{stderr}");
}
