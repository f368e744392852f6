//! OpenCL C kernel signatures, read from (expanded) program source.
//!
//! Used by `include_kernels!` to generate one typed Rust method per kernel and by
//! `clbake bake --tune` to allocate arguments, so both read a kernel the same way.
//!
//! ```
//! use clbake_core::signature::{parse_signatures, AddressSpace, ParamType, ScalarKind};
//!
//! let src = "__attribute__((reqd_work_group_size(TILE, TILE, 1)))\n\
//!            __kernel void scale(__global const T* x, __global T* y, __local T* tmp, float4 k, int n) {}";
//! let sigs = parse_signatures(src, "-DT=float -DTILE=8");
//! let scale = sigs[0].1.as_ref().unwrap();
//! assert_eq!(scale.reqd_work_group_size, Some([8, 8, 1]));
//! match &scale.params[1].ty {
//!     ParamType::Pointer { space, elem, is_const } => {
//!         assert_eq!((*space, elem.scalar, *is_const), (AddressSpace::Global, ScalarKind::Float, false));
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! The reader is a small tokenizer, not a C compiler. It strips comments, reads
//! preprocessor lines only for simple object-like `#define NAME VALUE` (so type macros such
//! as `-DT=half` or `#define REAL float` resolve; `-D` options win over the source, the first
//! `#define` of a name wins over later ones, `#if` is not evaluated) and `typedef`s of
//! OpenCL types. A kernel whose signature uses anything else (structs, `void*`, macros that
//! produce the whole declaration) comes back as a [`SignatureError`] naming the problem.

mod lex;
mod types;

pub use types::{AccessQualifier, AddressSpace, ImageKind, ScalarKind, ValueType};

use lex::{Lexed, Tok};
use std::collections::HashMap;

/// The signature of one `__kernel` function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelSignature {
    /// Kernel (function) name.
    pub name: String,
    /// Parameters, in order.
    pub params: Vec<Param>,
    /// `__attribute__((...))` contents attached to the kernel, as written
    /// (e.g. `reqd_work_group_size(TILE, TILE, 1)`).
    pub attributes: Vec<String>,
    /// `reqd_work_group_size` when all three values resolve to integers.
    pub reqd_work_group_size: Option<[usize; 3]>,
    /// The declaration as written, up to the closing parenthesis, whitespace collapsed.
    pub text: String,
}

/// One kernel parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Parameter name as written.
    pub name: String,
    /// What the parameter is.
    pub ty: ParamType,
    /// The parameter as written, whitespace collapsed (e.g. `__global const float* in`).
    pub text: String,
}

/// The kind and type of a kernel parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// A pointer into `__global`, `__constant` or `__local` memory.
    Pointer {
        /// Address space of the pointee.
        space: AddressSpace,
        /// Element type.
        elem: ValueType,
        /// The pointee is `const` (the kernel only reads it). `__constant` pointers are
        /// read-only whether or not they say `const`.
        is_const: bool,
    },
    /// A scalar or vector passed by value.
    Value(ValueType),
    /// An image object.
    Image {
        /// Image dimensionality.
        kind: ImageKind,
        /// `read_only` (the default), `write_only` or `read_write`.
        access: AccessQualifier,
    },
    /// A `sampler_t`.
    Sampler,
}

impl ParamType {
    /// Whether the kernel may write through this argument (a non-const `__global` pointer
    /// or a `write_only` / `read_write` image).
    pub fn is_output(&self) -> bool {
        match self {
            ParamType::Pointer { space: AddressSpace::Global, is_const, .. } => !is_const,
            ParamType::Image { access, .. } => *access != AccessQualifier::ReadOnly,
            _ => false,
        }
    }
}

/// Why a kernel's signature could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("kernel `{kernel}`: {problem}")]
pub struct SignatureError {
    /// Kernel name (or `?` when even the name could not be found).
    pub kernel: String,
    /// What is not understood or not allowed.
    pub problem: String,
}

/// Every `__kernel` (or `kernel`) function of `source`, in order of first appearance, each
/// with its signature or the reason it could not be read. `options` are the program's build
/// options; their `-D` defines take part in resolving type names.
///
/// A kernel declared more than once (prototype, then definition) appears once, with the
/// definition's parameter names.
pub fn parse_signatures(source: &str, options: &str) -> Vec<(String, Result<KernelSignature, SignatureError>)> {
    let code = crate::source::strip_comments(source);
    let lexed = lex::lex(&code);
    let mut names = Names::from_options(options);
    names.add_source_defines(&lexed.defines);
    names.add_typedefs(&lexed);
    let mut out: Vec<(String, Result<KernelSignature, SignatureError>, bool)> = Vec::new();
    for start in kernel_starts(&lexed) {
        let Some((name, result, is_definition)) = parse_kernel(&lexed, start, &names) else { continue };
        match out.iter_mut().find(|(n, _, _)| *n == name) {
            Some(slot) if is_definition && !slot.2 => *slot = (name, result, true),
            Some(_) => {}
            None => out.push((name, result, is_definition)),
        }
    }
    out.into_iter().map(|(n, r, _)| (n, r)).collect()
}

