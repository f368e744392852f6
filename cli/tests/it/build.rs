//! The build-script bake through clbake-core, outside cargo: a kernel that does not compile
//! fails with the driver's log naming file and line; sources-only mode never fails.

use clbake::core::build::Builder;
use clbake::core::format::Bundle;

fn kernels_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn broken_kernel_fails_with_file_and_line() {
    let dir = kernels_dir(&[
        ("common.h", "#define SCALE 2.0f\n"),
        ("good.cl", "#include \"common.h\"\n__kernel void ok(__global float* x) { x[0] = SCALE; }\n"),
        ("broken.cl", "#include \"common.h\"\n\n__kernel void bad(__global float* x) {\n    x[0] = undefined_thing;\n}\n"),
    ]);
    let out = dir.path().join("out.clbk");
    let err = Builder::new(dir.path()).bake_to(&out, false, "host", &|_| {}).unwrap_err().to_string();
    assert!(err.contains("broken"), "{err}");
    assert!(err.contains("broken.cl:4"), "log must name the kernel file and line: {err}");
    assert!(err.contains("undefined_thing"), "{err}");
    assert!(!out.exists());
}

#[test]
fn bake_off_writes_sources_only_with_a_warning() {
    let dir = kernels_dir(&[("a.cl", "// clbake:variant x -DX=1\n// clbake:variant y -DX=2\n__kernel void k(__global int* o) { o[0] = X; }\n")]);
    let out = dir.path().join("out.clbk");
    let summary = Builder::new(dir.path()).bake_to(&out, false, "off", &|_| {}).unwrap();
    assert_eq!(summary.baked, 0);
    assert!(summary.warnings.iter().any(|w| w.contains("CLBAKE_BAKE=off")));
    let bytes = std::fs::read(&out).unwrap();
    let bundle = Bundle::parse(&bytes).unwrap();
    assert_eq!(bundle.programs().iter().map(|p| p.name).collect::<Vec<_>>(), ["a_x", "a_y"]);
    assert_eq!(bundle.binaries().len(), 0);
}

#[test]
fn host_bake_embeds_a_binary_per_program_and_precompiled_stale_ones_are_skipped() {
    let dir = kernels_dir(&[("a.cl", "__kernel void k(__global int* o) { o[0] = 1; }\n")]);
    let out = dir.path().join("out.clbk");
    let summary = Builder::new(dir.path()).bake_to(&out, false, "host", &|_| {}).unwrap();
    assert_eq!(summary.programs, 1);
    assert!(summary.baked >= 1);
    // Use it as a precompiled bundle of a cross build: fresh while the source is unchanged...
    std::fs::create_dir(dir.path().join("precompiled")).unwrap();
    std::fs::copy(&out, dir.path().join("precompiled/dev.clbk")).unwrap();
    let cross_out = dir.path().join("cross.clbk");
    let s = Builder::new(dir.path()).bake_to(&cross_out, true, "off", &|_| {}).unwrap();
    assert_eq!(s.precompiled, summary.baked);
    // ...and stale, with a warning naming the file, once it changes.
    std::fs::write(dir.path().join("a.cl"), "__kernel void k(__global int* o) { o[0] = 2; }\n").unwrap();
    let s = Builder::new(dir.path()).bake_to(&cross_out, true, "off", &|_| {}).unwrap();
    assert_eq!(s.precompiled, 0);
    assert!(s.warnings.iter().any(|w| w.contains("dev.clbk") && w.contains("stale")), "{:?}", s.warnings);
    assert_eq!(Bundle::parse(&std::fs::read(&cross_out).unwrap()).unwrap().binaries().len(), 0);
}

#[test]
fn same_inputs_give_byte_identical_bundles() {
    let dir = kernels_dir(&[("a.cl", "__kernel void k(__global int* o) { o[0] = 1; }\n")]);
    let (a, b) = (dir.path().join("a.clbk"), dir.path().join("b.clbk"));
    Builder::new(dir.path()).bake_to(&a, false, "off", &|_| {}).unwrap();
    Builder::new(dir.path()).bake_to(&b, false, "off", &|_| {}).unwrap();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}
