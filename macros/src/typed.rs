//! Code generation of the typed API: `Kernels`, one handle type per kernel file with one
//! method per kernel, and an enum per file with build variants.
//!
//! ```ignore
//! let k = kernels::Kernels::load(&session)?;
//! k.conv2d(kernels::Conv2d::Relu).conv2d_3x3(session.queue(), [8, 8, 16], None, &input, &w, &b, &mut out, 2, 1, 8, 8, 8, 1, 1, 8, 8)?;
//! k.pool().max_pool2d(session.queue(), [4, 4, 16], None, &out, &mut pooled, 16, 8, 8, 2, 2, 4, 4)?;
//! ```

use crate::groups::{Group, ProgramModel};
use crate::rust_type::{self, camel, distinct, ident, raw_ident};
use clbake_core::clc::classify;
use clbake_core::format::{KernelRecord, SignatureOrigin};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// Names the generated code defines besides the per-file types.
const RESERVED_TYPES: &[&str] = &["Program", "Kernels"];
/// Methods of `Kernels` itself.
const KERNELS_METHODS: &[&str] = &["load", "load_eager", "with_options", "set", "report", "recover", "with_tuning", "preload"];
/// Parameter names of every kernel method before the kernel's own.
const LAUNCH_PARAMS: &[&str] = &["self", "queue", "global", "local", "W"];

/// Type names chosen for one group.
struct Names {
    handle: Ident,
    variant_enum: Option<Ident>,
    method: Ident,
}

fn choose_names(groups: &[Group]) -> syn::Result<Vec<Names>> {
    let mut types: Vec<String> = RESERVED_TYPES.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let methods = distinct(groups.iter().map(|g| ident(&g.stem, "program")).collect(), KERNELS_METHODS);
    for (g, method) in groups.iter().zip(methods) {
        let base = camel(&g.stem);
        let mut handle = format!("{base}Kernels");
        while types.contains(&handle) {
            handle.push('_');
        }
        types.push(handle.clone());
        let variant_enum = (g.uniform && g.members.iter().any(|(v, _)| v.is_some())).then(|| {
            let mut name = if types.contains(&base) || groups.iter().any(|o| format!("{}Kernels", camel(&o.stem)) == base) {
                format!("{base}Variant")
            } else {
                base.clone()
            };
            while types.contains(&name) {
                name.push('_');
            }
            types.push(name.clone());
            name
        });
        out.push(Names { handle: format_ident!("{}", handle), variant_enum: variant_enum.map(|v| format_ident!("{}", v)), method });
    }
    Ok(out)
}

