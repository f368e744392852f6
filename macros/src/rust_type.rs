//! OpenCL parameter types as Rust types, and OpenCL and file names as Rust identifiers.

use clbake_core::clc::ParamType;
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// The Rust type of a kernel argument, from core's one table
/// ([`ParamType::rust_type`]), as tokens.
pub(crate) fn param(ty: &ParamType) -> Option<TokenStream> {
    let text = ty.rust_type()?;
    let parsed: syn::Type = syn::parse_str(&text).ok()?;
    Some(quote!(#parsed))
}

/// `name` as a snake-case identifier: `boxFilter3x3` -> `box_filter3x3`, `nchw/pool_layer`
/// -> `nchw_pool_layer`; a keyword gets `_` appended; nothing usable gives `fallback`.
pub(crate) fn ident(name: &str, fallback: &str) -> Ident {
    let mut s = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && prev_lower && !s.ends_with('_') {
                s.push('_');
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('_') && !s.is_empty() {
            s.push('_');
            prev_lower = false;
        }
    }
    let s = s.trim_end_matches('_').to_string();
    if s.is_empty() {
        return Ident::new(fallback, Span::call_site());
    }
    let s = if s.starts_with(|c: char| c.is_ascii_digit()) { format!("_{s}") } else { s };
    if syn::parse_str::<Ident>(&s).is_ok() {
        return Ident::new(&s, Span::call_site());
    }
    Ident::new(&format!("{s}_"), Span::call_site())
}

/// `name` as written when it is an identifier (not a keyword), else `name_`; `_`, `__`
/// and other non-identifiers become `fallback`. For parameter names, kept as in the kernel.
pub(crate) fn raw_ident(name: &str, fallback: &str) -> Ident {
    if name.chars().all(|c| c == '_') {
        return Ident::new(fallback, Span::call_site());
    }
    if syn::parse_str::<Ident>(name).is_ok() {
        return Ident::new(name, Span::call_site());
    }
    let suffixed = format!("{name}_");
    if syn::parse_str::<Ident>(&suffixed).is_ok() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ident::new(&suffixed, Span::call_site());
    }
    Ident::new(fallback, Span::call_site())
}

/// Makes `names` distinct from each other and from `taken`, appending `_` as needed.
pub(crate) fn distinct(names: Vec<Ident>, taken: &[&str]) -> Vec<Ident> {
    let mut used: Vec<String> = taken.iter().map(|s| s.to_string()).collect();
    names
        .into_iter()
        .map(|id| {
            let mut s = id.to_string();
            while used.contains(&s) {
                s.push('_');
            }
            used.push(s.clone());
            Ident::new(&s, Span::call_site())
        })
        .collect()
}

/// `conv2d_relu` -> `Conv2dRelu`, `nchw/pool` -> `NchwPool`, `boxFilter3x3` ->
/// `BoxFilter3x3`; a result that does not start with a letter gets a `V`.
pub(crate) fn camel(name: &str) -> String {
    let s: String = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s
    } else {
        format!("V{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_as_tokens() {
        use clbake_core::clc::{AccessQualifier, AddressSpace, ImageKind, ScalarKind, ValueType};
        let v = |scalar, width| ValueType { scalar, width };
        let s = |t: Option<TokenStream>| t.unwrap().to_string();
        assert_eq!(s(param(&ParamType::Value(v(ScalarKind::Float, 3)))), "[f32 ; 4]");
        let ptr = |space, is_const| ParamType::Pointer { space, elem: v(ScalarKind::Int, 1), is_const, any_elem: false };
        assert_eq!(s(param(&ptr(AddressSpace::Global, true))), "& :: clbake :: Buffer < i32 , impl :: clbake :: KernelReads >");
        assert_eq!(s(param(&ptr(AddressSpace::Global, false))), "& mut :: clbake :: Buffer < i32 , impl :: clbake :: KernelWrites >");
        assert_eq!(s(param(&ptr(AddressSpace::Local, false))), ":: clbake :: Local < i32 >");
        let void = ParamType::Pointer { space: AddressSpace::Global, elem: v(ScalarKind::UChar, 1), is_const: false, any_elem: true };
        assert_eq!(s(param(&void)), "& mut :: clbake :: Buffer < impl :: clbake :: Scalar , impl :: clbake :: KernelWrites >");
        assert_eq!(s(param(&ParamType::Value(v(ScalarKind::Half, 2)))), "[:: clbake :: Half ; 2]");
        let img = |access| ParamType::Image { kind: ImageKind::Image2d, access };
        assert_eq!(s(param(&img(AccessQualifier::WriteOnly))), "& mut :: clbake :: Image2d < impl :: clbake :: KernelWrites >");
        assert!(param(&ParamType::Image { kind: ImageKind::Image2dDepth, access: AccessQualifier::ReadOnly }).is_none());
    }

    #[test]
    fn identifiers() {
        assert_eq!(raw_ident("in", "a0"), "in_");
        assert_eq!(raw_ident("N", "a0"), "N");
        assert_eq!(raw_ident("__", "a0"), "a0");
        assert_eq!(ident("in", "a0"), "in_");
        assert_eq!(ident("self", "a0"), "self_");
        assert_eq!(ident("N", "a0"), "n");
        assert_eq!(ident("_", "a0"), "a0");
        assert_eq!(ident("boxFilter3x3", "p"), "box_filter3x3");
        assert_eq!(ident("nchw/pooling_layer", "p"), "nchw_pooling_layer");
        assert_eq!(ident("3x3", "p"), "_3x3");
        let d = distinct(vec![ident("queue", "a"), ident("x", "b"), ident("x_", "c")], &["queue", "global"]);
        assert_eq!(d.iter().map(|i| i.to_string()).collect::<Vec<_>>(), ["queue_", "x", "x_"]);
        assert_eq!(camel("conv2d_relu"), "Conv2dRelu");
        assert_eq!(camel("nchw/pool"), "NchwPool");
        assert_eq!(camel("boxFilter3x3"), "BoxFilter3x3");
        assert_eq!(camel("8x8"), "V8x8");
    }
}
