//! OpenCL parameter types as Rust types, and OpenCL names as Rust identifiers.

use clbake_core::signature::{AccessQualifier, AddressSpace, ParamType, ScalarKind, ValueType};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// The Rust type of a scalar element.
fn scalar(k: ScalarKind) -> Option<TokenStream> {
    Some(match k {
        ScalarKind::Char => quote!(i8),
        ScalarKind::UChar => quote!(u8),
        ScalarKind::Short => quote!(i16),
        ScalarKind::UShort => quote!(u16),
        ScalarKind::Int => quote!(i32),
        ScalarKind::UInt => quote!(u32),
        ScalarKind::Long => quote!(i64),
        ScalarKind::ULong => quote!(u64),
        ScalarKind::Half => quote!(::clbake::Half),
        ScalarKind::Float => quote!(f32),
        ScalarKind::Double => quote!(f64),
        _ => return None,
    })
}

/// `float` -> `f32`, `float4` -> `[f32; 4]`, `float3` -> `[f32; 4]` (OpenCL stores 4).
pub(crate) fn value(t: ValueType) -> Option<TokenStream> {
    let s = scalar(t.scalar)?;
    Some(if t.width == 1 {
        s
    } else {
        let n = proc_macro2::Literal::usize_unsuffixed(t.storage_width());
        quote!([#s; #n])
    })
}

/// The Rust type of a kernel argument (see the table in `clbake::launch`).
pub(crate) fn param(ty: &ParamType) -> Option<TokenStream> {
    Some(match ty {
        ParamType::Pointer { space: AddressSpace::Local, elem, .. } => {
            let e = value(*elem)?;
            quote!(::clbake::Local<#e>)
        }
        ParamType::Pointer { elem, is_const, space } => {
            let e = value(*elem)?;
            if *is_const || *space == AddressSpace::Constant {
                quote!(&::clbake::launch::Buffer<#e>)
            } else {
                quote!(&mut ::clbake::launch::Buffer<#e>)
            }
        }
        ParamType::Value(v) => value(*v)?,
        ParamType::Image { access: AccessQualifier::ReadOnly, .. } => quote!(&::clbake::launch::Image),
        ParamType::Image { .. } => quote!(&mut ::clbake::launch::Image),
        ParamType::Sampler => quote!(&::clbake::launch::Sampler),
    })
}

/// `name` as an identifier when it is one (not a keyword), else `name_`; `_`, `__` and
/// other non-identifiers become `fallback`.
pub(crate) fn ident(name: &str, fallback: &str) -> Ident {
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

/// `conv2d_relu` -> `Conv2dRelu`; a result that does not start with a letter gets a `V`.
pub(crate) fn camel(name: &str) -> String {
    let s: String = name
        .split('_')
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
    fn types() {
        let v = |scalar, width| ValueType { scalar, width };
        let s = |t: Option<TokenStream>| t.unwrap().to_string();
        assert_eq!(s(value(v(ScalarKind::Float, 1))), "f32");
        assert_eq!(s(value(v(ScalarKind::Float, 3))), "[f32 ; 4]");
        assert_eq!(s(value(v(ScalarKind::UChar, 16))), "[u8 ; 16]");
        let ptr = |space, is_const| ParamType::Pointer { space, elem: v(ScalarKind::Int, 1), is_const };
        assert_eq!(s(param(&ptr(AddressSpace::Global, true))), "& :: clbake :: launch :: Buffer < i32 >");
        assert_eq!(s(param(&ptr(AddressSpace::Global, false))), "& mut :: clbake :: launch :: Buffer < i32 >");
        assert_eq!(s(param(&ptr(AddressSpace::Constant, false))), "& :: clbake :: launch :: Buffer < i32 >");
        assert_eq!(s(param(&ptr(AddressSpace::Local, false))), ":: clbake :: Local < i32 >");
        assert_eq!(s(param(&ParamType::Value(v(ScalarKind::Half, 2)))), "[:: clbake :: Half ; 2]");
    }

    #[test]
    fn identifiers() {
        assert_eq!(ident("in", "a0"), "in_");
        assert_eq!(ident("self", "a0"), "self_");
        assert_eq!(ident("N", "a0"), "N");
        assert_eq!(ident("_", "a0"), "a0");
        let d = distinct(vec![ident("queue", "a"), ident("x", "b"), ident("x_", "c")], &["queue", "global"]);
        assert_eq!(d.iter().map(|i| i.to_string()).collect::<Vec<_>>(), ["queue_", "x", "x_"]);
        assert_eq!(camel("conv2d_relu"), "Conv2dRelu");
        assert_eq!(camel("gemm_t16"), "GemmT16");
        assert_eq!(camel("8x8"), "V8x8");
    }
}
