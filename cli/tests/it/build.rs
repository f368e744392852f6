//! The build-script bake through clbake-core, outside cargo: failures with the driver's log
//! naming file and line, all of them in one run; keep-going; sources-only mode; precompiled
//! merges; incremental bakes that reuse unchanged programs and ignore a damaged previous
//! bundle; comment edits that change nothing; compile workers in other processes.

use clbake::core::bake::{Progress, Step, WorkerCommand};
use clbake::core::build::{BuildError, Builder};
use clbake::core::format::{Bundle, SignatureOrigin};
use std::sync::Mutex;

fn kernels_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const GOOD: &str = "__kernel void k(__global int* o) { o[0] = 1; }\n";

/// Bakes `dir` into `out` in this process (no workers), recording which programs compiled.
fn bake(b: Builder, out: &std::path::Path) -> (Result<clbake::core::build::BuildSummary, BuildError>, Vec<String>) {
    let compiled = Mutex::new(Vec::new());
    let progress = |p: Progress<'_>| {
        if let Step::Compiled(_) = p.step {
            compiled.lock().unwrap().push(p.program.to_string());
        }
    };
    let r = b.bake_to(out, false, None, &progress);
    let mut names = compiled.into_inner().unwrap();
    names.sort();
    (r, names)
}

#[test]
fn every_broken_kernel_fails_with_file_and_line_in_one_run() {
    let dir = kernels_dir(&[
        ("common.h", "#define SCALE 2.0f\n"),
        ("good.cl", "#include \"common.h\"\n__kernel void ok(__global float* x) { x[0] = SCALE; }\n"),
        ("broken.cl", "#include \"common.h\"\n\n__kernel void bad(__global float* x) {\n    x[0] = undefined_thing;\n}\n"),
        ("sub/also_broken.cl", "__kernel void bad2(__global float* x) { x[0] = nope; }\n"),
        ("noinc.cl", "#include <missing.h>\n__kernel void k() {}\n"),
    ]);
    let out = dir.path().join("out.clbk");
    let err = bake(Builder::new(dir.path()).with_bake_mode("host"), &out).0.unwrap_err().to_string();
    assert!(err.contains("3 program(s) cannot be baked"), "{err}");
    assert!(err.contains("broken.cl:4") && err.contains("undefined_thing"), "the log names the kernel file and line: {err}");
    assert!(err.contains("also_broken.cl") && err.contains("nope"), "{err}");
    assert!(err.contains("noinc.cl:1: `#include <missing.h>` not found"), "{err}");
    assert!(!out.exists());
}

#[test]
fn keep_going_writes_what_compiled_and_reports_the_rest() {
    let dir = kernels_dir(&[
        ("good.cl", GOOD),
        ("broken.cl", "__kernel void bad(__global float* x) { x[0] = undefined_thing; }\n"),
        ("empty.cl", "// nothing here\n"),
    ]);
    let out = dir.path().join("out.clbk");
    let (r, compiled) = bake(Builder::new(dir.path()).with_bake_mode("host").keep_going(true), &out);
    let summary = r.unwrap();
    assert_eq!(compiled, ["empty", "good"]);
    let r = &summary.report;
    assert_eq!(r.failures.len(), 1);
    assert!(r.failures[0].first_error().contains("undefined_thing"), "{}", r.failures[0].first_error());
    let bytes = std::fs::read(&out).unwrap();
    let bundle = Bundle::parse(&bytes).unwrap();
    let names: Vec<&str> = bundle.programs().iter().map(|p| p.name).collect();
    assert_eq!(names, ["broken", "empty", "good"], "the failed program stays, as source");
    let binaries: Vec<&str> = bundle.binaries().iter().map(|b| bundle.programs()[b.program as usize].name).collect();
    assert_eq!(binaries, ["empty", "good"]);
    assert_eq!(bundle.program("good").unwrap().1.kernels[0].origin, SignatureOrigin::Driver);
}

