//! Unit tests of the OpenCL C reader; `corpus` runs it over real libraries.

mod corpus;
mod expr;
mod key;
mod lex;
mod pp;
mod signature;
mod types;

use super::*;

/// The preprocessed tokens' texts, space separated.
fn text(src: &str, options: &str) -> String {
    preprocess(src, options).tokens.iter().map(|t| &*t.text).collect::<Vec<_>>().join(" ")
}

/// The preprocessed tokens with an `?` after the uncertain ones and a `~` before those that
/// follow a device-dependent empty expansion.
fn marked(src: &str, options: &str) -> String {
    let toks = preprocess(src, options).tokens;
    let mark = |t: &Tok| format!("{}{}{}", if t.before.is_some() { "~" } else { "" }, t.text, if t.certain() { "" } else { "?" });
    toks.iter().map(mark).collect::<Vec<_>>().join(" ")
}

/// The only kernel of `src`, which must read exactly.
fn one(src: &str, options: &str) -> KernelInfo {
    let r = read(src, options);
    assert_eq!(r.kernels.len(), 1, "{r:?}");
    match r.kernels.into_iter().next() {
        Some((_, Ok(k))) => k,
        other => panic!("{other:?}"),
    }
}

/// The error of the only kernel of `src`.
fn err(src: &str, options: &str) -> String {
    let r = read(src, options);
    assert_eq!(r.kernels.len(), 1, "{r:?}");
    match r.kernels.into_iter().next() {
        Some((_, Err(e))) => e,
        other => panic!("expected an error: {other:?}"),
    }
}

/// `(type_name, name)` of each parameter.
fn sig(k: &KernelInfo) -> Vec<(String, String)> {
    k.params.iter().map(|p| (p.type_name.clone(), p.name.clone())).collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}