/// The typed API for `groups` of `programs` (whose `Program` enum variants are `variants`).
pub(crate) fn codegen(programs: &[ProgramModel], groups: &[Group], variants: &[Ident]) -> syn::Result<TokenStream> {
    let names = choose_names(groups)?;
    let mut items = Vec::new();
    let mut accessors = Vec::new();
    for (g, n) in groups.iter().zip(&names) {
        let file_doc = format!(" (`{}.cl`)", g.stem);
        match (&n.variant_enum, g.uniform) {
            (Some(enum_name), _) => {
                items.push(variant_enum(programs, g, enum_name, variants, &file_doc));
                items.push(handle(
                    &g.kernels,
                    &n.handle,
                    &format!("Kernels of the build variants of `{}`{file_doc}; select one with [`{enum_name}`].", g.stem),
                ));
                let (method, handle_ty) = (&n.method, &n.handle);
                let doc = doc(&format!("The kernels of `{}`{file_doc}, in the build variant `variant`.", g.stem));
                accessors.push(quote! {
                    #doc
                    pub fn #method(&self, variant: #enum_name) -> #handle_ty<'_> {
                        #handle_ty { set: &self.set, program: variant.program() }
                    }
                });
            }
            (None, true) => {
                let i = g.members[0].1;
                let program = &variants[i];
                items.push(handle(&g.kernels, &n.handle, &format!("Kernels of program `{}`{file_doc}.", programs[i].name)));
                let (method, handle_ty) = (&n.method, &n.handle);
                let doc = doc(&format!("The kernels of program `{}`{file_doc}.", programs[i].name));
                accessors.push(quote! {
                    #doc
                    pub fn #method(&self) -> #handle_ty<'_> {
                        #handle_ty { set: &self.set, program: Program::#program }
                    }
                });
            }
            (None, false) => {
                // Variants whose argument types differ: one handle type per program.
                for &(_, i) in &g.members {
                    let handle_ty = format_ident!("{}Kernels", camel(&programs[i].name));
                    let text = format!("Kernels of program `{}`{file_doc}, built with `{}`.", programs[i].name, programs[i].options);
                    items.push(handle(&programs[i].kernels, &handle_ty, &text));
                    let doc = doc(&text);
                    let method = ident(&programs[i].name, "program");
                    let program = &variants[i];
                    accessors.push(quote! {
                        #doc
                        pub fn #method(&self) -> #handle_ty<'_> {
                            #handle_ty { set: &self.set, program: Program::#program }
                        }
                    });
                }
            }
        }
    }
    Ok(quote! {
        /// Typed access to the kernels of [`BUNDLE`]: one method per kernel file returns a
        /// handle with one method per kernel, whose arguments rustc checks against the
        /// kernel's OpenCL signature. Programs are created on first use (see
        /// [`load`](Self::load)); `Kernels` is `Send + Sync`.
        #[allow(dead_code)]
        pub struct Kernels {
            set: ::clbake::KernelSet<Program>,
        }

        #[allow(dead_code)]
        impl Kernels {
            /// Opens the bundle for the session's device; each program is created the first
            /// time one of its kernels is launched (embedded binary, else disk cache, else
            /// source). Options from the environment (`CLBAKE_*`).
            pub fn load(session: &::clbake::Session) -> ::core::result::Result<Self, ::clbake::Error> {
                Self::with_options(session, &::clbake::LoadOptions::from_env()?, false)
            }

            /// Like [`load`](Self::load), creating every program now.
            pub fn load_eager(session: &::clbake::Session) -> ::core::result::Result<Self, ::clbake::Error> {
                Self::with_options(session, &::clbake::LoadOptions::from_env()?, true)
            }

            /// Loads with explicit options, lazily or (`eager`) all programs now.
            pub fn with_options(session: &::clbake::Session, options: &::clbake::LoadOptions, eager: bool) -> ::core::result::Result<Self, ::clbake::Error> {
                Self::with_bundle(session, BUNDLE, options, eager)
            }

            /// Loads from another bundle of the same programs instead of [`BUNDLE`] (one
            /// read at run time: see [`Embedded::replaced_by`](::clbake::Embedded::replaced_by)).
            pub fn with_bundle(session: &::clbake::Session, bundle: ::clbake::Embedded<Program>, options: &::clbake::LoadOptions, eager: bool) -> ::core::result::Result<Self, ::clbake::Error> {
                let set = if eager {
                    ::clbake::KernelSet::load_eager(session, &bundle, options)?
                } else {
                    ::clbake::KernelSet::load(session, &bundle, options)?
                };
                ::core::result::Result::Ok(Kernels { set })
            }

            /// The programs (untyped, checked launches; what was loaded, and how).
            pub fn set(&self) -> &::clbake::KernelSet<Program> {
                &self.set
            }

            /// What the loads so far did.
            pub fn report(&self) -> ::clbake::LoadReport {
                self.set.report()
            }

            /// Creates `programs` now, several at once, instead of at their first launch.
            pub fn preload(&self, programs: &[Program]) {
                self.set.preload(programs)
            }

            /// Rebuilds `program` from source after one of its kernels failed to run from a
            /// binary (see [`KernelSet::recover`](::clbake::KernelSet::recover)).
            pub fn recover(&self, program: Program, cause: &dyn ::core::fmt::Display) -> ::core::result::Result<(), ::clbake::Error> {
                self.set.recover(program, cause)
            }

            /// Replaces the tuned work sizes ([`Tuning::none`](::clbake::Tuning::none) lets
            /// the driver choose every local size).
            pub fn with_tuning(self, tuning: ::clbake::Tuning) -> Self {
                Kernels { set: self.set.with_tuning(tuning) }
            }

            #(#accessors)*
        }

        #(#items)*
    })
}

fn variant_enum(programs: &[ProgramModel], g: &Group, name: &Ident, program_variants: &[Ident], file_doc: &str) -> TokenStream {
    let variants = distinct(g.members.iter().map(|(v, _)| format_ident!("{}", camel(v.as_deref().unwrap_or("default")))).collect(), &[]);
    let programs_of: Vec<&Ident> = g.members.iter().map(|&(_, i)| &program_variants[i]).collect();
    let docs: Vec<TokenStream> =
        g.members.iter().map(|&(_, i)| doc(&format!("Program `{}`, built with `{}`.", programs[i].name, programs[i].options))).collect();
    let labels: Vec<&str> = g.members.iter().map(|(v, _)| v.as_deref().unwrap_or("")).collect();
    let count = variants.len();
    let doc = doc(&format!("Build variants of `{}`{file_doc} (`// clbake:variant` lines, or declared by the build script).", g.stem));
    quote! {
        #doc
        #[allow(dead_code)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum #name {
            #(#docs #variants,)*
        }

        #[allow(dead_code)]
        impl #name {
            /// Every variant, in bundle order.
            pub const ALL: [#name; #count] = [#(#name::#variants),*];

            /// The program built for this variant.
            pub const fn program(self) -> Program {
                match self { #(#name::#variants => Program::#programs_of,)* }
            }

            /// The variant's name.
            pub const fn name(self) -> &'static str {
                match self { #(#name::#variants => #labels,)* }
            }
        }
    }
}

