//! Code generation of the typed API: `Kernels`, one handle type per kernel file with one
//! method per kernel, and an enum per file with build variants.
//!
//! ```ignore
//! let k = kernels::Kernels::load(&session)?;
//! k.conv2d(kernels::Conv2d::Relu).conv2d_3x3(&session.queue, [8, 8, 16], None, &input, &w, &b, &mut out, 2, 1, 8, 8, 8, 1, 1, 8, 8)?;
//! k.pool().max_pool2d(&session.queue, [4, 4, 16], None, &out, &mut pooled, 16, 8, 8, 2, 2, 4, 4)?;
//! ```

use crate::groups::{Group, KernelModel, ProgramModel};
use crate::rust_type::{self, camel, distinct, ident};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// Names the generated code defines besides the per-file types.
const RESERVED_TYPES: &[&str] = &["Program", "Kernels"];
/// Methods of `Kernels` itself.
const KERNELS_METHODS: &[&str] = &["load", "new", "with_tuning", "programs", "programs_mut", "tuning", "set"];
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
        let handle = format!("{base}Kernels");
        let variant_enum = (g.uniform && g.members.iter().any(|(v, _)| v.is_some())).then(|| {
            if types.contains(&base) || groups.iter().any(|o| format!("{}Kernels", camel(&o.stem)) == base) {
                format!("{base}Variant")
            } else {
                base.clone()
            }
        });
        for name in std::iter::once(&handle).chain(variant_enum.as_ref()) {
            if types.contains(name) {
                return Err(syn::Error::new(
                    Span::call_site(),
                    format!("include_kernels!: kernel files give two generated types the name `{name}`; rename one of the files (stem `{}`)", g.stem),
                ));
            }
            types.push(name.clone());
        }
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
        let file = programs[g.members[0].1].source.lines().find_map(|l| l.strip_prefix("#line 1 \"")).map(|l| l.trim_end_matches('"').to_string());
        let file_doc = file.map(|f| format!(" (`{f}`)")).unwrap_or_default();
        match (&n.variant_enum, g.uniform) {
            (Some(enum_name), _) => {
                items.push(variant_enum(programs, g, enum_name, variants, &file_doc));
                items.push(handle(g, &n.handle, &format!("Kernels of the build variants of `{}`{file_doc}; select one with [`{enum_name}`].", g.stem))?);
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
                let program = &variants[g.members[0].1];
                items.push(handle(g, &n.handle, &format!("Kernels of program `{}`{file_doc}.", programs[g.members[0].1].name))?);
                let (method, handle_ty) = (&n.method, &n.handle);
                let doc = doc(&format!("The kernels of program `{}`{file_doc}.", programs[g.members[0].1].name));
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
                    let sub = Group { stem: programs[i].name.clone(), members: vec![(None, i)], kernels: crate::groups::group(&programs[i..=i])[0].kernels.clone(), uniform: true };
                    let handle_ty = format_ident!("{}Kernels", camel(&programs[i].name));
                    let text = format!("Kernels of program `{}`{file_doc}, built with `{}`.", programs[i].name, programs[i].options);
                    items.push(handle(&sub, &handle_ty, &text)?);
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
        /// kernel's OpenCL signature.
        #[allow(dead_code)]
        pub struct Kernels {
            set: ::clbake::KernelSet<Program>,
        }

        #[allow(dead_code)]
        impl Kernels {
            /// Loads every program (see [`load`]) and this device's tuned work sizes.
            pub fn load(session: &::clbake::Session) -> ::core::result::Result<Self, ::clbake::LoadError> {
                ::core::result::Result::Ok(Self::new(load(session)?, session))
            }

            /// Wraps programs already loaded from [`BUNDLE`] (e.g. with other
            /// [`LoadOptions`](::clbake::LoadOptions)) and reads this device's tuned work sizes.
            pub fn new(programs: ::clbake::Programs<Program>, session: &::clbake::Session) -> Self {
                Kernels { set: ::clbake::KernelSet::new(programs, &BUNDLE, session) }
            }

            /// Wraps programs with explicit tuning records ([`Tuning::none`](::clbake::Tuning::none)
            /// to let the driver choose every local size).
            pub fn with_tuning(programs: ::clbake::Programs<Program>, tuning: ::clbake::Tuning, session: &::clbake::Session) -> Self {
                Kernels { set: ::clbake::KernelSet::with_tuning(programs, tuning, session.device.id) }
            }

            /// The loaded programs (load report, untyped kernel access).
            pub fn programs(&self) -> &::clbake::Programs<Program> {
                self.set.programs()
            }

            /// The loaded programs, mutably (e.g. to rebuild one from source).
            pub fn programs_mut(&mut self) -> &mut ::clbake::Programs<Program> {
                self.set.programs_mut()
            }

            /// The tuned work sizes in use.
            pub fn tuning(&self) -> &::clbake::Tuning {
                self.set.tuning()
            }

            #(#accessors)*
        }

        #(#items)*
    })
}

