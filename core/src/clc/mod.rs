//! Reading OpenCL C without a device: a real preprocessor and a kernel-signature reader.
//!
//! clbake generates one typed method per kernel. With a device at build time the driver's
//! `clGetKernelArgInfo` describes the parameters; without one, [`read`] gives the same
//! description ([`KernelInfo`], [`ParamInfo`], in the driver's spelling) by preprocessing
//! the program with its build options as a compiler would, then reading every `__kernel`
//! declaration. No OpenCL call is made.
//!
//! ```
//! use clbake_core::clc::{self, AddressQualifier, TypeQualifiers};
//!
//! let src = "#define TENSOR(name) __global uchar* name##_ptr, uint name##_stride\n\
//!            #ifdef cl_khr_fp16\n\
//!            kernel void half_only(__global half* x) {}\n\
//!            #endif\n\
//!            __attribute__((reqd_work_group_size(TILE, TILE, 1)))\n\
//!            kernel void scale(TENSOR(src), __global const T* restrict w, int n) {}";
//! let reading = clc::read(src, "-DT=float -DTILE=8");
//! let (name, half_only) = &reading.kernels[0];
//! assert_eq!(name, "half_only");
//! assert!(half_only.as_ref().unwrap_err().contains("cl_khr_fp16")); // device-dependent: no signature
//! let scale = reading.kernels[1].1.as_ref().unwrap();
//! assert_eq!(scale.reqd_work_group_size, Some([8, 8, 1]));
//! let names: Vec<&str> = scale.params.iter().map(|p| p.name.as_str()).collect();
//! assert_eq!(names, ["src_ptr", "src_stride", "w", "n"]);
//! assert_eq!(scale.params[2].type_name, "float*");
//! assert_eq!(scale.params[2].address, AddressQualifier::Global);
//! assert!(scale.params[2].type_qualifiers.contains(TypeQualifiers::CONST));
//! assert_eq!(scale.params[1].type_name, "uint");
//! ```
//!
//! # What it guarantees: the certainty rule
//!
//! A signature is either exact (what the driver would report on every device, given these
//! options) or an error saying why not; never a guess. Some conditions only the device can
//! answer: extension macros (`cl_khr_fp16`), OpenCL C feature macros, vendor macros (see
//! [`DEVICE_DEPENDENT_NAMES`] and [`DEVICE_DEPENDENT_PREFIXES`]). A conditional that depends on
//! one is not decided: every arm that might be taken is processed, and everything it
//! produces is marked uncertain ([`Tok::doubt`]), as is every macro it defines or undefines
//! (and so everything those macros expand to, and conditionals that test them). A kernel
//! whose parameter list, name or required work-group size holds an uncertain token is an
//! error naming the device-dependent cause. Known conditionals are decided as a compiler
//! would, and only the taken arm counts. An `#error` reached in certain code is an error of
//! the program under these options ([`Reading::errors`]); in uncertain code it is a note.
//!
//! # Modules
//! - [`lex`]: the tokenizer; [`pp`]: the preprocessor; [`expr`]: `#if` arithmetic.
//! - [`types`](mod@types): the parameter models and [`classify`].
//! - [`key`]: [`token_hash`], a hash that comment edits do not change.

mod decl;
pub mod directives;
mod expand;
pub mod expr;
pub mod include;
pub mod key;
pub mod lex;
mod macros;
pub mod pp;
mod signature;
pub mod token;
pub mod types;

#[cfg(test)]
mod tests;

pub use expr::Tri;
pub use key::token_hash;
pub use macros::{is_device_dependent, DEVICE_DEPENDENT_NAMES, DEVICE_DEPENDENT_PREFIXES};
pub use pp::{evaluate_condition, preprocess, Preprocessed};
pub use token::{Doubt, LineMap, Tok};
pub use types::{
    classify, short_rust_type, AccessQualifier, AddressQualifier, AddressSpace, ImageKind, KernelInfo, ParamInfo, ParamType, ScalarKind,
    TypeQualifiers, ValueType,
};

use std::collections::BTreeMap;

/// What [`read`] found in a program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Every kernel in order of first appearance, with its signature or why it could not be read exactly.
    pub kernels: Vec<(String, Result<KernelInfo, String>)>,
    /// `#error`s reached in certain code: the program does not compile under these options
    /// (message with its original file:line). Also malformed directives and `#if` expressions.
    pub errors: Vec<String>,
    /// Problems in device-dependent code and ignored directives (`#include` left in the text).
    pub notes: Vec<String>,
    /// typedef name -> resolved OpenCL type name (`real` -> `float`), for resolving driver-reported names.
    pub typedefs: BTreeMap<String, String>,
}

/// Preprocesses `source` (a program with its includes expanded, as
/// [`crate::clc::include::expand`] writes it) with the build options `options` and reads
/// every `__kernel` declared at file scope.
///
/// Options understood: `-D NAME`, `-DNAME`, `-D NAME=VALUE`, `-DNAME=VALUE` (no value is
/// `1`), `-U NAME`, `-cl-fast-relaxed-math` (defines `__FAST_RELAXED_MATH__`) and
/// `-cl-std=CLx.y` (`__OPENCL_C_VERSION__`); others are ignored.
pub fn read(source: &str, options: &str) -> Reading {
    let pre = preprocess(source, options);
    let found = signature::scan(&pre.tokens);
    Reading { kernels: found.kernels, errors: pre.errors, notes: pre.notes, typedefs: found.typedefs }
}

/// Kernel names only, in order (what the build uses to list a program's kernels when there is no device).
///
/// Includes kernels declared only in device-dependent code; [`read`] says which.
pub fn kernel_names(source: &str, options: &str) -> Vec<String> {
    read(source, options).kernels.into_iter().map(|(name, _)| name).collect()
}

/// Resolves a type name a driver reported through `typedefs` ([`Reading::typedefs`]):
/// `real*` → `float*` after `typedef float real;`. Other names come back unchanged.
pub fn resolve_type_name(name: &str, typedefs: &BTreeMap<String, String>) -> String {
    let trimmed = name.trim();
    let base = trimmed.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    let stars = trimmed.get(base.len()..).map_or(0, |s| s.matches('*').count());
    let mut resolved = base;
    for _ in 0..16 {
        match typedefs.get(resolved) {
            Some(next) if next != resolved => resolved = next,
            _ => break,
        }
    }
    if resolved == base {
        return name.to_string();
    }
    format!("{resolved}{}", "*".repeat(stars))
}
