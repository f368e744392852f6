//! `include_kernels!`: parse → model (read the bundle) → codegen.

use clbake_core::format::Bundle;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use std::path::PathBuf;
use syn::parse::{Parse, ParseStream};
use syn::LitStr;

/// Macro input: an optional bundle name.
struct Input {
    name: Option<LitStr>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(Input { name: None });
        }
        Ok(Input { name: Some(input.parse()?) })
    }
}

/// What the bundle holds that the generated code needs.
struct Model {
    path: PathBuf,
    len: usize,
    programs: Vec<(String, Vec<String>)>,
}

fn read_model(input: &Input) -> syn::Result<Model> {
    let span = input.name.as_ref().map(LitStr::span).unwrap_or_else(Span::call_site);
    let name = input.name.as_ref().map(LitStr::value).unwrap_or_else(|| "kernels".into());
    let out_dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
        syn::Error::new(span, "OUT_DIR is not set: include_kernels! needs a build.rs that calls clbake_core::build::bake_kernels(\"kernels\")")
    })?;
    let path = PathBuf::from(out_dir).join("clbake").join(format!("{name}.clbk"));
    let bytes = std::fs::read(&path).map_err(|e| {
        syn::Error::new(span, format!("cannot read {}: {e} (does build.rs bake a bundle named `{name}`?)", path.display()))
    })?;
    let bundle = Bundle::parse(&bytes).map_err(|e| syn::Error::new(span, format!("{}: {e}", path.display())))?;
    let programs = bundle.programs().iter().map(|p| (p.name.to_string(), p.kernels.iter().map(|k| k.to_string()).collect())).collect();
    Ok(Model { path, len: bytes.len(), programs })
}

/// `conv2d_relu` -> `Conv2dRelu`.
pub(crate) fn camel(name: &str) -> String {
    name.split('_')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: Input = syn::parse2(input)?;
    let model = read_model(&input)?;
    Ok(codegen(&model))
}

fn codegen(model: &Model) -> TokenStream {
    let path = model.path.to_string_lossy().to_string();
    let len = model.len;
    let variants: Vec<_> = model.programs.iter().map(|(n, _)| format_ident!("{}", camel(n))).collect();
    let names: Vec<_> = model.programs.iter().map(|(n, _)| n.as_str()).collect();
    let kernel_lists: Vec<_> = model.programs.iter().map(|(_, ks)| quote! { &[#(#ks),*] }).collect();
    let docs: Vec<_> = model.programs.iter().map(|(n, ks)| format!("Program `{n}`: kernels {}.", ks.join(", "))).collect();
    let indices: Vec<_> = (0..model.programs.len()).map(proc_macro2::Literal::usize_unsuffixed).collect();
    let count = model.programs.len();
    quote! {
        #[repr(C, align(16))]
        struct __ClbakeAligned<T: ?Sized>(T);

        #[used]
        #[cfg_attr(any(target_os = "linux", target_os = "android", target_os = "freebsd"), link_section = ".clbake")]
        static __CLBAKE_BYTES: __ClbakeAligned<[u8; #len]> = __ClbakeAligned(*include_bytes!(#path));

        /// The embedded kernel bundle (sources and precompiled binaries).
        pub static BUNDLE: ::clbake::Embedded = ::clbake::Embedded::new(&__CLBAKE_BYTES.0);

        /// The programs of the embedded bundle.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Program {
            #(#[doc = #docs] #variants = #indices,)*
        }

        impl Program {
            /// Every program, in bundle order.
            pub const ALL: [Program; #count] = [#(Program::#variants),*];

            /// The program's name in the bundle.
            pub const fn name(self) -> &'static str {
                match self { #(Program::#variants => #names,)* }
            }

            /// Names of the program's kernels.
            pub const fn kernels(self) -> &'static [&'static str] {
                match self { #(Program::#variants => #kernel_lists,)* }
            }
        }

        impl ::clbake::ProgramId for Program {
            fn index(self) -> usize { self as usize }
            fn name(self) -> &'static str { Program::name(self) }
        }

        /// Loads every program for the session's device (embedded binary, else source).
        pub fn load(session: &::clbake::Session) -> ::core::result::Result<::clbake::Programs<Program>, ::clbake::LoadError> {
            ::clbake::Programs::load(session, &BUNDLE, &::clbake::LoadOptions::from_env())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn camel_case() {
        assert_eq!(super::camel("conv2d_relu"), "Conv2dRelu");
        assert_eq!(super::camel("gemm_t16"), "GemmT16");
    }
}
