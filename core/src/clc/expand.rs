//! Macro expansion: object-like and function-like macros, `#` and `##`, argument
//! pre-expansion and rescanning, after Prosser's algorithm: every token carries the set of
//! macros it must not be expanded by again (its hide set), so a macro is never re-expanded
//! inside its own expansion.
//!
//! Certainty travels with the tokens: what a macro produces is as uncertain as the
//! macro's definition, its name and its arguments; a device-dependent macro that expands to
//! nothing leaves a [`Kind::Mark`] so that the doubt is not lost.

use super::lex::{Kind, Spliced};
use super::macros::{Builtin, Macro, Macros};
use super::token::{hide_intersection, hide_union, hide_with, merge, Doubt, HideSet, LineMap, Tok};
use std::rc::Rc;

/// Most tokens all macro expansions of one program may produce (a guard against
/// exponential macros).
pub(super) const EXPANSION_BUDGET: usize = 20_000_000;

/// Most nested argument pre-expansions.
const MAX_DEPTH: usize = 200;

/// A problem found while preprocessing, at an input line.
#[derive(Clone, Debug)]
pub(super) struct Problem {
    pub line: u32,
    pub message: String,
    /// Set when the problem is only there on some devices.
    pub doubt: Option<Rc<Doubt>>,
    /// Only a note, even in certain code.
    pub note: bool,
}

/// What expansion needs besides the tokens.
pub(super) struct Env<'a> {
    pub macros: &'a Macros,
    pub lines: &'a LineMap,
    pub problems: &'a mut Vec<Problem>,
    /// Tokens expansions may still produce.
    pub budget: &'a mut usize,
    pub depth: usize,
}

impl Env<'_> {
    fn reborrow(&mut self) -> Env<'_> {
        Env { macros: self.macros, lines: self.lines, problems: &mut *self.problems, budget: &mut *self.budget, depth: self.depth }
    }

    fn problem(&mut self, at: &Tok, message: String) {
        self.problems.push(Problem { line: at.line, message, doubt: at.doubt.clone(), note: false });
    }
}

/// Where the expander reads tokens from.
pub(super) trait Source {
    /// The next token, pushed-back ones first.
    fn next_tok(&mut self) -> Option<Tok>;
    /// Pushes `toks` back so that `toks[0]` is read next.
    fn unread(&mut self, toks: Vec<Tok>);
    /// The macros and sinks.
    fn env(&mut self) -> Env<'_>;
}

/// A list of tokens, expanded on its own (a macro argument, an `#if` line).
struct ListSource<'a> {
    /// Tokens still to read, reversed.
    stack: Vec<Tok>,
    env: Env<'a>,
}

impl Source for ListSource<'_> {
    fn next_tok(&mut self) -> Option<Tok> {
        self.stack.pop()
    }

    fn unread(&mut self, toks: Vec<Tok>) {
        self.stack.extend(toks.into_iter().rev());
    }

    fn env(&mut self) -> Env<'_> {
        self.env.reborrow()
    }
}

/// Fully macro-expands `toks` on their own.
pub(super) fn expand_list(env: &mut Env<'_>, toks: &[Tok]) -> Vec<Tok> {
    if env.depth >= MAX_DEPTH {
        if let Some(first) = toks.first() {
            env.problem(first, "macro arguments nested too deeply".into());
        }
        return toks.to_vec();
    }
    let mut inner = env.reborrow();
    inner.depth += 1;
    let mut src = ListSource { stack: toks.iter().rev().cloned().collect(), env: inner };
    let mut out = Vec::with_capacity(toks.len());
    while let Some(t) = src.next_tok() {
        if let Some(t) = expand_one(&mut src, t) {
            out.push(t);
        }
    }
    out
}

/// Expands `t` when it names a macro (pushing the expansion back into `src` to be
/// rescanned); otherwise gives it back, to be output.
pub(super) fn expand_one<S: Source>(src: &mut S, t: Tok) -> Option<Tok> {
    if t.kind != Kind::Ident || t.hidden_by(&t.text) {
        return Some(t);
    }
    let (mac, budget_left) = {
        let env = src.env();
        (env.macros.get(&t.text).cloned(), *env.budget > 0)
    };
    let Some(mac) = mac.filter(|_| budget_left) else { return Some(t) };
    if let Some(builtin) = mac.builtin {
        return Some(builtin_value(builtin, &t, src.env().lines));
    }
    let (args, closing_hide, closing_doubt) = if mac.params.is_some() {
        match collect_args(src, &t, &mac) {
            Call::Made { args, rparen, doubt } => (args, rparen.hide.clone(), merge(&doubt, &rparen.doubt)),
            Call::NotMade => return Some(t),
        }
    } else {
        (Vec::new(), t.hide.clone(), None)
    };
    let base = if mac.params.is_some() { hide_intersection(&t.hide, &closing_hide) } else { t.hide.clone() };
    let hide = hide_with(&base, &t.text);
    let doubt = merge(&merge(&t.doubt, &mac.doubt), &closing_doubt);
    let mut env = src.env();
    let out = substitute(&mut env, &mac, &t, &args, &hide, &doubt);
    charge(&mut env, &t, out.len());
    if out.is_empty() && doubt.is_some() {
        let mark = Tok { kind: Kind::Mark, text: "".into(), doubt, ..t };
        src.unread(vec![mark]);
    } else {
        src.unread(out);
    }
    None
}

