//! Tests of clbake against real public OpenCL kernel libraries; this library is empty.
//!
//! The kernels come from the corpus beside the repository (`../../../shared/corpus` from this
//! crate; see its `README.md` for the libraries, their versions and licenses, and the
//! baseline of what compiles on PoCL): OpenCV's `modules/*/src/opencl`, Arm Compute
//! Library's `src/core/CL/cl_kernels` and llama.cpp's ggml OpenCL backend. The corpus is test
//! data and is never copied into the repository.
//!
//! The tests (`tests/libraries/`, one binary) check that
//! - a keep-going bake of each whole library compiles what the baseline compiles, reports
//!   every file that fails once with the baseline's first error, and gives every kernel of
//!   the compiled programs a typed method (the exceptions are listed, with why, in
//!   `tests/libraries/baseline.rs`); the baked programs load from their binaries;
//! - OpenCV files that need `-D` options compile with per-program options;
//! - typed calls of kernels from each library (bundles baked by `build.rs`) match a CPU
//!   reference.
//!
//! Without the corpus the crate builds, `build.rs` bakes nothing, and every test skips with
//! a note on stderr. `cargo test -p clbake-corpus-tests -- --nocapture` shows the counts per
//! library.