fn variant_enum(programs: &[ProgramModel], g: &Group, name: &Ident, program_variants: &[Ident], file_doc: &str) -> TokenStream {
    let variants: Vec<Ident> = g.members.iter().map(|(v, _)| format_ident!("{}", camel(v.as_deref().unwrap_or("default")))).collect();
    let programs_of: Vec<&Ident> = g.members.iter().map(|&(_, i)| &program_variants[i]).collect();
    let docs: Vec<TokenStream> = g.members.iter().map(|&(_, i)| doc(&format!("Program `{}`, built with `{}`.", programs[i].name, programs[i].options))).collect();
    let labels: Vec<&str> = g.members.iter().map(|(v, _)| v.as_deref().unwrap_or("")).collect();
    let count = variants.len();
    let doc = doc(&format!("Build variants of `{}`{file_doc} (`// clbake:variant` lines).", g.stem));
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

            /// The variant's name in the `// clbake:variant` line.
            pub const fn name(self) -> &'static str {
                match self { #(#name::#variants => #labels,)* }
            }
        }
    }
}

fn handle(g: &Group, name: &Ident, doc_text: &str) -> syn::Result<TokenStream> {
    let mut methods = Vec::new();
    let mut untyped = Vec::new();
    let method_names = distinct(g.kernels.iter().map(|k| ident(&k.name, "kernel")).collect(), &["program"]);
    for (k, method) in g.kernels.iter().zip(method_names) {
        match kernel_method(k, &method) {
            Ok(m) => methods.push(m),
            Err(why) => untyped.push(format!("- `{}`: {why}", k.name)),
        }
    }
    let mut text = doc_text.to_string();
    if !untyped.is_empty() {
        text.push_str(&format!(
            "\n\nKernels without a typed method (use `programs().kernel(..)` and `opencl3` for them):\n{}",
            untyped.join("\n")
        ));
    }
    let doc = doc(&text);
    Ok(quote! {
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
    })
}

/// `#[doc]` attributes, one per line, each starting with a space (reads as `/// line`).
pub(crate) fn doc(text: &str) -> TokenStream {
    let lines = text.trim_end().lines().map(|l| if l.is_empty() { String::new() } else { format!(" {l}") });
    quote! { #(#[doc = #lines])* }
}

/// The OpenCL declaration laid out one parameter per line, for the docs.
fn c_declaration(sig: &clbake_core::signature::KernelSignature) -> String {
    let head = sig.text.find(&format!("{}(", sig.name)).or_else(|| sig.text.find(&format!("{} (", sig.name))).map(|at| &sig.text[..at]);
    let head = head.map_or_else(|| format!("__kernel void {}", sig.name), |h| format!("{h}{}", sig.name));
    if sig.params.is_empty() {
        return format!("{head}(void)");
    }
    let params: Vec<String> = sig.params.iter().map(|p| format!("    {}", p.text)).collect();
    format!("{head}(\n{})", params.join(",\n"))
}

fn kernel_method(k: &KernelModel, method: &Ident) -> Result<TokenStream, String> {
    let sig = k.signature.as_ref().map_err(|e| e.problem.clone())?;
    let types: Vec<TokenStream> = sig
        .params
        .iter()
        .map(|p| rust_type::param(&p.ty).ok_or_else(|| format!("parameter `{}` has a type clbake cannot pass yet", p.name)))
        .collect::<Result<_, _>>()?;
    let params = distinct(sig.params.iter().enumerate().map(|(i, p)| ident(&p.name, &format!("arg{i}"))).collect(), LAUNCH_PARAMS);
    let kernel = &k.name;
    let mut text = format!("Enqueues kernel `{kernel}` on `queue` and returns its event:\n\n```c\n{}\n```\n", c_declaration(sig));
    if let Some(r) = sig.reqd_work_group_size {
        text.push_str(&format!("\nThe kernel requires local size {r:?}; `local = None` uses it.\n"));
    } else if let Some(a) = sig.attributes.iter().find(|a| a.starts_with("reqd_work_group_size")) {
        text.push_str(&format!("\nThe kernel declares `{a}`; `local = None` uses it.\n"));
    } else {
        text.push_str("\n`local = None` uses the size `clbake bake --tune` measured for this device, if any, else the driver's choice.\n");
    }
    let doc = doc(&text);
    Ok(quote! {
        #doc
        #[allow(non_snake_case, clippy::too_many_arguments)]
        pub fn #method<W: ::clbake::launch::WorkSize>(
            &self,
            queue: &::clbake::launch::CommandQueue,
            global: W,
            local: ::core::option::Option<W>,
            #(#params: #types,)*
        ) -> ::core::result::Result<::clbake::launch::Event, ::clbake::LaunchError> {
            self.set
                .launch(self.program, #kernel)?
                #(.arg(#params))*
                .enqueue(queue, global, local)
        }
    })
}
