//! Procedural macros of clbake. Use them through the `clbake` crate
//! (`clbake::include_kernels!`, `clbake::include_model!`), which re-exports them and provides
//! the runtime types the generated code names.
#![deny(missing_docs)]

use proc_macro::TokenStream;

mod kernels;
mod model;

/// Embeds the bundle a build script wrote with `clbake_core::build::bake_kernels` and
/// generates a typed program list.
///
/// `include_kernels!()` embeds `OUT_DIR/clbake/kernels.clbk`; `include_kernels!("name")`
/// embeds `OUT_DIR/clbake/name.clbk`. The expansion defines, in the calling module:
/// - `BUNDLE: clbake::Embedded` — the bundle bytes, 16-byte aligned, also placed in the
///   `.clbake` ELF section so `clbake inspect ./app` can read them from the executable;
/// - `enum Program` — one variant per program (`conv2d_relu` becomes `Conv2dRelu`), with
///   `Program::ALL`, `name()` and `kernels()`;
/// - `fn load(&clbake::Session) -> Result<clbake::Programs<Program>, clbake::LoadError>`.
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
