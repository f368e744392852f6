//! Kernel declarations in a preprocessed token stream: names, parameters, attributes,
//! typedefs, and the certainty checks that make a signature exact or an error.

use super::decl::{is_type_name, param_info, parse_decl, skip_group, Decl, Typedefs};
use super::expr::{self, Tri};
use super::macros::Defined;
use super::token::{merge, Doubt, Tok};
use super::types::{KernelInfo, ParamInfo};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// One declaration of a kernel.
struct Declaration {
    name: String,
    result: Result<KernelInfo, String>,
    definition: bool,
    /// Why the declaration may not exist on every device.
    existence: Option<Rc<Doubt>>,
}

/// What the token stream declares.
pub(super) struct Found {
    /// Every kernel in order of first appearance.
    pub kernels: Vec<(String, Result<KernelInfo, String>)>,
    /// Certain file-scope typedefs of plain types: name → OpenCL type name.
    pub typedefs: BTreeMap<String, String>,
}

/// Finds the kernels (and typedefs) of a preprocessed program.
pub(super) fn scan(toks: &[Tok]) -> Found {
    let mut typedefs = Typedefs::new();
    let mut decls: Vec<Declaration> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        if t.is("__kernel") || t.is("kernel") {
            // Kernels are only at file scope: this also repairs the depth after both arms of a
            // device-dependent conditional opened a brace.
            depth = 0;
            if let Some((decl, next)) = kernel(toks, i, &typedefs) {
                decls.push(decl);
                i = next;
                continue;
            }
        } else if t.is("{") {
            depth += 1;
        } else if t.is("}") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && t.is("typedef") {
            i = typedef(toks, i, &mut typedefs);
            continue;
        }
        i += 1;
    }
    let typedefs = typedefs
        .into_iter()
        .filter_map(|(name, d)| d.ok().filter(|d| d.doubt.is_none() && d.stars == 0 && d.space.is_none()).map(|d| (name, d.base)))
        .collect();
    Found { kernels: merge_declarations(decls), typedefs }
}

/// `typedef ... NAME;` starting at `at`; returns the index after the `;`.
fn typedef(toks: &[Tok], at: usize, typedefs: &mut Typedefs) -> usize {
    let mut depth = 0usize;
    let mut end = at + 1;
    while let Some(t) = toks.get(end) {
        if t.is("(") || t.is("{") || t.is("[") {
            depth += 1;
        } else if t.is(")") || t.is("}") || t.is("]") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && (t.is(";") || t.is(",")) {
            break;
        }
        end += 1;
    }
    let body = toks.get(at + 1..end).unwrap_or_default();
    let doubt = body.iter().find_map(|t| t.any_doubt().cloned());
    let parsed = parse_decl(body, typedefs).map(|d| Decl { doubt: merge(&d.doubt, &doubt), ..d });
    let name = match &parsed {
        Ok(d) => d.name.clone(),
        Err(_) => body.iter().rev().find(|t| t.is_ident()).map(|t| t.text.to_string()),
    };
    if let Some(name) = name {
        let parsed =
            parsed.map(|d| if d.base == "struct" || d.base == "union" { Decl { base: format!("{} {name}", d.base), ..d } } else { d });
        typedefs.insert(name, parsed);
    }
    // Skip further declarators of the same typedef (`typedef float a, *b;`).
    let mut next = end;
    while let Some(t) = toks.get(next) {
        next += 1;
        if t.is(";") {
            break;
        }
    }
    next
}

/// The declaration whose `__kernel` keyword is at `k`, and the index after its parameter
/// list and attributes; `None` when no name and parameter list follow.
fn kernel(toks: &[Tok], k: usize, typedefs: &Typedefs) -> Option<(Declaration, usize)> {
    let mut attrs: Vec<(usize, usize)> = attributes_before(toks, k);
    let mut head: Vec<&Tok> = toks.get(k..=k)?.iter().collect();
    if let Some(v) = k.checked_sub(1).and_then(|p| toks.get(p)).filter(|t| t.is("void")) {
        head.push(v);
    }
    let mut j = k + 1;
    let name_at = loop {
        let t = toks.get(j)?;
        if is_attribute(t) {
            let end = skip_group(toks, j + 1)?;
            attrs.push((j, end));
            j = end;
            continue;
        }
        if t.is(";") || t.is("{") || t.is("}") || t.is("(") {
            return None;
        }
        if t.is_ident() && toks.get(j + 1).is_some_and(|n| n.is("(")) {
            break j;
        }
        head.push(t);
        j += 1;
    };
    let name_tok = toks.get(name_at)?;
    head.push(name_tok);
    let open = name_at + 1;
    let close = skip_group(toks, open)?;
    let mut after = close;
    while toks.get(after).is_some_and(is_attribute) {
        let end = skip_group(toks, after + 1)?;
        attrs.push((after, end));
        after = end;
    }
    let name = name_tok.text.to_string();
    let existence = head.iter().copied().chain(toks.get(open)).find_map(|t| t.doubt.as_ref().or(t.hidden_doubt()).cloned());
    let result = match &existence {
        Some(d) => Err(format!("declared under a conditional that depends on the device (`{}`)", d.cause)),
        None => signature(toks, &head, (open, close), &attrs, typedefs).map(|(params, reqd)| KernelInfo {
            name: name.clone(),
            params,
            reqd_work_group_size: reqd,
        }),
    };
    let definition = toks.get(after).is_some_and(|t| t.is("{"));
    Some((Declaration { name, result, definition, existence }, after))
}

