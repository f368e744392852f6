//! The reader over real kernel libraries (skipped when `shared/corpus` is absent).
use crate::clc::{read, AddressQualifier as Addr, KernelInfo, Reading};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The corpus folder, or `None` (with a note) when it is absent.
pub(super) fn root() -> Option<PathBuf> {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
    if root.is_dir() {
        return Some(root);
    }
    eprintln!("skipped: no corpus at {}", root.display());
    None
}

/// The `.cl` files under `root/sub`, sorted.
pub(super) fn files(root: &Path, sub: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join(sub)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "cl") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A file with its quoted includes expanded by clbake's include expander.
fn expanded(file: &Path, lib: &Path) -> String {
    crate::clc::include::expand(file, lib, &[lib.to_path_buf()]).unwrap_or_else(|e| panic!("{}: {e}", file.display())).text
}

fn name(file: &Path, root: &Path) -> String {
    file.strip_prefix(root).unwrap_or(file).to_string_lossy().replace('\\', "/")
}

#[test]
fn every_file_preprocesses() {
    let Some(root) = root() else { return };
    let start = Instant::now();
    let mut counts = Vec::new();
    for lib in ["computelibrary", "opencv", "llama.cpp"] {
        let (mut n, mut kernels, mut exact) = (0, 0, 0);
        for f in files(&root, lib) {
            let src = expanded(&f, &root.join(lib));
            for options in ["", "-DDATA_TYPE=float -DVEC_SIZE=4 -DVEC_SIZE_LEFTOVER=0 -cl-std=CL2.0"] {
                let r = read(&src, options);
                kernels += r.kernels.len();
                exact += r.kernels.iter().filter(|k| k.1.is_ok()).count();
            }
            n += 1;
        }
        counts.push(format!("{lib}: {n} files, {kernels} kernels, {exact} exact"));
    }
    eprintln!("{} in {:?}", counts.join("; "), start.elapsed());
}

#[test]
fn prefixes_of_a_real_file_never_panic() {
    let Some(root) = root() else { return };
    let src = std::fs::read_to_string(root.join("opencv/imgproc/pyramid_up.cl")).unwrap_or_default();
    let cuts: Vec<usize> = (0..=src.len()).filter(|&i| src.is_char_boundary(i)).step_by(7).collect();
    for cut in cuts {
        let prefix = src.get(..cut).unwrap_or_default();
        let _ = read(prefix, "-DT=float");
        let _ = crate::clc::token_hash(prefix);
    }
}

/// Reads every computelibrary file with the supplementary baseline's defines.
fn acl_readings(root: &Path) -> Vec<(String, Reading)> {
    let lib = root.join("computelibrary");
    files(root, "computelibrary")
        .iter()
        .map(|f| (name(f, &lib), read(&expanded(f, &lib), "-DDATA_TYPE=float -DVEC_SIZE=4 -DVEC_SIZE_LEFTOVER=0")))
        .collect()
}

/// The kernel `kernel` of `file` among `readings`, which must be exact.
fn kernel<'r>(readings: &'r [(String, Reading)], file: &str, kernel: &str) -> &'r KernelInfo {
    let r = &readings.iter().find(|(f, _)| f == file).unwrap_or_else(|| panic!("no {file}")).1;
    match r.kernels.iter().find(|(k, _)| k == kernel) {
        Some((_, Ok(info))) => info,
        other => panic!("{file}: {kernel}: {other:?}"),
    }
}

/// The parameters `{name}_ptr`, `{name}_stride_x`, ... of a `TENSOR3D_DECLARATION(name)`.
fn tensor3d(name: &str) -> Vec<(String, String, Addr)> {
    let mut out = vec![("uchar*".to_string(), format!("{name}_ptr"), Addr::Global)];
    for field in ["stride_x", "step_x", "stride_y", "step_y", "stride_z", "step_z", "offset_first_element_in_bytes"] {
        out.push(("uint".into(), format!("{name}_{field}"), Addr::Private));
    }
    out
}

fn params(k: &KernelInfo) -> Vec<(String, String, Addr)> {
    k.params.iter().map(|p| (p.type_name.clone(), p.name.clone(), p.address)).collect()
}

