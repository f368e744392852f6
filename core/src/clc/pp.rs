//! The preprocessor: directives, conditionals and the top-level expansion loop.
//!
//! Conditionals are three-valued (see [`super::expr`]): a known condition is decided as a
//! compiler would; one that depends on the device processes every arm that might be taken,
//! and everything those arms emit or define carries a [`Doubt`].

use super::expand::{expand_list, expand_one, Env, Problem, Source, EXPANSION_BUDGET};
use super::expr::{self, Tri};
use super::lex::{Kind, Lexer, RawTok, Spliced};
use super::macros::{is_device_dependent, line_tokens, parse_define, Defined, Macros};
use super::token::{merge, Doubt, LineMap, Tok};
use std::iter::Peekable;
use std::rc::Rc;

/// A preprocessed program.
#[derive(Clone, Debug, Default)]
pub struct Preprocessed {
    /// The tokens the compiler would see (with those of every arm of a device-dependent
    /// conditional), each with its input line and its certainty.
    pub tokens: Vec<Tok>,
    /// Problems that make the program fail to compile under these options on every device:
    /// `#error`s reached in certain code, malformed directives, bad `#if` expressions
    /// (each `file:line: message`).
    pub errors: Vec<String>,
    /// The same kind of problems in device-dependent code, and ignored directives.
    pub notes: Vec<String>,
    /// Where input lines came from (`#line` markers).
    pub lines: LineMap,
}

/// Preprocesses `source` (an expanded program: includes already inlined) as a compiler
/// would with the build options `options`.
pub fn preprocess(source: &str, options: &str) -> Preprocessed {
    preprocess_limited(source, options, EXPANSION_BUDGET)
}

/// [`preprocess`] with at most `budget` tokens produced by macro expansions.
pub(super) fn preprocess_limited(source: &str, options: &str, budget: usize) -> Preprocessed {
    let spliced = Spliced::new(source);
    let mut pp = Pp::new(&spliced, options, budget);
    pp.run();
    pp.finish()
}

/// The value of the `#if` expression `expression` under the build options `options`
/// (`defined`, macros and device-dependent names as in [`preprocess`]).
pub fn evaluate_condition(expression: &str, options: &str) -> Result<Tri, String> {
    let spliced = Spliced::new("");
    let mut pp = Pp::new(&spliced, options, EXPANSION_BUDGET);
    pp.if_expression(&line_tokens(expression))
}

/// One open conditional (`#if` ... `#endif`).
struct Frame {
    /// The enclosing region emits code.
    parent_active: bool,
    parent_doubt: Option<Rc<Doubt>>,
    /// The current arm emits code.
    active: bool,
    /// Doubt of the current arm.
    doubt: Option<Rc<Doubt>>,
    /// An earlier arm is taken for sure: the rest are not.
    done: bool,
    /// An earlier arm may have been taken (its condition depends on the device).
    maybe: Option<Rc<Doubt>>,
    seen_else: bool,
    line: u32,
}

impl Frame {
    /// Doubt of the condition of the next arm: it is only reached when earlier arms are not taken.
    fn reach_doubt(&self) -> Option<Rc<Doubt>> {
        merge(&self.parent_doubt, &self.maybe)
    }

    /// Starts an arm whose condition is `c`.
    fn enter(&mut self, c: Tri) {
        let reach = self.reach_doubt();
        match c {
            Tri::Known(0) => self.active = false,
            Tri::Known(_) => {
                self.active = true;
                self.doubt = reach;
                self.done = true;
            }
            Tri::Unknown(d) => {
                let d = Some(d);
                self.active = true;
                // The arm's own condition names the cause better than earlier arms do.
                self.doubt = merge(&self.parent_doubt, &merge(&d, &self.maybe));
                self.maybe = merge(&self.maybe, &d);
            }
        }
    }
}

struct Pp<'a> {
    lexer: Peekable<Lexer<'a>>,
    /// Tokens pushed back by the expander, reversed.
    pending: Vec<Tok>,
    macros: Macros,
    lines: LineMap,
    problems: Vec<Problem>,
    budget: usize,
    conds: Vec<Frame>,
    out: Vec<Tok>,
    /// Doubt of device-dependent macros that expanded to nothing just before the next token.
    mark: Option<Rc<Doubt>>,
}

impl Source for Pp<'_> {
    fn next_tok(&mut self) -> Option<Tok> {
        if let Some(t) = self.pending.pop() {
            return Some(t);
        }
        loop {
            let raw = self.lexer.next()?;
            if raw.line_start && raw.kind == Kind::Punct && raw.text == "#" {
                self.directive(raw.line);
            } else if self.active() {
                return Some(Tok::from_raw(&raw, &self.region_doubt()));
            }
        }
    }

    fn unread(&mut self, toks: Vec<Tok>) {
        self.pending.extend(toks.into_iter().rev());
    }

    fn env(&mut self) -> Env<'_> {
        Env { macros: &self.macros, lines: &self.lines, problems: &mut self.problems, budget: &mut self.budget, depth: 0 }
    }
}

