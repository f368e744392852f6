//! `include_model!`: parse → model (read the safetensors header) → codegen.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::path::PathBuf;
use syn::LitStr;

/// Alignment of the embedded file; every tensor must start at a multiple of its element size.
const FILE_ALIGN: usize = 64;

/// One tensor as the generated code exposes it.
struct TensorModel {
    name: String,
    ident: String,
    rust_type: TokenStream,
    elem_size: usize,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// Maps a safetensors dtype to a Rust element type and its size.
fn element(dtype: safetensors::Dtype) -> Option<(TokenStream, usize)> {
    use safetensors::Dtype::*;
    Some(match dtype {
        F32 => (quote!(f32), 4),
        F64 => (quote!(f64), 8),
        U8 => (quote!(u8), 1),
        I8 => (quote!(i8), 1),
        U16 => (quote!(u16), 2),
        I16 => (quote!(i16), 2),
        F16 | BF16 => (quote!(u16), 2),
        U32 => (quote!(u32), 4),
        I32 => (quote!(i32), 4),
        U64 => (quote!(u64), 8),
        I64 => (quote!(i64), 8),
        _ => return None,
    })
}

/// `conv1.weight` -> `conv1_weight`.
fn ident_of(name: &str) -> String {
    let mut s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 't');
    }
    s
}

fn read(lit: &LitStr) -> syn::Result<(PathBuf, Vec<TensorModel>)> {
    let err = |msg: String| syn::Error::new(lit.span(), msg);
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let path = dir.join(lit.value());
    let bytes = std::fs::read(&path).map_err(|e| err(format!("cannot read model {}: {e}", path.display())))?;
    let (header_len, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| err(format!("{} is not a valid safetensors file: {e:?}", path.display())))?;
    let data_start = 8 + header_len;
    let mut tensors = Vec::new();
    let mut infos: Vec<_> = meta.tensors().into_iter().collect();
    infos.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, info) in infos {
        let (rust_type, elem_size) = element(info.dtype)
            .ok_or_else(|| err(format!("{}: tensor `{name}` has unsupported dtype {:?}", path.display(), info.dtype)))?;
        let (start, end) = (data_start + info.data_offsets.0, data_start + info.data_offsets.1);
        if start % elem_size != 0 {
            return Err(err(format!(
                "{}: tensor `{name}` starts at byte {start}, not a multiple of its element size {elem_size}; re-export with aligned offsets",
                path.display()
            )));
        }
        let ident = ident_of(&name);
        if tensors.iter().any(|t: &TensorModel| t.ident == ident) {
            return Err(err(format!("{}: tensors `{name}` and another map to the same Rust name `{ident}`", path.display())));
        }
        tensors.push(TensorModel { name, ident, rust_type, elem_size, shape: info.shape.clone(), start, end });
    }
    Ok((path, tensors))
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let lit: LitStr = syn::parse2(input)?;
    let (path, tensors) = read(&lit)?;
    let path = path.to_string_lossy().to_string();
    let align = proc_macro2::Literal::usize_unsuffixed(FILE_ALIGN);
    let items = tensors.iter().map(|t| {
        let konst = format_ident!("{}", t.ident.to_ascii_uppercase());
        let func = format_ident!("{}", t.ident);
        let ty = &t.rust_type;
        let rank = t.shape.len();
        let shape = &t.shape;
        let (name, start, end) = (&t.name, t.start, t.end);
        let doc_const = format!("Tensor `{name}`: {ty} {shape:?}, bytes {start}..{end} of the file.", ty = ty);
        let doc_fn = format!("Zero-copy view of tensor `{name}` ({ty} {shape:?}).", ty = ty);
        let _ = t.elem_size;
        quote! {
            #[doc = #doc_const]
            pub const #konst: ::clbake::TensorInfo<#ty, #rank> = ::clbake::TensorInfo::new(#name, [#(#shape),*], #start, #end);
            #[doc = #doc_fn]
            pub fn #func() -> ::clbake::Tensor<'static, #ty, #rank> {
                #konst.view(BYTES)
            }
        }
    });
    let names = tensors.iter().map(|t| &t.name);
    Ok(quote! {
        /// The whole safetensors file, embedded and aligned.
        pub static BYTES: &[u8] = ::clbake::__private::include_bytes_aligned!(#align, #path);
        /// Names of every tensor of the file, sorted.
        pub const TENSORS: &[&str] = &[#(#names),*];
        #(#items)*
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn idents() {
        assert_eq!(super::ident_of("conv1.weight"), "conv1_weight");
        assert_eq!(super::ident_of("0.w"), "t0_w");
    }
}
