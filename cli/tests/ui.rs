//! Compile-fail tests of the typed kernel calls that `include_kernels!` generates: a call
//! whose argument count or types do not match the kernel's OpenCL signature does not
//! compile. The cases are `tests/ui/*.rs`, the compiler's expected output next to them;
//! after a rustc update that changes the wording, `TRYBUILD=overwrite cargo test --test ui`
//! rewrites the `.stderr` files (review the diff).

#[test]
fn kernel_calls_are_checked_by_rustc() {
    // The cases expand `include_kernels!()` against this package's kernel bundle: point the
    // macro at the OUT_DIR this test was built with. This is the only test of this binary,
    // so no other thread reads the environment while it changes.
    std::env::set_var("OUT_DIR", env!("OUT_DIR"));
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