#[test]
fn computelibrary_kernels_from_declaration_macros() {
    let Some(root) = root() else { return };
    let readings = acl_readings(&root);
    let mut want = tensor3d("buf");
    want.extend([("uint".into(), "width".into(), Addr::Private), ("uint".into(), "height".into(), Addr::Private)]);
    want.extend([("int2".into(), "start_pos".into(), Addr::Private), ("float".into(), "constant_value".into(), Addr::Private)]);
    assert_eq!(params(kernel(&readings, "common/fill_border.cl", "fill_image_borders_constant")), want);
    let want: Vec<_> = ["src", "dst", "indices"].iter().flat_map(|n| tensor3d(n)).collect();
    assert_eq!(params(kernel(&readings, "nchw/pooling_layer.cl", "pooling_layer_2_nchw_indices")), want);
    // `#ifndef IN_PLACE` inside the parameter list.
    let want: Vec<_> = ["input", "output"].iter().flat_map(|n| tensor3d(n)).collect();
    assert_eq!(params(kernel(&readings, "common/fft.cl", "fft_radix_2_first_stage_axis_0")), want);
    let lib = root.join("computelibrary");
    let fft = expanded(&lib.join("common/fft.cl"), &lib);
    let in_place = read(&fft, "-DDATA_TYPE=float -DVEC_SIZE=4 -DVEC_SIZE_LEFTOVER=0 -DIN_PLACE");
    let first = in_place.kernels.iter().find(|k| k.0 == "fft_radix_2_first_stage_axis_0").and_then(|k| k.1.as_ref().ok());
    assert_eq!(first.map(params), Some(tensor3d("input")));

    let (mut exact, mut in_clean_files) = (0, 0);
    for (file, r) in &readings {
        if r.errors.is_empty() {
            in_clean_files += r.kernels.len();
        }
        for (k, res) in &r.kernels {
            match res {
                Ok(info) => {
                    exact += 1;
                    for p in &info.params {
                        assert!(crate::clc::classify(p).is_ok(), "{file}: {k}: {p:?}");
                    }
                }
                // `TENSOR4D_RO_T(src, SRC_TENSOR_TYPE)` without `-DSRC_TENSOR_TYPE=...`: PoCL fails too.
                Err(e) => assert!(e.contains("unknown type name `TENSOR4D_RO_T_SRC_TENSOR_TYPE`"), "{file}: {k}: {e}"),
            }
        }
    }
    eprintln!("computelibrary with DATA_TYPE, VEC_SIZE: {exact} exact kernels, {in_clean_files} in files without errors");
    // PoCL builds 40 kernels in 13 files with these options (corpus README).
    assert!(in_clean_files >= 40, "{in_clean_files}");
}

/// `(file, kernels)` of the `OK` lines of a baseline file.
fn baseline_ok(root: &Path, lib: &str) -> Vec<(String, usize)> {
    let text = std::fs::read_to_string(root.join(format!("baseline/{lib}.inc-only.txt"))).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("OK   ")?.split_once(": kernels="))
        .map(|(file, n)| (file.to_string(), n.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(usize::MAX)))
        .collect()
}

/// Kernels whose existence does not depend on the device.
fn certain_kernels(r: &Reading) -> usize {
    r.kernels.iter().filter(|k| !k.1.as_ref().is_err_and(|e| e.starts_with("declared under"))).count()
}

/// Files PoCL (OpenCL C 1.2, no fp16, no subgroups) compiles: no error, and as many kernels
/// whose existence is certain as PoCL found.
fn check_baseline(lib: &str) {
    let Some(root) = root() else { return };
    let ok = baseline_ok(&root, lib);
    assert!(!ok.is_empty());
    let mut report = Vec::new();
    for (file, want) in &ok {
        let path = root.join(file);
        let r = read(&expanded(&path, &root.join(lib)), "");
        let exact = r.kernels.iter().filter(|k| k.1.is_ok()).count();
        report.push(format!("{file}: baseline {want}, read {} ({} certain, {exact} exact)", r.kernels.len(), certain_kernels(&r)));
        for (k, res) in &r.kernels {
            if let Err(e) = res {
                report.push(format!("    {k}: {e}"));
            }
        }
        assert!(r.errors.is_empty(), "{file}: {:?}", r.errors);
        assert_eq!(certain_kernels(&r), *want, "{file}: {r:?}");
        // PoCL gave every argument's type name (baseline run B): so must the reader.
        assert_eq!(exact, *want, "{file}: {r:?}");
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn opencv_kernel_counts_match_the_baseline() {
    check_baseline("opencv");
}

#[test]
fn llama_kernel_counts_match_the_baseline() {
    check_baseline("llama.cpp");
}

#[test]
fn computelibrary_without_defines_is_empty() {
    check_baseline("computelibrary");
}