/// Defines and typedefs that type names resolve through.
struct Names {
    map: HashMap<String, Vec<String>>,
}

impl Names {
    fn from_options(options: &str) -> Self {
        let mut map = HashMap::new();
        let mut words = options.split_whitespace();
        while let Some(w) = words.next() {
            let def = match w.strip_prefix("-D") {
                Some("") => words.next().unwrap_or_default(),
                Some(d) => d,
                None => continue,
            };
            let (k, v) = def.split_once('=').unwrap_or((def, "1"));
            if !k.is_empty() {
                map.insert(k.to_string(), lex::lex(v).toks.into_iter().map(|t| t.text).collect());
            }
        }
        Names { map }
    }

    fn add_source_defines(&mut self, defines: &[(String, String)]) {
        for (k, v) in defines {
            if !self.map.contains_key(k) {
                self.map.insert(k.clone(), lex::lex(v).toks.into_iter().map(|t| t.text).collect());
            }
        }
    }

    /// `typedef TYPE... NAME;` at file scope.
    fn add_typedefs(&mut self, lexed: &Lexed) {
        let toks = &lexed.toks;
        for (i, t) in toks.iter().enumerate() {
            if t.text != "typedef" || t.depth != 0 {
                continue;
            }
            let Some(end) = toks[i..].iter().position(|t| t.text == ";" || t.text == "{").map(|p| i + p) else { continue };
            if toks[end].text != ";" || end < i + 3 {
                continue;
            }
            let name = &toks[end - 1].text;
            if lex::is_ident(name) && !self.map.contains_key(name) {
                self.map.insert(name.clone(), toks[i + 1..end - 1].iter().map(|t| t.text.clone()).collect());
            }
        }
    }

    /// Replaces every name that is a define or typedef by its value (nested up to 16 deep).
    fn expand(&self, words: &[String]) -> Vec<String> {
        let mut cur: Vec<String> = words.to_vec();
        for _ in 0..16 {
            let mut changed = false;
            let mut next = Vec::with_capacity(cur.len());
            for w in cur {
                match self.map.get(&w) {
                    Some(v) if !v.contains(&w) => {
                        next.extend(v.iter().cloned());
                        changed = true;
                    }
                    _ => next.push(w),
                }
            }
            cur = next;
            if !changed {
                break;
            }
        }
        cur
    }
}

/// Token indices of `__kernel` / `kernel` at file scope.
fn kernel_starts(lexed: &Lexed) -> Vec<usize> {
    lexed
        .toks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.depth == 0 && (t.text == "__kernel" || t.text == "kernel"))
        .map(|(i, _)| i)
        .collect()
}

