//! `include_kernels!`: parse → model (read the bundle) → codegen.
//!
//! The model is read from the bundle, not re-derived from the sources: the bake stored each
//! program's file stem, build variant, kernels in order and every kernel's parameters as
//! the driver (or clbake's reader) saw them.

use crate::groups::ProgramModel;
use crate::rust_type::camel;
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
pub(crate) struct Model {
    /// The bundle file (`include_bytes!` makes rustc track it).
    pub path: PathBuf,
    /// Its length in bytes.
    pub len: usize,
    /// Its programs.
    pub programs: Vec<ProgramModel>,
}

fn read_model(input: &Input) -> syn::Result<Model> {
    let span = input.name.as_ref().map(LitStr::span).unwrap_or_else(Span::call_site);
    let name = input.name.as_ref().map(LitStr::value).unwrap_or_else(|| "kernels".into());
    let out_dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
        syn::Error::new(
            span,
            "OUT_DIR is not set: include_kernels! needs a build.rs that calls clbake_core::build::bake_kernels(\"kernels\")",
        )
    })?;
    let path = PathBuf::from(out_dir).join("clbake").join(format!("{name}.clbk"));
    let bytes = std::fs::read(&path)
        .map_err(|e| syn::Error::new(span, format!("cannot read {}: {e} (does build.rs bake a bundle named `{name}`?)", path.display())))?;
    model_from_bytes(path, &bytes).map_err(|e| syn::Error::new(span, e))
}

/// The model of the bundle in `bytes`, read from `path`.
pub(crate) fn model_from_bytes(path: PathBuf, bytes: &[u8]) -> Result<Model, String> {
    let bundle = Bundle::parse(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let programs = bundle.programs().iter().map(ProgramModel::from_entry).collect();
    Ok(Model { path, len: bytes.len(), programs })
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: Input = syn::parse2(input)?;
    let model = read_model(&input)?;
    codegen(&model)
}

/// The whole expansion: the bundle, the `Program` enum, and the typed API.
pub(crate) fn codegen(model: &Model) -> syn::Result<TokenStream> {
    let path = model.path.to_string_lossy().to_string();
    let len = model.len;
    let variants = crate::rust_type::distinct(model.programs.iter().map(|p| format_ident!("{}", camel(&p.name))).collect(), &[]);
    let names: Vec<_> = model.programs.iter().map(|p| p.name.as_str()).collect();
    let kernel_lists: Vec<_> = model
        .programs
        .iter()
        .map(|p| {
            let ks: Vec<&str> = p.kernels.iter().map(|k| k.name.as_str()).collect();
            quote! { &[#(#ks),*] }
        })
        .collect();
    let docs: Vec<_> = model
        .programs
        .iter()
        .map(|p| {
            format!(" Program `{}`: kernels {}.", p.name, p.kernels.iter().map(|k| format!("`{}`", k.name)).collect::<Vec<_>>().join(", "))
        })
        .collect();
    let groups = crate::groups::group(&model.programs);
    let typed = crate::typed::codegen(&model.programs, &groups, &variants)?;
    let indices: Vec<_> = (0..model.programs.len()).map(proc_macro2::Literal::usize_unsuffixed).collect();
    let count = model.programs.len();
    Ok(quote! {
        #[repr(C, align(16))]
        struct __ClbakeAligned<T: ?Sized>(T);

        #[used]
        #[cfg_attr(any(target_os = "linux", target_os = "android", target_os = "freebsd"), link_section = ".clbake")]
        static __CLBAKE_BYTES: __ClbakeAligned<[u8; #len]> = __ClbakeAligned(*include_bytes!(#path));

        /// The embedded kernel bundle (sources and precompiled binaries), for the programs of
        /// [`Program`] only.
        pub static BUNDLE: ::clbake::Embedded<Program> = ::clbake::Embedded::new(&__CLBAKE_BYTES.0);

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

            /// Names of the program's kernels, in the bundle's order.
            pub const fn kernels(self) -> &'static [&'static str] {
                match self { #(Program::#variants => #kernel_lists,)* }
            }
        }

        impl ::clbake::ProgramId for Program {
            fn index(self) -> usize { self as usize }
            fn expected() -> ::core::option::Option<&'static [&'static str]> {
                ::core::option::Option::Some(&[#(#names),*])
            }
        }

        #typed
    })
}
