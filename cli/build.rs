//! Bakes clbake's own kernel library (kernels/) for the `clbake` binary and its demo, and the
//! kernels the integration tests call through typed methods (tests/kernels/).

fn main() {
    clbake_core::build::bake_kernels("kernels");
    clbake_core::build::Builder::new("tests/kernels").with_name("test_kernels").with_precompiled_dir(None).run_or_exit();
}