fn is_attribute(t: &Tok) -> bool {
    t.is("__attribute__") || t.is("__attribute")
}

/// Parameters and required work-group size of a kernel whose existence is certain.
fn signature(toks: &[Tok], head: &[&Tok], (open, close): (usize, usize), attrs: &[(usize, usize)], typedefs: &Typedefs) -> ParamsAndSize {
    let returns: Vec<&str> = head.iter().map(|t| &*t.text).filter(|w| !matches!(*w, "__kernel" | "kernel")).collect();
    if returns.len() != 2 || returns.first() != Some(&"void") {
        let shown = returns.get(..returns.len().saturating_sub(1)).unwrap_or_default().join(" ");
        return Err(format!("kernels must return `void` (found `{shown}`)"));
    }
    let params = params(toks, open + 1, close - 1, typedefs)?;
    let mut reqd = None;
    for &(from, to) in attrs {
        let found = attribute_group(toks.get(from..to).unwrap_or_default())?;
        reqd = reqd.or(found);
    }
    Ok((params, reqd))
}

type ParamsAndSize = Result<(Vec<ParamInfo>, Option<[usize; 3]>), String>;

/// The parameters between `from` and `to` (the closing parenthesis).
fn params(toks: &[Tok], from: usize, to: usize, typedefs: &Typedefs) -> Result<Vec<ParamInfo>, String> {
    let inner = toks.get(from..to).unwrap_or_default();
    let closing = toks.get(to);
    if inner.is_empty() || (inner.len() == 1 && inner.iter().all(|t| t.is("void"))) {
        return match inner.iter().chain(closing).find_map(|t| t.any_doubt().cloned()) {
            Some(d) => Err(format!("the parameter list depends on `{}`, which depends on the device", d.cause)),
            None => Ok(Vec::new()),
        };
    }
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut begin = 0;
    for (j, t) in inner.iter().chain(closing).enumerate() {
        let end = j == inner.len();
        if t.is("(") || t.is("[") {
            depth += 1;
        } else if (t.is(")") || t.is("]")) && !end {
            depth = depth.saturating_sub(1);
        } else if (t.is(",") && depth == 0) || end {
            // The separator is checked too: a device-dependent macro that expanded to
            // nothing at the end of the parameter leaves its doubt there.
            let with_sep = inner.get(begin..j).unwrap_or_default().iter().chain([t]);
            out.push(param(inner.get(begin..j).unwrap_or_default(), with_sep, out.len() + 1, typedefs)?);
            begin = j + 1;
        }
    }
    Ok(out)
}

/// Parameter `n` (1-based) from its tokens.
fn param<'t>(toks: &[Tok], with_sep: impl Iterator<Item = &'t Tok>, n: usize, typedefs: &Typedefs) -> Result<ParamInfo, String> {
    // The name is the last identifier, unless the parameter is unnamed (ends with its type).
    let last = toks.iter().rev().find(|t| !t.is("*") && !t.is("const") && !t.is("restrict") && !t.is("volatile"));
    let label = match last.filter(|t| t.is_ident() && !is_type_name(&t.text)) {
        Some(name) => format!("parameter {n} (`{}`)", name.text),
        None => format!("parameter {n}"),
    };
    let doubt = with_sep.into_iter().find_map(|t| t.any_doubt().cloned());
    if let Some(d) = doubt {
        return Err(format!("{label} depends on `{}`, which depends on the device", d.cause));
    }
    let decl = parse_decl(toks, typedefs).map_err(|e| format!("{label}: {e}"))?;
    if let Some(d) = &decl.doubt {
        return Err(format!("{label} depends on `{}`, which depends on the device", d.cause));
    }
    param_info(&decl).map_err(|e| format!("{label}: {e}"))
}

