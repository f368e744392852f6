//! Procedural macros of clbake. Use them through the `clbake` crate
//! (`clbake::include_kernels!`, `clbake::include_model!`), which re-exports them and provides
//! the runtime types the generated code names.
//!
//! ```ignore
//! // build.rs: fn main() { clbake_core::build::bake_kernels("kernels"); }
//! mod kernels {
//!     clbake::include_kernels!(); // BUNDLE, enum Program, struct Kernels
//! }
//! mod weights {
//!     clbake::include_model!("models/net.safetensors"); // one typed accessor per tensor
//! }
//! ```
//! (Not compiled here: the expansion needs the `clbake` crate and a build script's
//! `OUT_DIR`. The `clbake` crate's docs have the same example as a compiled doctest, and
//! `docs/GUIDE.md` walks the whole flow.)
#![deny(missing_docs)]

use proc_macro::TokenStream;

mod groups;
mod kernels;
mod model;
mod rust_type;
#[cfg(test)]
mod snapshot;
mod typed;

/// Embeds the bundle a build script wrote with `clbake_core::build::bake_kernels` and
/// generates a typed program list.
///
/// `include_kernels!()` embeds `OUT_DIR/clbake/kernels.clbk`; `include_kernels!("name")`
/// embeds `OUT_DIR/clbake/name.clbk`. The expansion defines, in the calling module:
/// - `BUNDLE: clbake::Embedded<Program>` — the bundle bytes, 16-byte aligned, also placed
///   in the `.clbake` section so `clbake inspect ./app` can read them from the executable;
/// - `enum Program` — one variant per program (`conv2d_relu` becomes `Conv2dRelu`), with
///   `Program::ALL`, `name()` and `kernels()`;
/// - `struct Kernels` — typed calls: `Kernels::load(&session)?` (each program created at
///   its first launch; `load_eager` creates all now), then one method per kernel file
///   returning a handle with one method per kernel, whose parameters are the kernel's
///   OpenCL parameters as Rust types (`__global const float*` is `&Buffer<f32, impl
///   KernelReads>`, `__global float*` is `&mut Buffer<f32, impl KernelWrites>`, `void*` a
///   buffer of any element type, `int` is `i32`, `float4` is `[f32; 4]`, `half` is
///   `clbake::Half`, `__local T*` is `clbake::Local<T>`, images and samplers their `clbake`
///   types), so a wrong argument count, type or access is a compile error. A file with `// clbake:variant` lines gets an enum of its
///   variants (`conv2d.cl` gives `enum Conv2d { None, Relu, Relu6 }` and
///   `k.conv2d(Conv2d::Relu).conv2d_3x3(&queue, global, None, ...)`); when the variants'
///   argument types differ (`-DT=float` / `-DT=half`) each program gets its own handle
///   instead (`k.scale_f32()`, `k.scale_f16()`). Each method's docs show the kernel's
///   OpenCL signature. `macros/tests/expanded/` holds the expansion, pretty-printed.
#[proc_macro]
pub fn include_kernels(input: TokenStream) -> TokenStream {
    kernels::expand(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Embeds a safetensors file (path relative to the crate's `Cargo.toml`) and generates one
/// typed, zero-copy accessor per tensor, checked at compile time.
///
/// For a tensor `conv1.weight` of dtype F32 and shape `[8, 1, 3, 3]` the expansion defines
/// `CONV1_WEIGHT: clbake::TensorInfo<f32, 4>` (name, shape, byte range) and
/// `fn conv1_weight() -> clbake::Tensor<'static, f32, 4>`; a renamed tensor or a changed
/// rank or dtype is therefore a compile error where the code uses it. Also `BYTES` (the
/// whole file, 64-byte aligned) and `TENSORS` (all names).
#[proc_macro]
pub fn include_model(input: TokenStream) -> TokenStream {
    model::expand(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}