/// Index just past the parenthesised group starting at `open` (which must be `(`).
fn skip_group(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(open) {
        match t.text.as_str() {
            "(" => depth += 1,
            ")" => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The attribute token ranges `__attribute__ (( ... ))` directly before token `at`.
fn attributes_before(toks: &[Tok], at: usize) -> Vec<(usize, usize)> {
    // Attributes end with `))`; walk back over whole groups.
    let mut out = Vec::new();
    let mut end = at;
    while end >= 2 && toks[end - 1].text == ")" {
        let mut depth = 0usize;
        let mut j = end;
        let mut open = None;
        while j > 0 {
            j -= 1;
            match toks[j].text.as_str() {
                ")" => depth += 1,
                "(" => {
                    depth -= 1;
                    if depth == 0 {
                        open = Some(j);
                        break;
                    }
                }
                _ => {}
            }
        }
        match open {
            Some(o) if o >= 1 && matches!(toks[o - 1].text.as_str(), "__attribute__" | "__attribute") => {
                out.push((o - 1, end));
                end = o - 1;
            }
            _ => break,
        }
    }
    out.reverse();
    out
}

/// The text inside `__attribute__((...))` spanning tokens `[from, to)`.
fn attribute_text(lexed: &Lexed, from: usize, to: usize) -> String {
    // Skip `__attribute__ ( (` and the matching `) )`.
    if to < from + 5 {
        return String::new();
    }
    lexed.text(from + 3, to - 2)
}

fn parse_kernel(lexed: &Lexed, start: usize, names: &Names) -> Option<(String, Result<KernelSignature, SignatureError>, bool)> {
    let toks = &lexed.toks;
    let mut attrs: Vec<(usize, usize)> = attributes_before(toks, start);
    // Walk to the name: the identifier before the first `(` that is not an attribute's.
    let mut i = start + 1;
    let name_at = loop {
        let t = toks.get(i)?;
        if matches!(t.text.as_str(), "__attribute__" | "__attribute") {
            let end = skip_group(toks, i + 1)?;
            attrs.push((i, end));
            i = end;
            continue;
        }
        if matches!(t.text.as_str(), ";" | "{" | "}") {
            return None;
        }
        if toks.get(i + 1).is_some_and(|n| n.text == "(") && lex::is_ident(&t.text) {
            break i;
        }
        i += 1;
    };
    let name = toks[name_at].text.clone();
    let open = name_at + 1;
    let close = skip_group(toks, open)?; // one past `)`
    let mut after = close;
    while toks.get(after).is_some_and(|t| matches!(t.text.as_str(), "__attribute__" | "__attribute")) {
        let end = skip_group(toks, after + 1)?;
        attrs.push((after, end));
        after = end;
    }
    let is_definition = toks.get(after).is_some_and(|t| t.text == "{");
    let err = |problem: String| SignatureError { kernel: name.clone(), problem };
    let ret: Vec<&str> = toks[start + 1..name_at]
        .iter()
        .map(|t| t.text.as_str())
        .filter(|t| !matches!(*t, "__kernel" | "kernel" | "(" | ")" | "__attribute__" | "__attribute"))
        .collect();
    let attributes: Vec<String> = attrs.iter().map(|&(a, b)| attribute_text(lexed, a, b)).collect();
    let result = (|| {
        if !ret.contains(&"void") {
            return Err(err(format!("kernels must return void (found `{}`)", lexed.text(start + 1, name_at))));
        }
        let params = parse_params(lexed, open + 1, close - 1, names).map_err(err)?;
        let reqd = attributes.iter().find_map(|a| reqd_size(a, names));
        let first = attrs.iter().map(|a| a.0).chain([start]).min().unwrap_or(start);
        Ok(KernelSignature { name: name.clone(), params, reqd_work_group_size: reqd, attributes: attributes.clone(), text: lexed.text(first, close) })
    })();
    Some((name.clone(), result, is_definition))
}

/// `reqd_work_group_size(X, Y, Z)` with X, Y, Z resolved to integers.
fn reqd_size(attr: &str, names: &Names) -> Option<[usize; 3]> {
    let rest = attr.trim().strip_prefix("reqd_work_group_size")?.trim().strip_prefix('(')?.strip_suffix(')')?;
    let mut out = [0usize; 3];
    let parts: Vec<&str> = rest.split(',').collect();
    if parts.len() != 3 {
        return None;
    }
    for (o, p) in out.iter_mut().zip(parts) {
        let words = names.expand(&[p.trim().to_string()]);
        let joined: String = words.concat();
        let joined = joined.trim_start_matches('(').trim_end_matches(')');
        *o = joined.trim_end_matches(['u', 'U']).parse().ok()?;
    }
    Some(out)
}

fn parse_params(lexed: &Lexed, from: usize, to: usize, names: &Names) -> Result<Vec<Param>, String> {
    let toks = &lexed.toks;
    if from >= to || (to == from + 1 && toks[from].text == "void") {
        return Ok(Vec::new());
    }
    let mut params = Vec::new();
    let mut depth = 0usize;
    let mut begin = from;
    for j in from..=to {
        let at_end = j == to;
        let text = if at_end { "," } else { toks[j].text.as_str() };
        match text {
            "(" | "[" => depth += 1,
            ")" | "]" => depth = depth.saturating_sub(1),
            "," if depth == 0 => {
                let param_text = lexed.text(begin, j);
                let words: Vec<String> = toks[begin..j].iter().map(|t| t.text.clone()).collect();
                let n = params.len();
                params.push(types::parse_param(&words, names_expand(names), &param_text).map_err(|e| format!("parameter {n} (`{param_text}`): {e}"))?);
                begin = j + 1;
            }
            _ => {}
        }
    }
    Ok(params)
}

fn names_expand(names: &Names) -> impl Fn(&[String]) -> Vec<String> + '_ {
    move |w| names.expand(w)
}

#[cfg(test)]
mod tests;
