//! One declaration (a kernel parameter, a typedef) from its preprocessed tokens, and the
//! [`ParamInfo`] of a parameter.

use super::lex::Kind;
use super::token::{merge, Doubt, Tok};
use super::types::{
    is_type_keyword, keyword_type_name, AccessQualifier, AddressQualifier, ImageKind, ParamInfo, TypeQualifiers, ValueType,
};
use std::collections::HashMap;
use std::rc::Rc;

/// Address-space qualifiers as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Space {
    Global,
    Constant,
    Local,
    Private,
    Generic,
}

/// What a declaration says.
#[derive(Clone, Debug, Default)]
pub(super) struct Decl {
    /// The declared name (none for an unnamed prototype parameter).
    pub name: Option<String>,
    /// The base type in OpenCL spelling, typedefs resolved (`float`, `uchar4`, `struct S`).
    pub base: String,
    /// Number of `*`.
    pub stars: usize,
    pub space: Option<Space>,
    pub access: Option<AccessQualifier>,
    /// `const` / `volatile` on the base type (the pointee, for a pointer).
    pub const_base: bool,
    pub volatile_base: bool,
    /// `restrict` after a `*`.
    pub restrict_ptr: bool,
    /// `restrict` on something that is not a pointer.
    pub restrict_base: bool,
    pub pipe: bool,
    /// Doubt of the typedefs the declaration uses.
    pub doubt: Option<Rc<Doubt>>,
}

/// Typedefs seen so far: name → its declaration (or why it could not be read).
pub(super) type Typedefs = HashMap<String, Result<Decl, String>>;

/// OpenCL C type names that are neither keywords nor vectors.
const BUILTIN_TYPES: &[&str] = &[
    "sampler_t",
    "event_t",
    "size_t",
    "ptrdiff_t",
    "intptr_t",
    "uintptr_t",
    "queue_t",
    "clk_event_t",
    "reserve_id_t",
    "ndrange_t",
    "image2d_msaa_t",
    "image2d_array_msaa_t",
    "image2d_msaa_depth_t",
    "image2d_array_msaa_depth_t",
];

/// Whether `w` names a type by itself (keyword, vector, image or other builtin type).
pub(super) fn is_type_name(w: &str) -> bool {
    is_type_keyword(w) || ValueType::from_cl_name(w).is_some() || ImageKind::from_cl_name(w).is_some() || BUILTIN_TYPES.contains(&w)
}

/// Parses the tokens of one declaration (`__global const float* restrict x`).
pub(super) fn parse_decl(toks: &[Tok], typedefs: &Typedefs) -> Result<Decl, String> {
    let mut d = Decl::default();
    let mut words: Vec<&str> = Vec::new();
    let mut named: Option<String> = None;
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        i += 1;
        let text = &*t.text;
        if matches!(text, "__attribute__" | "__attribute") {
            i = skip_group(toks, i).ok_or("unterminated `__attribute__`")?;
            continue;
        }
        if t.kind == Kind::Ident && qualifier(&mut d, text)? {
            continue;
        }
        match (t.kind, text) {
            (Kind::Punct, "*") => d.stars += 1,
            (Kind::Punct, "[") => return Err("array parameters are not allowed in kernels".into()),
            (Kind::Punct, "(") => return Err("function pointers cannot be kernel arguments".into()),
            (Kind::Ident, "struct" | "union" | "enum") => {
                let (tag, next) = tagged_type(toks, i);
                named = Some(format!("{text} {tag}").trim_end().to_string());
                i = next;
            }
            (Kind::Ident, w) if is_type_keyword(w) && named.is_none() && d.name.is_none() && d.stars == 0 => words.push(w),
            (Kind::Ident, w) if named.is_none() && words.is_empty() && d.stars == 0 && d.name.is_none() => {
                named = Some(resolve(&mut d, w, typedefs)?);
            }
            (Kind::Ident, w) if d.name.is_none() => d.name = Some(w.to_string()),
            _ => return Err(format!("unexpected `{text}`")),
        }
    }
    d.base = match named {
        Some(n) if words.is_empty() => n,
        Some(n) => return Err(format!("`{} {n}` is not a type", words.join(" "))),
        None if words.is_empty() => return Err("a type is missing".into()),
        None => keyword_type_name(&words)?,
    };
    Ok(d)
}

/// Applies a qualifier keyword; false when `w` is not one.
fn qualifier(d: &mut Decl, w: &str) -> Result<bool, String> {
    let space = match w {
        "__global" | "global" => Some(Space::Global),
        "__constant" | "constant" => Some(Space::Constant),
        "__local" | "local" => Some(Space::Local),
        "__private" | "private" => Some(Space::Private),
        "__generic" | "generic" => Some(Space::Generic),
        _ => None,
    };
    if let Some(space) = space {
        if d.stars > 0 {
            return Err(format!("`{w}` after `*` qualifies the pointer itself (write it before the type)"));
        }
        if d.space.is_some_and(|s| s != space) {
            return Err("conflicting address space qualifiers".into());
        }
        d.space = Some(space);
        return Ok(true);
    }
    let access = match w {
        "__read_only" | "read_only" => Some(AccessQualifier::ReadOnly),
        "__write_only" | "write_only" => Some(AccessQualifier::WriteOnly),
        "__read_write" | "read_write" => Some(AccessQualifier::ReadWrite),
        _ => None,
    };
    if let Some(access) = access {
        d.access = Some(access);
        return Ok(true);
    }
    match w {
        "const" | "__const" | "__const__" => d.const_base |= d.stars == 0,
        "volatile" | "__volatile" | "__volatile__" => d.volatile_base |= d.stars == 0,
        "restrict" | "__restrict" | "__restrict__" if d.stars == 0 => d.restrict_base = true,
        "restrict" | "__restrict" | "__restrict__" => d.restrict_ptr = true,
        "pipe" => d.pipe = true,
        _ => return Ok(false),
    }
    Ok(true)
}

