//! Rebuilds of a copy of examples/hello-kernels after the edits of the developer loop, timed
//! as wall time of `cargo build --release -vv`, with what the build script's bake did.

use crate::common::{self, kv, R};
use crate::stat_of;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The steps, in the order of the table.
pub const ORDER: &[&str] = &["first_build", "first_build_deps_ready", "noop", "comment_edit", "code_edit", "main_edit"];

/// Which crate the loop runs on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Crate {
    /// examples/hello-kernels as it is (4 programs); kernels/saxpy.cl is edited.
    Example,
    /// The example with cli/kernels (clbake's 14 programs) as its kernels and a `main` that
    /// only loads them; kernels/softmax.cl is edited.
    Library,
}

impl Crate {
    fn edited(self) -> &'static str {
        match self {
            Crate::Example => "kernels/saxpy.cl",
            Crate::Library => "kernels/softmax.cl",
        }
    }
}

/// Labels of the steps.
fn label(key: &str, edited: &str) -> String {
    match key {
        "first_build" => "(a) first build, empty target dir (dependencies too)".into(),
        "first_build_deps_ready" => "(a') first build of the crate, dependencies built".into(),
        "noop" => "(b) no-op rebuild".into(),
        "comment_edit" => format!("(c) comment-only edit of {edited}"),
        "code_edit" => format!("(d) code edit of {edited}"),
        "main_edit" => "(e) edit of src/main.rs only".into(),
        _ => "?".into(),
    }
}

/// The `main` of the library crate: load every program, print the report.
const LIBRARY_MAIN: &str = "mod kernels {\n    clbake::include_kernels!();\n}\n\nfn main() -> Result<(), clbake::Error> {\n    let session = clbake::Session::from_env()?;\n    let k = kernels::Kernels::load_eager(&session)?;\n    print!(\"{}\", k.report());\n    Ok(())\n}\n";

/// The crate under test: a copy of the example and its own target directory.
struct Copy {
    dir: tempfile::TempDir,
    root: PathBuf,
    target: PathBuf,
}

/// Copies every file under `from` to `to`, subdirectories included.
fn copy_tree(from: &Path, to: &Path) -> R<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let p = e?.path();
        let dst = to.join(p.file_name().unwrap_or_default());
        if p.is_dir() {
            copy_tree(&p, &dst)?;
        } else if p.is_file() {
            std::fs::copy(&p, &dst)?;
        }
    }
    Ok(())
}

/// examples/hello-kernels without its target/, under a temporary directory, with its path
/// dependencies pointing back at this checkout (as cli/tests/it/example.rs does).
fn copy_example(krate: Crate) -> R<Copy> {
    let dir = tempfile::Builder::new().prefix("clbake-devloop-").tempdir()?;
    let repo = common::repo();
    let src = repo.join("examples/hello-kernels");
    let root = dir.path().join("hello-kernels");
    for sub in ["src", "kernels"] {
        copy_tree(&src.join(sub), &root.join(sub))?;
    }
    if krate == Crate::Library {
        std::fs::remove_dir_all(root.join("kernels"))?;
        copy_tree(&repo.join("cli/kernels"), &root.join("kernels"))?;
        std::fs::write(root.join("src/main.rs"), LIBRARY_MAIN)?;
    }
    std::fs::copy(src.join("build.rs"), root.join("build.rs"))?;
    if let Ok(lock) = std::fs::read(src.join("Cargo.lock")) {
        std::fs::write(root.join("Cargo.lock"), lock)?;
    }
    let r = repo.display().to_string();
    let manifest = std::fs::read_to_string(src.join("Cargo.toml"))?
        .replace("path = \"../..\"", &format!("path = {r:?}"))
        .replace("path = \"../../core\"", &format!("path = \"{r}/core\""));
    if !manifest.contains(&r) {
        return Err(format!("the example's path dependencies moved:\n{manifest}").into());
    }
    std::fs::write(root.join("Cargo.toml"), manifest)?;
    let target = dir.path().join("target");
    Ok(Copy { dir, root, target })
}

/// What the build script's summary line says.
#[derive(Default)]
struct Summary {
    programs: u64,
    compiled: u64,
    reused: u64,
    precompiled: u64,
    failed: u64,
    bake_s: f64,
}