/// Takes `n` tokens from the expansion budget.
fn charge(env: &mut Env<'_>, at: &Tok, n: usize) {
    let before = *env.budget;
    *env.budget = before.saturating_sub(n.max(1));
    if before > 0 && *env.budget == 0 {
        env.problem(at, "macro expansions produce too many tokens; stopped expanding".into());
    }
}

fn builtin_value(builtin: Builtin, t: &Tok, lines: &LineMap) -> Tok {
    let (file, line) = lines.locate(t.line);
    let (kind, text) = match builtin {
        Builtin::Line => (Kind::Number, line.to_string()),
        Builtin::File => (Kind::Str, format!("\"{}\"", escape(file.unwrap_or_default()))),
    };
    Tok { kind, text: text.into(), ..t.clone() }
}

/// The outcome of looking for a function-like macro's arguments.
enum Call {
    /// Arguments (one list per parameter), the closing `)`, and the doubt of skipped marks.
    Made { args: Vec<Vec<Tok>>, rparen: Tok, doubt: Option<Rc<Doubt>> },
    /// No `(` follows, or the call is malformed (reported): the name stays as it is.
    NotMade,
}

fn collect_args<S: Source>(src: &mut S, name: &Tok, mac: &Macro) -> Call {
    let mut doubt = None;
    let mut skipped = Vec::new();
    loop {
        match src.next_tok() {
            Some(m) if m.kind == Kind::Mark => {
                doubt = merge(&doubt, &m.doubt);
                skipped.push(m);
            }
            Some(p) if p.is("(") => break,
            other => {
                skipped.extend(other);
                src.unread(skipped);
                return Call::NotMade;
            }
        }
    }
    let nparams = mac.params.as_ref().map_or(0, Vec::len);
    let mut args: Vec<Vec<Tok>> = vec![Vec::new()];
    let mut depth = 0usize;
    let rparen = loop {
        let Some(tok) = src.next_tok() else {
            src.env().problem(name, format!("unterminated argument list invoking macro `{}`", name.text));
            return Call::NotMade;
        };
        if tok.kind == Kind::Mark {
            doubt = merge(&doubt, &tok.doubt);
            continue;
        }
        if tok.is("(") {
            depth += 1;
        } else if tok.is(")") {
            if depth == 0 {
                break tok;
            }
            depth -= 1;
        } else if tok.is(",") && depth == 0 && !(mac.variadic && args.len() == nparams) {
            args.push(Vec::new());
            continue;
        }
        if let Some(last) = args.last_mut() {
            last.push(tok);
        }
    };
    if nparams == 0 && args.len() == 1 && args.iter().all(Vec::is_empty) {
        args.clear();
    }
    if mac.variadic && args.len() + 1 == nparams {
        args.push(Vec::new());
    }
    if args.len() != nparams {
        let msg = format!("macro `{}` takes {nparams} argument(s), {} given", name.text, args.len());
        src.env().problem(name, msg);
        return Call::NotMade;
    }
    Call::Made { args, rparen, doubt }
}

