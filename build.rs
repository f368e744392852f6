//! Bakes clbake's own kernel library (kernels/) for the `clbake` binary and its demo.
//! The library alone embeds nothing: without the `cli` feature this script does nothing.

fn main() {
    if std::env::var_os("CARGO_FEATURE_CLI").is_some() {
        clbake_core::build::bake_kernels("kernels");
    }
}