#[test]
fn bake_off_writes_sources_only_with_a_warning() {
    let dir =
        kernels_dir(&[("a.cl", "// clbake:variant x -DX=1\n// clbake:variant y -DX=2\n__kernel void k(__global int* o) { o[0] = X; }\n")]);
    let out = dir.path().join("out.clbk");
    let summary = bake(Builder::new(dir.path()).with_bake_mode("off"), &out).0.unwrap();
    assert_eq!(summary.report.compiled, 0);
    assert!(summary.report.warnings.iter().any(|w| w.contains("CLBAKE_BAKE=off")));
    let bytes = std::fs::read(&out).unwrap();
    let bundle = Bundle::parse(&bytes).unwrap();
    assert_eq!(bundle.programs().iter().map(|p| p.name).collect::<Vec<_>>(), ["a_x", "a_y"]);
    assert_eq!(bundle.programs()[0].kernels[0].origin, SignatureOrigin::Reader, "signatures from the reader without a device");
    assert_eq!(bundle.binaries().len(), 0);
}

#[test]
fn precompiled_bundles_merge_while_fresh_and_a_comment_does_not_make_them_stale() {
    let dir = kernels_dir(&[("a.cl", GOOD)]);
    let out = dir.path().join("out.clbk");
    let summary = bake(Builder::new(dir.path()).with_bake_mode("host"), &out).0.unwrap();
    assert!(summary.report.compiled >= 1);
    // Use it as a precompiled bundle of a cross build: fresh while the source is unchanged...
    std::fs::create_dir(dir.path().join("precompiled")).unwrap();
    std::fs::copy(&out, dir.path().join("precompiled/dev.clbk")).unwrap();
    let cross_out = dir.path().join("cross.clbk");
    let s = bake(Builder::new(dir.path()).with_bake_mode("off"), &cross_out).0.unwrap();
    assert_eq!(s.report.precompiled, summary.report.compiled);
    // ...also after a comment and blank lines are added...
    std::fs::write(dir.path().join("a.cl"), format!("// a comment\n\n{GOOD}/* and another */\n")).unwrap();
    let s = bake(Builder::new(dir.path()).with_bake_mode("off"), &cross_out).0.unwrap();
    assert_eq!(s.report.precompiled, summary.report.compiled, "{:?}", s.report.warnings);
    // ...and stale, with a warning naming the file, once the code changes.
    std::fs::write(dir.path().join("a.cl"), GOOD.replace("= 1", "= 2")).unwrap();
    let s = bake(Builder::new(dir.path()).with_bake_mode("off"), &cross_out).0.unwrap();
    assert_eq!(s.report.precompiled, 0);
    assert!(s.report.warnings.iter().any(|w| w.contains("dev.clbk") && w.contains("stale")), "{:?}", s.report.warnings);
    assert_eq!(Bundle::parse(&std::fs::read(&cross_out).unwrap()).unwrap().binaries().len(), 0);
}

#[test]
fn incremental_bakes_compile_only_what_changed() {
    let dir = kernels_dir(&[("a.cl", GOOD), ("b.cl", GOOD), ("c.cl", GOOD)]);
    let out = dir.path().join("out.clbk");
    let b = || Builder::new(dir.path()).with_bake_mode("host");
    assert_eq!(bake(b(), &out).1, ["a", "b", "c"]);
    // Nothing changed: nothing compiles, the same bytes.
    let before = std::fs::read(&out).unwrap();
    let (r, compiled) = bake(b(), &out);
    assert!(compiled.is_empty(), "{compiled:?}");
    assert_eq!(r.unwrap().report.reused, 3);
    assert_eq!(std::fs::read(&out).unwrap(), before);
    // A comment: nothing compiles.
    std::fs::write(dir.path().join("b.cl"), format!("{GOOD}// note\n")).unwrap();
    assert!(bake(b(), &out).1.is_empty());
    // A code edit: that program only.
    std::fs::write(dir.path().join("c.cl"), GOOD.replace("= 1", "= 3")).unwrap();
    assert_eq!(bake(b(), &out).1, ["c"]);
    // A damaged previous bundle is not trusted at all: a flipped bit in one binary, or in
    // the header, and everything compiles again.
    let mut bytes = std::fs::read(&out).unwrap();
    let at = {
        let bundle = Bundle::parse(&bytes).unwrap();
        let (index, _) = bundle.program("b").unwrap();
        let frame = bundle.binaries_of(index).next().unwrap().compressed();
        frame.as_ptr() as usize - bytes.as_ptr() as usize + frame.len() / 2
    };
    bytes[at] ^= 0x40;
    std::fs::write(&out, &bytes).unwrap();
    let (r, compiled) = bake(b(), &out);
    assert_eq!(compiled, ["a", "b", "c"]);
    let r = r.unwrap();
    assert_eq!(r.report.reused, 0);
    assert!(r.report.warnings.iter().any(|w| w.contains("previous bundle is damaged")), "{:?}", r.report.warnings);
    let mut bytes = std::fs::read(&out).unwrap();
    assert!(Bundle::parse(&bytes).unwrap().damage().is_empty());
    bytes[20] ^= 0x40;
    std::fs::write(&out, &bytes).unwrap();
    assert_eq!(bake(b(), &out).1, ["a", "b", "c"]);
    // A bake with other settings (no warm launches, no known answers) reuses nothing, and
    // neither does the bake with the usual settings after it.
    let (r, compiled) = bake(b().with_warm(false), &out);
    assert_eq!(compiled, ["a", "b", "c"]);
    assert!(r.unwrap().report.warnings.iter().any(|w| w.contains("baked with other settings")));
    assert_eq!(bake(b(), &out).1, ["a", "b", "c"]);
    assert!(bake(b(), &out).1.is_empty());
    assert!(Bundle::parse(&std::fs::read(&out).unwrap()).unwrap().damage().is_empty());
}

