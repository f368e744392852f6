//! Preprocessed tokens, their certainty, and where input lines came from.

use super::lex::{Kind, RawTok};
use std::rc::Rc;

/// Why a token is not certain: it depends on something only the device knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doubt {
    /// The device-dependent name the token depends on (`cl_khr_fp16`), through however many
    /// macros and conditionals.
    pub cause: Rc<str>,
    /// Other tokens may stand here on some device, they are not in the output, and they
    /// could change a kernel declaration around them: the token comes from a macro that was
    /// redefined under a device-dependent conditional (only the last definition is kept),
    /// and the lost definition might make a `__kernel`, a `reqd_work_group_size` or take
    /// arguments. Parameter lists are never exact with any doubt; this flag matters where a
    /// doubt is otherwise harmless (other attributes of a kernel).
    pub hidden: bool,
}

impl Doubt {
    /// A doubt caused by `cause`.
    pub(super) fn new(cause: &str) -> Rc<Doubt> {
        Rc::new(Doubt { cause: cause.into(), hidden: false })
    }
}

/// The doubt of something that depends on both `a` and `b` (the first cause is kept, a
/// hidden doubt wins).
pub(super) fn merge(a: &Option<Rc<Doubt>>, b: &Option<Rc<Doubt>>) -> Option<Rc<Doubt>> {
    match (a, b) {
        (None, x) | (x, None) => x.clone(),
        (Some(x), Some(y)) if y.hidden && !x.hidden => Some(y.clone()),
        (Some(x), Some(_)) => Some(x.clone()),
    }
}

/// Macro names a token must not be expanded by again (its hide set).
pub(super) type HideSet = Option<Rc<[Rc<str>]>>;

/// One token of the preprocessed program.
#[derive(Clone, Debug)]
pub struct Tok {
    /// What the token is.
    pub kind: Kind,
    /// The token's text.
    pub text: Rc<str>,
    /// 1-based line in the input: where the token is written, or for tokens a macro
    /// produced, the line of the macro's use.
    pub line: u32,
    /// Whitespace comes before the token.
    pub space: bool,
    /// `None` when the token is certain: it is there, as it is, on every device. Otherwise
    /// what it depends on.
    pub doubt: Option<Rc<Doubt>>,
    /// Set when device-dependent macros expanded to nothing just before this token: other
    /// tokens may precede it on some device.
    pub before: Option<Rc<Doubt>>,
    pub(super) hide: HideSet,
}

impl Tok {
    /// A token read from the input, with the doubt of the region it is in.
    pub(super) fn from_raw(raw: &RawTok<'_>, doubt: &Option<Rc<Doubt>>) -> Tok {
        Tok { kind: raw.kind, text: raw.text.into(), line: raw.line, space: raw.space, doubt: doubt.clone(), before: None, hide: None }
    }

    /// A new token (no hide set, certain).
    pub(super) fn new(kind: Kind, text: &str, line: u32) -> Tok {
        Tok { kind, text: text.into(), line, space: false, doubt: None, before: None, hide: None }
    }

    /// Whether the token is the same on every device.
    pub fn certain(&self) -> bool {
        self.doubt.is_none()
    }

    /// The token's doubt, or else the doubt of what expanded to nothing before it.
    pub fn any_doubt(&self) -> Option<&Rc<Doubt>> {
        self.doubt.as_ref().or(self.before.as_ref())
    }

    /// A doubt of the token or before it that could change a kernel declaration around it
    /// (see [`Doubt::hidden`]).
    pub fn hidden_doubt(&self) -> Option<&Rc<Doubt>> {
        [&self.doubt, &self.before].into_iter().flatten().find(|d| d.hidden)
    }

    /// Whether the token is the punctuator or identifier `s`.
    pub fn is(&self, s: &str) -> bool {
        &*self.text == s && matches!(self.kind, Kind::Punct | Kind::Ident)
    }

    /// Whether the token is an identifier.
    pub fn is_ident(&self) -> bool {
        self.kind == Kind::Ident
    }

    pub(super) fn hidden_by(&self, name: &str) -> bool {
        self.hide.as_ref().is_some_and(|h| h.iter().any(|n| &**n == name))
    }
}

/// `a ∪ b`.
pub(super) fn hide_union(a: &HideSet, b: &HideSet) -> HideSet {
    match (a, b) {
        (None, x) | (x, None) => x.clone(),
        (Some(x), Some(y)) => {
            if y.iter().all(|n| x.contains(n)) {
                return a.clone();
            }
            let mut v: Vec<Rc<str>> = x.to_vec();
            v.extend(y.iter().filter(|n| !x.contains(n)).cloned());
            Some(v.into())
        }
    }
}

/// `a ∩ b`.
pub(super) fn hide_intersection(a: &HideSet, b: &HideSet) -> HideSet {
    let (Some(x), Some(y)) = (a, b) else { return None };
    let v: Vec<Rc<str>> = x.iter().filter(|n| y.contains(n)).cloned().collect();
    (!v.is_empty()).then(|| v.into())
}

/// `set ∪ {name}`.
pub(super) fn hide_with(set: &HideSet, name: &Rc<str>) -> HideSet {
    hide_union(set, &Some(Rc::from(vec![name.clone()])))
}

/// Where lines of the input came from, after `#line N "file"` markers.
#[derive(Clone, Debug, Default)]
pub struct LineMap {
    /// (input line where the mapping starts, its line number there, its file).
    marks: Vec<(u32, u32, Option<Rc<str>>)>,
}

impl LineMap {
    /// Records `#line number "file"` written on input line `at`: the next line is `number`.
    pub(super) fn mark(&mut self, at: u32, number: u32, file: Option<Rc<str>>) {
        let file = file.or_else(|| self.marks.last().and_then(|m| m.2.clone()));
        self.marks.push((at.saturating_add(1), number, file));
    }

    /// The file (when a marker named one) and line that input line `line` came from.
    pub fn locate(&self, line: u32) -> (Option<&str>, u32) {
        let at = self.marks.partition_point(|m| m.0 <= line);
        match at.checked_sub(1).and_then(|i| self.marks.get(i)) {
            Some((start, number, file)) => (file.as_deref(), number.saturating_add(line - start)),
            None => (None, line),
        }
    }

    /// `file:line` (or `line N` when no marker named a file) for input line `line`.
    pub fn describe(&self, line: u32) -> String {
        match self.locate(line) {
            (Some(file), n) => format!("{file}:{n}"),
            (None, n) => format!("line {n}"),
        }
    }
}