/// `__attribute__ (( a, b(x) ))` groups directly before the token at `k`, in order.
fn attributes_before(toks: &[Tok], k: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut end = match k.checked_sub(1) {
        Some(p) if toks.get(p).is_some_and(|t| t.is("void")) => p,
        _ => k,
    };
    while end >= 2 && toks.get(end - 1).is_some_and(|t| t.is(")")) {
        let Some(open) = matching_open(toks, end - 1) else { break };
        match open.checked_sub(1) {
            Some(a) if toks.get(a).is_some_and(is_attribute) => {
                out.push((a, end));
                end = a;
            }
            _ => break,
        }
    }
    out.reverse();
    out
}

/// Index of the `(` matching the `)` at `close`.
fn matching_open(toks: &[Tok], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = close + 1;
    while j > 0 {
        j -= 1;
        let t = toks.get(j)?;
        if t.is(")") {
            depth += 1;
        } else if t.is("(") {
            depth -= 1;
            if depth == 0 {
                return Some(j);
            }
        }
    }
    None
}

/// Checks one `__attribute__((...))` group; its `reqd_work_group_size`, if any.
fn attribute_group(group: &[Tok]) -> Result<Option<[usize; 3]>, String> {
    // `__attribute__ ( ( list ) )`
    let list = group.get(3..group.len().saturating_sub(2)).unwrap_or_default();
    let mut reqd = None;
    let mut i = 0;
    while let Some(t) = list.get(i) {
        let end = if list.get(i + 1).is_some_and(|n| n.is("(")) { skip_group(list, i + 1).unwrap_or(list.len()) } else { i + 1 };
        let attr = list.get(i..end).unwrap_or_default();
        if t.is("reqd_work_group_size") || t.is("__reqd_work_group_size__") {
            if let Some(d) = attr.iter().find_map(|t| t.any_doubt().cloned()) {
                return Err(format!("reqd_work_group_size depends on `{}`, which depends on the device", d.cause));
            }
            reqd = Some(work_group_size(attr.get(2..attr.len().saturating_sub(1)).unwrap_or_default())?);
        } else if let Some(d) = attr.iter().find_map(|t| t.hidden_doubt().cloned()) {
            return Err(format!("the kernel's attributes depend on `{}`, which depends on the device", d.cause));
        }
        i = end + usize::from(list.get(end).is_some_and(|t| t.is(",")));
    }
    Ok(reqd)
}

/// The three integer constants of `reqd_work_group_size(X, Y, Z)`.
fn work_group_size(args: &[Tok]) -> Result<[usize; 3], String> {
    let bad = |why: String| Err(format!("reqd_work_group_size: {why}"));
    let parts: Vec<&[Tok]> = args.split(|t| t.is(",")).collect();
    if parts.len() != 3 {
        return bad(format!("3 values needed, {} given", parts.len()));
    }
    let mut out = [0usize; 3];
    for (o, part) in out.iter_mut().zip(parts) {
        if let Some(id) = part.iter().find(|t| t.is_ident()) {
            return bad(format!("`{}` is not defined", id.text));
        }
        match expr::evaluate(part, &|_| Defined::No) {
            Ok(Tri::Known(v)) if v > 0 => *o = usize::try_from(v).unwrap_or(usize::MAX),
            Ok(_) => return bad("values must be positive integer constants".into()),
            Err(e) => return bad(e),
        }
    }
    Ok(out)
}

/// One entry per kernel name, in order of first appearance: the definition's signature
/// (or the first declaration's) among the declarations whose existence is certain.
fn merge_declarations(decls: Vec<Declaration>) -> Vec<(String, Result<KernelInfo, String>)> {
    let mut groups: Vec<Vec<&Declaration>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for d in &decls {
        let at = *index.entry(&d.name).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        if let Some(group) = groups.get_mut(at) {
            group.push(d);
        }
    }
    groups.iter().filter_map(|all| Some((all.first()?.name.clone(), merged(all)))).collect()
}

fn merged(all: &[&Declaration]) -> Result<KernelInfo, String> {
    let certain: Vec<&&Declaration> = all.iter().filter(|d| d.existence.is_none()).collect();
    let Some(chosen) = certain.iter().find(|d| d.definition).or(certain.first()) else {
        return all.first().map_or_else(|| Err("no declaration".into()), |d| d.result.clone());
    };
    let mut info = chosen.result.clone()?;
    for other in &certain {
        let Ok(o) = &other.result else { continue };
        let shape = |p: &ParamInfo| (p.address, p.access, p.type_name.clone());
        if o.params.len() != info.params.len() || o.params.iter().map(shape).ne(info.params.iter().map(shape)) {
            return Err("kernel declared twice with different parameters".into());
        }
        if info.reqd_work_group_size.is_none() {
            info.reqd_work_group_size = o.reqd_work_group_size;
        }
    }
    Ok(info)
}
