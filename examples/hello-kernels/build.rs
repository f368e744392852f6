fn main() {
    clbake_core::build::bake_kernels("kernels");
}