#[test]
fn compile_workers_in_other_processes_give_the_same_programs() {
    let dir = kernels_dir(&[
        ("a.cl", GOOD),
        ("b.cl", "__kernel void k(__global float* x) { x[0] = 2.0f; }\n"),
        ("bad.cl", "__kernel void k() { nope; }\n"),
    ]);
    let out = dir.path().join("out.clbk");
    // The `clbake` binary serves as a compile worker (it calls serve_if_worker first).
    let workers = WorkerCommand { program: crate::common::clbake_bin(), args: Vec::new() };
    let compiled = Mutex::new(Vec::new());
    let r = Builder::new(dir.path())
        .with_bake_mode("host")
        .keep_going(true)
        .bake_to(&out, false, Some(workers), &|p| {
            compiled.lock().unwrap().push((p.program.to_string(), matches!(p.step, Step::Compiled(_))))
        })
        .unwrap();
    let mut compiled = compiled.into_inner().unwrap();
    compiled.sort();
    assert_eq!(compiled, [("a".to_string(), true), ("b".to_string(), true), ("bad".to_string(), false)]);
    assert!(r.report.failures[0].first_error().contains("nope"), "{:?}", r.report.failures);
    let bytes = std::fs::read(&out).unwrap();
    let bundle = Bundle::parse(&bytes).unwrap();
    assert_eq!(bundle.binaries().len(), 2);
    assert_eq!(bundle.program("b").unwrap().1.kernels[0].params[0].type_name, "float*");
}

#[test]
fn same_inputs_give_byte_identical_bundles() {
    let dir = kernels_dir(&[("a.cl", GOOD)]);
    let (a, b) = (dir.path().join("a.clbk"), dir.path().join("b.clbk"));
    bake(Builder::new(dir.path()).with_bake_mode("off"), &a).0.unwrap();
    bake(Builder::new(dir.path()).with_bake_mode("off"), &b).0.unwrap();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn untyped_kernels_are_named_and_can_be_denied() {
    let dir = kernels_dir(&[(
        "k.cl",
        "struct S { int a; };\n__kernel void s(__global struct S* p) {}\n__kernel void ok(__global float* x) {}\n",
    )]);
    let out = dir.path().join("out.clbk");
    let r = bake(Builder::new(dir.path()).with_bake_mode("off"), &out).0.unwrap();
    assert_eq!(r.report.untyped.len(), 1);
    let u = r.report.untyped[0].to_string();
    assert!(u.contains("kernel `s`") && u.contains("parameter `p`") && u.contains("struct"), "{u}");
    let err = bake(Builder::new(dir.path()).with_bake_mode("off").deny_untyped(true), &out).0.unwrap_err();
    assert!(matches!(err, BuildError::Untyped(_)), "{err}");
}
