//! Bakes clbake's own kernel library (kernels/) for the `clbake` binary and its demo.

fn main() {
    clbake_core::build::bake_kernels("kernels");
}