/// Parses `clbake: 4 program(s): 1 compiled, 3 reused from the previous bake, 0 from
/// precompiled bundles, 0 failed, in 2.3 s`.
fn parse_summary(line: &str) -> Option<Summary> {
    let rest = &line[line.find("clbake: ")? + "clbake: ".len()..];
    let (programs, rest) = rest.split_once(" program(s): ")?;
    let number = |key: &str| -> Option<u64> {
        let at = rest.find(key)?;
        rest[..at].trim_end().rsplit(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    let bake_s = rest.rsplit_once(" in ").and_then(|(_, t)| t.trim().trim_end_matches('s').trim().parse().ok()).unwrap_or(f64::NAN);
    Some(Summary {
        programs: programs.trim().parse().ok()?,
        compiled: number(" compiled")?,
        reused: number(" reused")?,
        precompiled: number(" from precompiled").unwrap_or(0),
        failed: number(" failed").unwrap_or(0),
        bake_s,
    })
}

/// One `cargo build --release -vv` of the copy: wall time and what cargo and the build script
/// said.
fn build(copy: &Copy) -> R<Value> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = copy.root.join("Cargo.toml");
    let env = [kv("POCL_KERNEL_CACHE", "0"), kv("CLBAKE_CACHE_DIR", "off")];
    let mut c = common::command(Path::new(&cargo), &["build", "--release", "-vv"], &env);
    c.arg("--manifest-path").arg(&manifest).arg("--target-dir").arg(&copy.target).current_dir(&copy.root);
    for v in ["CARGO_TARGET_DIR", "CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"] {
        c.env_remove(v);
    }
    let t = Instant::now();
    let (stdout, stderr) = common::run_ok(&mut c)?;
    let seconds = t.elapsed().as_secs_f64();
    let lines = || stdout.lines().chain(stderr.lines());
    let summary = lines().filter(|l| l.contains("clbake: ") && l.contains(" program(s): ")).filter_map(parse_summary).next_back();
    let script_ran = lines().any(|l| {
        l.trim_start().starts_with("Running `") && l.contains("/build/hello-kernels-") && l.trim_end().ends_with("build-script-build`")
    });
    let crates = lines().filter(|l| l.trim_start().starts_with("Compiling ")).count();
    let fresh = lines().any(|l| l.trim_start().starts_with("Fresh hello-kernels v"));
    let mut v = json!({ "seconds": seconds, "build_script_ran": script_ran, "crates_compiled": crates, "fresh": fresh });
    if let Some(s) = summary {
        v["programs"] = json!(s.programs);
        v["compiled"] = json!(s.compiled);
        v["reused"] = json!(s.reused);
        v["precompiled"] = json!(s.precompiled);
        v["failed"] = json!(s.failed);
        v["bake_s"] = json!(s.bake_s);
    }
    Ok(v)
}

fn append(path: &Path, text: &str) -> R<()> {
    let mut s = std::fs::read_to_string(path)?;
    s.push_str(text);
    std::fs::write(path, s)?;
    Ok(())
}

/// A code edit of kernels/saxpy.cl that keeps what it computes: the statement that starts with
/// the first `get_global_id(0)` (`const int i = get_global_id(0);`) gets ` + 0 * n` at its end
/// (`n` differs per edit, and each edit replaces the previous one, so every edit changes the
/// program's tokens the same way). A file without that call gets a new helper function
/// instead.
fn code_edit(file: &Path, n: usize) -> R<()> {
    let s = std::fs::read_to_string(file)?;
    let call = "get_global_id(0)";
    let span = s.find(call).and_then(|at| s[at..].find(';').map(|end| (at, at + end)));
    let edited = match span {
        Some((at, end)) => format!("{}{call} + 0 * {n}{}", &s[..at], &s[end..]),
        None => format!("{s}\nfloat devloop_edit_{n}(float v) {{ return v * {n}.0f; }}\n"),
    };
    std::fs::write(file, edited)?;
    Ok(())
}

/// Runs `edit`, then a build; prints and returns the sample.
fn step(copy: &Copy, key: &str, edited: &str, run: usize, edit: impl FnOnce(&Path) -> R<()>) -> R<Value> {
    edit(&copy.root)?;
    let v = build(copy)?;
    println!(
        "[loop] run {run} {:<48} {:>8} s  build script {}  bake: {}",
        label(key, edited),
        common::fmt(v["seconds"].as_f64().unwrap_or(f64::NAN)),
        if v["build_script_ran"] == json!(true) { "ran" } else { "fresh" },
        match (v["compiled"].as_u64(), v["reused"].as_u64()) {
            (Some(c), Some(r)) => format!("{c} compiled, {r} reused, in {} s", common::fmt(v["bake_s"].as_f64().unwrap_or(f64::NAN))),
            _ => "none".into(),
        }
    );
    Ok(v)
}

/// What a step is expected to bake: (compiled, reused), or None for no bake.
fn expected(key: &str, programs: u64) -> Option<(u64, u64)> {
    match key {
        "first_build" | "first_build_deps_ready" => Some((programs, 0)),
        "comment_edit" => Some((0, programs)),
        "code_edit" => Some((1, programs.saturating_sub(1))),
        _ => None,
    }
}

/// Every step; (b) to (e) `runs` times, interleaved.
pub fn run(runs: usize, krate: Crate) -> R<Value> {
    let copy = copy_example(krate)?;
    let edited = krate.edited();
    println!("[loop] copy of examples/hello-kernels in {}, target dir {}", copy.root.display(), copy.target.display());
    let mut samples: Map<String, Value> = Map::new();
    let mut push = |key: &str, v: Value| {
        if let Some(list) = samples.entry(key.to_string()).or_insert_with(|| json!([])).as_array_mut() {
            list.push(v);
        }
    };
    push("first_build", step(&copy, "first_build", edited, 1, |_| Ok(()))?);
    for run in 1..=runs {
        push("noop", step(&copy, "noop", edited, run, |_| Ok(()))?);
        let comment = format!("\n// devloop: comment-only edit {run}\n");
        push("comment_edit", step(&copy, "comment_edit", edited, run, |root| append(&root.join(edited), &comment))?);
        push("code_edit", step(&copy, "code_edit", edited, run, |root| code_edit(&root.join(edited), run))?);
        let item = format!("\n// devloop: edit {run}\n#[allow(dead_code)]\nconst DEVLOOP_EDIT_{run}: u32 = {run};\n");
        push("main_edit", step(&copy, "main_edit", edited, run, |root| append(&root.join("src/main.rs"), &item))?);
    }
    // (a'): the crate's own outputs (build script, OUT_DIR with the bundle, executable)
    // removed from its target dir; the dependencies stay built.
    let release = copy.target.join("release");
    for (dir, prefix) in [("build", "hello-kernels-"), (".fingerprint", "hello-kernels-"), ("deps", "hello_kernels-")] {
        for e in std::fs::read_dir(release.join(dir))? {
            let p = e?.path();
            if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)) {
                if p.is_dir() {
                    std::fs::remove_dir_all(&p)?;
                } else {
                    std::fs::remove_file(&p)?;
                }
            }
        }
    }
    push("first_build_deps_ready", step(&copy, "first_build_deps_ready", edited, 1, |_| Ok(()))?);

    let programs = samples["first_build"][0]["programs"].as_u64().unwrap_or(0);
    let mut steps = Map::new();
    let mut surprises = Vec::new();
    for key in ORDER {
        let Some(list) = samples.get(*key).and_then(Value::as_array) else {
            continue;
        };
        let last = list.last().cloned().unwrap_or_default();
        let want = expected(key, programs);
        for (i, s) in list.iter().enumerate() {
            let got = s["compiled"].as_u64().zip(s["reused"].as_u64());
            let bad_bake = match want {
                Some(w) => got != Some(w),
                None => got.is_some() && got.map(|g| g.0) != Some(0),
            };
            if bad_bake {
                surprises.push(format!(
                    "{} (run {}): expected {}, got {}",
                    label(key, edited),
                    i + 1,
                    want.map_or("no bake".into(), |(c, r)| format!("{c} compiled, {r} reused")),
                    got.map_or("no bake".into(), |(c, r)| format!("{c} compiled, {r} reused"))
                ));
            }
        }
        steps.insert(
            key.to_string(),
            json!({ "label": label(key, edited), "seconds": stat_of(list, "seconds").json(), "bake_s": stat_of(list, "bake_s").json(),
                    "compiled": last["compiled"], "reused": last["reused"], "build_script_ran": last["build_script_ran"],
                    "crates_compiled": last["crates_compiled"], "samples": list }),
        );
    }
    for s in &surprises {
        println!("[loop] unexpected: {s}");
    }
    let keep = std::env::var("BENCH_DEVLOOP_KEEP").is_ok_and(|v| v == "1");
    let dir = copy.dir.path().to_path_buf();
    if keep {
        let kept = copy.dir.keep();
        println!("[loop] kept {}", kept.display());
    }
    let name = if krate == Crate::Example { "examples/hello-kernels" } else { "examples/hello-kernels with cli/kernels" };
    Ok(json!({ "crate": name, "programs": programs, "edited_kernel": edited,
               "temp_dir": dir, "env": { "POCL_KERNEL_CACHE": "0", "CLBAKE_CACHE_DIR": "off" }, "runs": runs,
               "steps": steps, "unexpected": surprises }))
}
