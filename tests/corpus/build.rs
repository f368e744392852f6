//! Bakes three small bundles of real corpus kernels for the typed-call tests
//! (`include_kernels!("ggml")`, `("opencv")`, `("acl")`), when the corpus is present.
//!
//! The corpus lives beside the repository (`../../../shared/corpus` from this crate, the
//! same relative place in CI). Without it nothing is baked and `cfg(has_corpus)` is not
//! set: the typed tests are compiled out and the other tests skip at run time.

use clbake_core::build::Builder;
use std::path::{Path, PathBuf};

/// The corpus directory, relative to this crate.
const CORPUS: &str = "../../../shared/corpus";

fn main() {
    // The bakes re-run this build script as their compile workers: serve before printing
    // anything (stdout is the workers' protocol).
    if let Some(code) = clbake_core::bake::serve_if_worker() {
        std::process::exit(code);
    }
    println!("cargo::rustc-check-cfg=cfg(has_corpus)");
    println!("cargo::rerun-if-changed=build.rs");
    // A missing path keeps the script re-running, so a corpus that appears is picked up.
    println!("cargo::rerun-if-changed={CORPUS}");
    let corpus = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo")).join(CORPUS);
    if !corpus.is_dir() {
        println!("cargo::warning=no kernel corpus at {}: the corpus tests will skip", corpus.display());
        return;
    }
    println!("cargo::rustc-cfg=has_corpus");
    bake_ggml(&corpus);
    bake_opencv(&corpus);
    bake_acl(&corpus);
}

/// The builder every bundle starts from: keep going, no precompiled bundles.
fn library(dir: &Path, name: &str) -> Builder {
    Builder::new(dir).with_name(name).keep_going(true).with_precompiled_dir(None)
}

/// llama.cpp's ggml backend: element-wise kernels `(src0, offset0, dst, offsetd, ...)`, and
/// `pad`, whose tensors are `global void *`.
fn bake_ggml(corpus: &Path) {
    library(&corpus.join("llama.cpp"), "ggml").only("scale.cl").only("relu.cl").only("clamp.cl").only("pad.cl").run_or_exit();
}

/// OpenCV imgproc: a threshold whose parameter types come from `-D T1=uchar`, and a box
/// filter whose `alpha` parameter exists only with `-D NORMALIZE`.
fn bake_opencv(corpus: &Path) {
    library(&corpus.join("opencv"), "opencv")
        .only("imgproc/threshold.cl")
        .only("imgproc/boxFilter3x3.cl")
        .with_program_options("imgproc/threshold", "-D THRESH_BINARY -D T=uchar -D T1=uchar -D STRIDE_SIZE=1")
        .with_program_options("imgproc/boxFilter3x3", "-D BORDER_REFLECT_101 -D NORMALIZE")
        .run_or_exit();
}

/// Arm Compute Library: kernels whose parameters are `TENSOR3D_DECLARATION(name)` macros,
/// with the library-wide defines of the corpus README and an activation chosen per program.
fn bake_acl(corpus: &Path) {
    let dir = corpus.join("computelibrary");
    library(&dir, "acl")
        .with_include_dir(&dir)
        .with_define("DATA_TYPE", "float")
        .with_define("VEC_SIZE", "4")
        .with_define("VEC_SIZE_LEFTOVER", "0")
        .only("common/activation_layer.cl")
        .only("common/floor.cl")
        .with_program_options("common/activation_layer", "-DACT=lu_brelu -DA_VAL=6.0f -DB_VAL=-1.0f")
        .run_or_exit();
}