/// The replacement list of `mac` with its parameters replaced, `#` and `##` applied, and
/// every token given `hide` and `doubt`.
fn substitute(env: &mut Env<'_>, mac: &Macro, name: &Tok, args: &[Vec<Tok>], hide: &HideSet, doubt: &Option<Rc<Doubt>>) -> Vec<Tok> {
    let body = &mac.body;
    let param = |t: &Tok| {
        if t.is_ident() {
            mac.param(&t.text).filter(|&j| j < args.len())
        } else {
            None
        }
    };
    let arg = |j: usize| args.get(j).map_or(&[][..], Vec::as_slice);
    let from_body = |t: &Tok| Tok { line: name.line, ..t.clone() };
    let mut expanded: Vec<Option<Vec<Tok>>> = vec![None; args.len()];
    let mut out: Vec<Tok> = Vec::with_capacity(body.len());
    // The left operand of a coming `##` is an empty argument (a placemarker).
    let mut lhs_empty = false;
    let mut i = 0;
    while let Some(t) = body.get(i) {
        let next = body.get(i + 1);
        if mac.params.is_some() && t.is("#") {
            if let Some(j) = next.and_then(param) {
                out.push(Tok { space: t.space, ..stringize(arg(j), name.line) });
                lhs_empty = false;
                i += 2;
                continue;
            }
        }
        if t.is("##") {
            let Some(rhs) = next else { break };
            i += 2;
            let rhs_toks: Vec<Tok> = match param(rhs) {
                Some(j) if mac.variadic && j + 1 == args.len() && out.last().is_some_and(|c| c.is(",")) && !lhs_empty => {
                    // GNU `, ## __VA_ARGS__`: the comma goes when there are no variable arguments.
                    if arg(j).is_empty() {
                        out.pop();
                    }
                    out.extend(arg(j).iter().cloned());
                    continue;
                }
                Some(j) => arg(j).to_vec(),
                None if rhs.is("#") && mac.params.is_some() => match body.get(i).and_then(param) {
                    Some(j) => {
                        i += 1;
                        vec![stringize(arg(j), name.line)]
                    }
                    None => vec![from_body(rhs)],
                },
                None => vec![from_body(rhs)],
            };
            paste_into(env, &mut out, rhs_toks, &mut lhs_empty);
            continue;
        }
        if let Some(j) = param(t) {
            let before_paste = next.is_some_and(|n| n.is("##"));
            let toks = match expanded.get_mut(j) {
                Some(cached) if !before_paste => cached.get_or_insert_with(|| expand_list(env, arg(j))).clone(),
                _ => arg(j).to_vec(),
            };
            lhs_empty = before_paste && toks.is_empty();
            let at = out.len();
            out.extend(toks);
            if let Some(first) = out.get_mut(at) {
                first.space = t.space;
            }
            i += 1;
            continue;
        }
        out.push(from_body(t));
        lhs_empty = false;
        i += 1;
    }
    for tok in &mut out {
        tok.hide = hide_union(&tok.hide, hide);
        tok.doubt = merge(&tok.doubt, doubt);
    }
    if let Some(first) = out.first_mut() {
        first.space = name.space;
    }
    out
}

/// Applies `##` between the last token of `out` and `rhs`.
fn paste_into(env: &mut Env<'_>, out: &mut Vec<Tok>, rhs: Vec<Tok>, lhs_empty: &mut bool) {
    let mut rhs = rhs.into_iter();
    let Some(first) = rhs.next() else { return };
    match out.pop() {
        Some(lhs) if !*lhs_empty => out.extend(paste(env, lhs, first)),
        Some(lhs) => out.extend([lhs, first]),
        None => out.push(first),
    }
    out.extend(rhs);
    *lhs_empty = false;
}

/// `lhs ## rhs`: one token, or both (and a reported problem) when they do not form one.
fn paste(env: &mut Env<'_>, lhs: Tok, rhs: Tok) -> Vec<Tok> {
    let text = format!("{}{}", lhs.text, rhs.text);
    let spliced = Spliced::new(&text);
    let mut toks = spliced.lexer();
    let glued = match (toks.next(), toks.next()) {
        (Some(one), None) if one.text.len() == text.len() => Some(one.kind),
        _ => None,
    };
    let doubt = merge(&lhs.doubt, &rhs.doubt);
    match glued {
        Some(kind) => vec![Tok { kind, text: text.into(), hide: hide_intersection(&lhs.hide, &rhs.hide), doubt, ..lhs }],
        None => {
            let at = Tok { doubt, ..lhs.clone() };
            env.problem(&at, format!("pasting `{}` and `{}` does not give a valid token", lhs.text, rhs.text));
            vec![lhs, rhs]
        }
    }
}

/// `#arg`: the argument's spelling as a string literal.
fn stringize(arg: &[Tok], line: u32) -> Tok {
    let mut s = String::from("\"");
    for (k, t) in arg.iter().enumerate() {
        if k > 0 && t.space {
            s.push(' ');
        }
        if matches!(t.kind, Kind::Str | Kind::Char) {
            s.push_str(&escape(&t.text));
        } else {
            s.push_str(&t.text);
        }
    }
    s.push('"');
    let doubt = arg.iter().fold(None, |d, t| merge(&d, &t.doubt));
    Tok { doubt, ..Tok::new(Kind::Str, &s, line) }
}

/// `\` and `"` escaped for a string literal.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