impl<'a> Pp<'a> {
    fn new(spliced: &'a Spliced<'_>, options: &str, budget: usize) -> Pp<'a> {
        Pp {
            lexer: spliced.lexer().peekable(),
            pending: Vec::new(),
            macros: Macros::with_options(options),
            lines: LineMap::default(),
            problems: Vec::new(),
            budget,
            conds: Vec::new(),
            out: Vec::new(),
            mark: None,
        }
    }

    fn run(&mut self) {
        while let Some(t) = self.next_tok() {
            let Some(mut t) = expand_one(self, t) else { continue };
            if t.kind == Kind::Mark {
                self.mark = merge(&self.mark, &t.doubt);
                continue;
            }
            t.before = self.mark.take();
            if t.is_ident() && is_device_dependent(&t.text) {
                t.doubt = merge(&t.doubt, &Some(Doubt::new(&t.text)));
            }
            t.hide = None;
            self.out.push(t);
        }
        for f in std::mem::take(&mut self.conds) {
            self.problem(f.line, "unterminated conditional directive".into(), f.parent_doubt);
        }
    }

    fn finish(self) -> Preprocessed {
        let mut errors = Vec::new();
        let mut notes = Vec::new();
        for p in &self.problems {
            let at = self.lines.describe(p.line);
            match &p.doubt {
                None if !p.note => errors.push(format!("{at}: {}", p.message)),
                None => notes.push(format!("{at}: {}", p.message)),
                Some(d) => notes.push(format!("{at}: {} (in code that depends on `{}`)", p.message, d.cause)),
            }
        }
        Preprocessed { tokens: self.out, errors, notes, lines: self.lines }
    }

    fn active(&self) -> bool {
        self.conds.last().is_none_or(|f| f.active)
    }

    fn region_doubt(&self) -> Option<Rc<Doubt>> {
        self.conds.last().and_then(|f| f.doubt.clone())
    }

    fn problem(&mut self, line: u32, message: String, doubt: Option<Rc<Doubt>>) {
        self.problems.push(Problem { line, message, doubt, note: false });
    }

    /// The rest of the current line.
    fn rest_of_line(&mut self) -> Vec<RawTok<'_>> {
        let mut rest = Vec::new();
        while let Some(t) = self.lexer.next_if(|t| !t.line_start) {
            rest.push(t);
        }
        rest
    }

    /// Handles the directive whose `#` is on input line `line`.
    fn directive(&mut self, line: u32) {
        let Some(name) = self.lexer.next_if(|t| !t.line_start) else {
            return;
        };
        let rest: Vec<Tok> = self.rest_of_line().iter().map(|r| Tok::from_raw(r, &None)).collect();
        let doubt = self.region_doubt();
        match name.text {
            "if" | "ifdef" | "ifndef" => self.open(name.text, &rest, line),
            "elif" | "elifdef" | "elifndef" | "else" => self.arm(name.text, &rest, line),
            "endif" => {
                if self.conds.pop().is_none() {
                    self.problem(line, "#endif without #if".into(), doubt);
                }
            }
            "line" => self.line_marker(&rest, line),
            _ if !self.active() => {}
            "define" => match parse_define(&rest) {
                Ok((name, mac)) => self.macros.define(name, mac, &doubt),
                Err(e) => self.problem(line, format!("#define: {e}"), doubt),
            },
            "undef" => match rest.first().filter(|t| t.is_ident()) {
                Some(t) => self.macros.undefine(&t.text, &doubt),
                None => self.problem(line, "#undef needs a macro name".into(), doubt),
            },
            "error" => self.problem(line, format!("#error {}", spelling(&rest)), doubt),
            "warning" => self.notes_only(line, format!("#warning {}", spelling(&rest))),
            "include" | "include_next" | "import" => {
                self.notes_only(line, format!("#{} {} ignored (includes must be expanded before reading)", name.text, spelling(&rest)));
            }
            "pragma" | "ident" | "sccs" | "assert" | "unassert" => {}
            _ if name.kind == Kind::Number => {
                let mut all = vec![Tok::from_raw(&name, &None)];
                all.extend(rest);
                self.line_marker(&all, line);
            }
            other => self.problem(line, format!("invalid preprocessing directive #{other}"), doubt),
        }
    }

    /// A note whatever the region's certainty.
    fn notes_only(&mut self, line: u32, message: String) {
        let doubt = self.region_doubt();
        self.problems.push(Problem { line, message, doubt, note: true });
    }

    /// `#line N "file"` (and GNU `# N "file"`), honoured in every region: the include
    /// expander writes them whatever the conditionals around an include.
    fn line_marker(&mut self, rest: &[Tok], line: u32) {
        let number = rest.first().filter(|t| t.kind == Kind::Number).and_then(|t| t.text.parse::<u32>().ok());
        let Some(number) = number else {
            if self.active() {
                self.notes_only(line, format!("#line {} ignored (not a line number)", spelling(rest)));
            }
            return;
        };
        let file = rest.get(1).filter(|t| t.kind == Kind::Str).and_then(|t| t.text.strip_prefix('"')?.strip_suffix('"').map(Rc::from));
        self.lines.mark(line, number, file);
    }

    /// `#if`, `#ifdef`, `#ifndef`.
    fn open(&mut self, kind: &str, rest: &[Tok], line: u32) {
        let parent_active = self.active();
        let parent_doubt = if parent_active { self.region_doubt() } else { None };
        let mut frame = Frame { parent_active, parent_doubt, active: false, doubt: None, done: false, maybe: None, seen_else: false, line };
        if parent_active {
            let c = self.condition(kind, rest, line, frame.reach_doubt());
            frame.enter(c);
        }
        self.conds.push(frame);
    }

    /// `#elif`, `#elifdef`, `#elifndef`, `#else`.
    fn arm(&mut self, kind: &str, rest: &[Tok], line: u32) {
        let Some(f) = self.conds.last_mut() else {
            self.problem(line, format!("#{kind} without #if"), self.region_doubt());
            return;
        };
        f.active = false;
        let after_else = f.seen_else;
        f.seen_else |= kind == "else";
        let (live, reach, parent) = (f.parent_active && !f.done, f.reach_doubt(), f.parent_doubt.clone());
        if after_else {
            self.problem(line, format!("#{kind} after #else"), parent);
            return;
        }
        if live {
            let c = self.condition(kind, rest, line, reach);
            if let Some(f) = self.conds.last_mut() {
                f.enter(c);
            }
        }
    }

    /// The value of a conditional; problems are reported with `reach` (the doubt of
    /// reaching this condition), and make the condition false (or unknown in doubtful code).
    fn condition(&mut self, kind: &str, rest: &[Tok], line: u32, reach: Option<Rc<Doubt>>) -> Tri {
        let result = match kind {
            "else" => Ok(Tri::Known(1)),
            "ifdef" | "ifndef" | "elifdef" | "elifndef" => self.ifdef(rest, kind.ends_with("ndef")),
            _ => self.if_expression(rest),
        };
        result.unwrap_or_else(|e| {
            self.problem(line, format!("#{kind}: {e}"), reach.clone());
            reach.map_or(Tri::Known(0), Tri::Unknown)
        })
    }

    fn ifdef(&self, rest: &[Tok], negate: bool) -> Result<Tri, String> {
        let name = rest.first().filter(|t| t.is_ident()).ok_or("a macro name is needed")?;
        Ok(match (self.macros.defined(&name.text), negate) {
            (Defined::Maybe(d), _) => Tri::Unknown(d),
            (Defined::Yes, false) | (Defined::No, true) => Tri::Known(1),
            _ => Tri::Known(0),
        })
    }

    fn if_expression(&mut self, rest: &[Tok]) -> Result<Tri, String> {
        let toks = replace_defined(&self.macros, rest)?;
        let expanded = expand_list(&mut self.env(), &toks);
        let macros = &self.macros;
        expr::evaluate(&expanded, &|name| macros.defined(name))
    }
}