/// A type name that is not a keyword: a typedef, a vector, an image or another builtin.
fn resolve(d: &mut Decl, w: &str, typedefs: &Typedefs) -> Result<String, String> {
    if let Some(td) = typedefs.get(w) {
        let td = td.as_ref().map_err(|e| format!("typedef `{w}`: {e}"))?;
        if td.stars > 0 || td.space.is_some() || td.pipe || td.access.is_some() {
            return Err(format!("typedef `{w}` hides a pointer or a qualifier, which clbake cannot read (use the type itself)"));
        }
        d.const_base |= td.const_base;
        d.volatile_base |= td.volatile_base;
        d.doubt = merge(&d.doubt, &td.doubt);
        return Ok(td.base.clone());
    }
    if is_type_name(w) {
        return Ok(w.to_string());
    }
    Err(format!("unknown type name `{w}`"))
}

/// After `struct`/`union`/`enum` at `i`: the tag (may be empty) and the index after the
/// tag and any `{ ... }` body.
fn tagged_type(toks: &[Tok], mut i: usize) -> (String, usize) {
    let mut tag = String::new();
    if let Some(t) = toks.get(i).filter(|t| t.is_ident()) {
        tag = t.text.to_string();
        i += 1;
    }
    if toks.get(i).is_some_and(|t| t.is("{")) {
        let mut depth = 0usize;
        while let Some(t) = toks.get(i) {
            i += 1;
            if t.is("{") {
                depth += 1;
            } else if t.is("}") {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
        }
    }
    (tag, i)
}

/// Index just past the parenthesised group opening at `open`, if it closes.
pub(super) fn skip_group(toks: &[Tok], open: usize) -> Option<usize> {
    if !toks.get(open)?.is("(") {
        return None;
    }
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(open) {
        if t.is("(") {
            depth += 1;
        } else if t.is(")") {
            depth -= 1;
            if depth == 0 {
                return Some(j + 1);
            }
        }
    }
    None
}

/// The [`ParamInfo`] of a kernel parameter declared as `d`.
pub(super) fn param_info(d: &Decl) -> Result<ParamInfo, String> {
    if d.restrict_base {
        return Err("`restrict` applies to pointers (write it after the `*`)".into());
    }
    if d.stars > 1 {
        return Err("pointers to pointers cannot be kernel arguments".into());
    }
    let name = d.name.clone().unwrap_or_default();
    let is_image = ImageKind::from_cl_name(&d.base).is_some() || d.base.starts_with("image");
    if d.stars == 1 {
        return pointer(d, name, is_image);
    }
    if d.access.is_some() && !is_image && !d.pipe {
        return Err(format!("access qualifiers apply to images and pipes, not `{}`", d.base));
    }
    match d.space {
        None | Some(Space::Private) => {}
        Some(_) => return Err(format!("a by-value `{}` parameter cannot have an address space other than `__private`", d.base)),
    }
    if d.base == "void" {
        return Err("a parameter cannot have type `void`".into());
    }
    let quals = TypeQualifiers::NONE.with(TypeQualifiers::CONST, d.const_base).with(TypeQualifiers::VOLATILE, d.volatile_base);
    let (address, access, quals) = if d.pipe {
        (AddressQualifier::Global, d.access.unwrap_or(AccessQualifier::ReadOnly), TypeQualifiers::PIPE)
    } else if is_image {
        (AddressQualifier::Global, d.access.unwrap_or(AccessQualifier::ReadOnly), TypeQualifiers::NONE)
    } else {
        (AddressQualifier::Private, AccessQualifier::None, quals)
    };
    Ok(ParamInfo { name, address, access, type_name: d.base.clone(), type_qualifiers: quals })
}

fn pointer(d: &Decl, name: String, is_image: bool) -> Result<ParamInfo, String> {
    if is_image || d.base == "sampler_t" || d.pipe {
        return Err(format!("pointers to `{}` cannot be kernel arguments", d.base));
    }
    if d.access.is_some() {
        return Err("access qualifiers apply to images and pipes, not pointers".into());
    }
    let address = match d.space {
        Some(Space::Global) => AddressQualifier::Global,
        Some(Space::Constant) => AddressQualifier::Constant,
        Some(Space::Local) => AddressQualifier::Local,
        Some(Space::Private) => return Err("`__private` pointers cannot be kernel arguments".into()),
        Some(Space::Generic) | None => return Err("a pointer parameter must point to `__global`, `__constant` or `__local` memory".into()),
    };
    let quals = TypeQualifiers::NONE
        .with(TypeQualifiers::RESTRICT, d.restrict_ptr)
        .with(TypeQualifiers::CONST, d.const_base || address == AddressQualifier::Constant)
        .with(TypeQualifiers::VOLATILE, d.volatile_base);
    Ok(ParamInfo { name, address, access: AccessQualifier::None, type_name: format!("{}*", d.base), type_qualifiers: quals })
}
