use super::*;

fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = d.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

fn names(d: &Discovery) -> Vec<&str> {
    d.programs.iter().map(|p| p.name.as_str()).collect()
}

const K: &str = "__kernel void k(__global float* x, int n) { x[0] = n; }\n";

#[test]
fn subfolders_same_file_names_and_any_file_name() {
    let d = dir(&[("nchw/pool.cl", K), ("nhwc/pool.cl", K), ("boxFilter3x3.cl", K), ("precompiled/x.cl", K), ("notes.txt", "")]);
    let found = discover(d.path(), &DiscoverOptions::default()).unwrap();
    assert_eq!(names(&found), ["boxFilter3x3", "nchw/pool", "nhwc/pool"]);
    let p = &found.programs[1];
    assert_eq!((p.stem.as_str(), p.variant.as_str()), ("nchw/pool", ""));
    assert_eq!(p.kernels.len(), 1);
    assert_eq!(p.kernels[0].origin, SignatureOrigin::Reader);
    assert_eq!(p.kernels[0].params[0].type_name, "float*");
    assert!(found.failures.is_empty());
}

#[test]
fn variants_from_lines_and_from_the_builder_with_option_order() {
    let d = dir(&[("conv.cl", &format!("// clbake:variant relu -DACT=1\n{K}")), ("other.cl", K)]);
    let opts = DiscoverOptions {
        defines: vec![("T".into(), "float".into())],
        variants: vec![("conv*".into(), "none".into(), "-DACT=0".into())],
        program_options: vec![("conv_relu".into(), "-DEXTRA".into()), ("other.cl".into(), "-cl-fast-relaxed-math".into())],
        ..Default::default()
    };
    let found = discover(d.path(), &opts).unwrap();
    assert_eq!(names(&found), ["conv_none", "conv_relu", "other"]);
    assert_eq!(found.programs[0].options, "-DT=float -DACT=0");
    assert_eq!(found.programs[1].options, "-DT=float -DACT=1 -DEXTRA");
    assert_eq!(found.programs[2].options, "-DT=float -cl-fast-relaxed-math");
    assert_eq!(found.programs[1].variant, "relu");
}

#[test]
fn exclusion_and_no_kernels() {
    let d = dir(&[("a/x.cl", K), ("b/y.cl", K)]);
    let found = discover(d.path(), &DiscoverOptions { exclude: vec!["a/*".into()], ..Default::default() }).unwrap();
    assert_eq!(names(&found), ["b/y"]);
    let err = discover(d.path(), &DiscoverOptions { exclude: vec!["*".into()], ..Default::default() }).unwrap_err();
    assert!(matches!(err, SourceError::NoKernels { .. }), "{err}");
    let err = discover(d.path(), &DiscoverOptions { exclude: vec!["[".into()], ..Default::default() }).unwrap_err();
    assert!(err.to_string().contains("not a valid pattern"), "{err}");
}

#[test]
fn bad_files_are_failures_the_others_still_come() {
    let d = dir(&[
        ("good.cl", K),
        ("noinc.cl", "#include <missing.h>\n__kernel void k() {}\n"),
        ("badline.cl", &format!("{K}// clbake:launch k 64 x=64\n")),
        ("badopt.cl", K),
    ]);
    let opts = DiscoverOptions { program_options: vec![("badopt".into(), "-I/usr/include".into())], ..Default::default() };
    let found = discover(d.path(), &opts).unwrap();
    assert_eq!(names(&found), ["good"]);
    let problems: Vec<&str> = found.failures.iter().map(|f| f.problem.as_str()).collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("badline.cl:2:") && p.contains("`n` of `k` has no value")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("noinc.cl:1: `#include <missing.h>` not found")), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("badopt.cl") && p.contains("include directories")), "{problems:?}");
}

#[test]
fn bad_defines_and_duplicate_names() {
    let d = dir(&[("a_b.cl", K), ("a.cl", &format!("// clbake:variant b -DX\n{K}"))]);
    let err = discover(d.path(), &DiscoverOptions::default()).unwrap_err();
    assert!(err.to_string().contains("both make program `a_b`"), "{err}");
    let d = dir(&[("k.cl", K)]);
    let err =
        discover(d.path(), &DiscoverOptions { defines: vec![("X".into(), "float -I/dir".into())], ..Default::default() }).unwrap_err();
    assert!(err.to_string().contains("one word"), "{err}");
}

#[test]
fn keys_ignore_comments_but_not_tokens_or_launch_lines() {
    let key = |src: &str| ProgramSource::new("k", "k", "", PathBuf::from("k.cl"), "", src.to_string()).key();
    let base = key(K);
    assert_eq!(base, key(&format!("// a comment\n\n{K}/* more */")));
    assert_ne!(base, key(&K.replace("n;", "n + 1;")));
    assert_ne!(base, key(&format!("{K}// clbake:launch k 64 x=64 n=64\n")));
    let other_options = ProgramSource::new("k", "k", "", PathBuf::from("k.cl"), "-DX", K.to_string()).key();
    assert_ne!(base, other_options);
}