/// Replaces `defined X` and `defined(X)` by `1` or `0` (uncertain for maybe-defined
/// names) before macro expansion, which must not touch the operand.
fn replace_defined(macros: &Macros, toks: &[Tok]) -> Result<Vec<Tok>, String> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        if !(t.is_ident() && &*t.text == "defined") {
            out.push(t.clone());
            i += 1;
            continue;
        }
        let (name, used) = match (toks.get(i + 1), toks.get(i + 2), toks.get(i + 3)) {
            (Some(n), _, _) if n.is_ident() => (n, 2),
            (Some(p), Some(n), Some(c)) if p.is("(") && n.is_ident() && c.is(")") => (n, 4),
            _ => return Err("`defined` needs a macro name".into()),
        };
        let (text, doubt) = match macros.defined(&name.text) {
            Defined::Yes => ("1", None),
            Defined::No => ("0", None),
            Defined::Maybe(d) => ("0", Some(d)),
        };
        out.push(Tok { kind: Kind::Number, text: text.into(), doubt, ..t.clone() });
        i += used;
    }
    Ok(out)
}

/// Tokens as written, separated by single spaces where the source had whitespace.
pub(super) fn spelling(toks: &[Tok]) -> String {
    let mut s = String::new();
    for (i, t) in toks.iter().enumerate() {
        if i > 0 && t.space {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}