fn handle(kernels: &[KernelRecord], name: &Ident, doc_text: &str) -> TokenStream {
    let mut methods = Vec::new();
    let mut untyped = Vec::new();
    let method_names = distinct(kernels.iter().map(|k| ident(&k.name, "kernel")).collect(), &["program"]);
    for (index, (k, method)) in kernels.iter().zip(method_names).enumerate() {
        match kernel_method(k, index, &method) {
            Ok(m) => methods.push(m),
            Err(why) => untyped.push(format!("- `{}`: {why}", k.name)),
        }
    }
    let mut text = doc_text.to_string();
    if !untyped.is_empty() {
        text.push_str(&format!(
            "\n\nKernels without a typed method (launch them with `Kernels::set().launch_named(..)`, whose arguments are checked at run time):\n{}",
            untyped.join("\n")
        ));
    }
    let doc = doc(&text);
    quote! {
        #doc
        #[allow(dead_code)]
        #[derive(Clone, Copy)]
        pub struct #name<'a> {
            set: &'a ::clbake::KernelSet<Program>,
            program: Program,
        }

        #[allow(dead_code)]
        impl #name<'_> {
            /// The program these kernels come from.
            pub fn program(&self) -> Program {
                self.program
            }

            #(#methods)*
        }
    }
}

/// `#[doc]` attributes, one per line, each starting with a space (reads as `/// line`).
pub(crate) fn doc(text: &str) -> TokenStream {
    let lines = text.trim_end().lines().map(|l| if l.is_empty() { String::new() } else { format!(" {l}") });
    quote! { #(#[doc = #lines])* }
}

/// The OpenCL declaration laid out one parameter per line, for the docs.
fn c_declaration(k: &KernelRecord) -> String {
    if k.params.is_empty() {
        return format!("__kernel void {}(void)", k.name);
    }
    let params: Vec<String> = k.params.iter().map(|p| format!("    {}", p.c_declaration())).collect();
    format!("__kernel void {}(\n{})", k.name, params.join(",\n"))
}

fn kernel_method(k: &KernelRecord, index: usize, method: &Ident) -> Result<TokenStream, String> {
    if let Some((param, why)) = k.why_untyped() {
        return Err(match param {
            Some(p) => format!("parameter `{p}`: {why}"),
            None => why,
        });
    }
    let types: Vec<TokenStream> = k
        .params
        .iter()
        .map(|p| {
            classify(p)
                .ok()
                .and_then(|t| rust_type::param(&t))
                .ok_or_else(|| format!("parameter `{}` has a type clbake cannot pass yet", p.name))
        })
        .collect::<Result<_, _>>()?;
    let params = distinct(k.params.iter().enumerate().map(|(i, p)| raw_ident(&p.name, &format!("arg{i}"))).collect(), LAUNCH_PARAMS);
    let origin = match k.origin {
        SignatureOrigin::Driver => "as the driver reported it when the program was baked",
        _ => "as clbake's reader found it (no device at build time)",
    };
    let mut text = format!(
        "Enqueues kernel `{}` on `queue` and returns its event. Its signature, {origin}:\n\n```c\n{}\n```\n",
        k.name,
        c_declaration(k)
    );
    if let Some(r) = k.reqd_work_group_size {
        text.push_str(&format!("\nThe kernel requires local size {r:?}; `local = None` uses it.\n"));
    } else {
        text.push_str("\n`local = None` uses the size `clbake bake --tune` measured for this device, if any, else the driver's choice.\n");
    }
    text.push_str(
        "\n# Contract\nrustc checks the argument types, and the launch checks them again against this device's driver. \
         What neither can check is the kernel's own indexing: pass buffers at least as large as the indices the kernel \
         computes from its size arguments and the work sizes, or it reads and writes past them, as it would from C.\n",
    );
    let doc = doc(&text);
    let index = proc_macro2::Literal::usize_unsuffixed(index);
    let _ = Span::call_site();
    Ok(quote! {
        #doc
        #[allow(non_snake_case, clippy::too_many_arguments)]
        pub fn #method<W: ::clbake::WorkSize>(
            &self,
            queue: &::clbake::Queue,
            global: W,
            local: ::core::option::Option<W>,
            #(#params: #types,)*
        ) -> ::core::result::Result<::clbake::Event, ::clbake::Error> {
            self.set
                .launch(self.program, #index)?
                #(.arg(#params))*
                .enqueue(queue, global, local)
        }
    })
}
