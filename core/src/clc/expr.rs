//! `#if` expressions: C integer arithmetic over `i64`/`u64`, three-valued.
//!
//! A value is either known or unknown (it depends on the device: an extension macro, a
//! macro defined under a device-dependent conditional). Unknown values propagate through
//! arithmetic, except where C would not look at them: `0 && x` and `1 || x` are known,
//! and so is `c ? a : b` when both arms are the same. Division or remainder by zero, and
//! out-of-range shifts, are errors when evaluated (not in the unevaluated operand of `&&`,
//! `||` or `?:`); when the operand is only evaluated on some devices they make the result
//! unknown.

use super::lex::Kind;
use super::macros::{is_device_dependent, Defined};
use super::token::{merge, Doubt, Tok};
use std::rc::Rc;

/// The value of an `#if` expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tri {
    /// The same on every device (unsigned results are given as their bit pattern).
    Known(i64),
    /// Depends on the device.
    Unknown(Rc<Doubt>),
}

/// Most nested parentheses and unary operators in one expression.
const MAX_DEPTH: usize = 256;

/// A C integer: its bits and whether its type is unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Num {
    v: i64,
    unsigned: bool,
}

impl Num {
    fn int(v: i64) -> Num {
        Num { v, unsigned: false }
    }

    fn bool(b: bool) -> Num {
        Num::int(i64::from(b))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum V {
    K(Num),
    U(Rc<Doubt>),
}

/// Whether the operand being read is evaluated.
#[derive(Clone, Debug)]
enum Live {
    Yes,
    No,
    /// Only on some devices.
    Maybe(Rc<Doubt>),
}

impl Live {
    /// Liveness of an operand evaluated only when a device-dependent value says so.
    fn unless(&self, d: &Rc<Doubt>) -> Live {
        match self {
            Live::Yes => Live::Maybe(d.clone()),
            other => other.clone(),
        }
    }

    /// The value of an operation that failed with `msg`.
    fn fail(&self, msg: String) -> Result<V, String> {
        match self {
            Live::Yes => Err(msg),
            Live::No => Ok(V::K(Num::int(0))),
            Live::Maybe(d) => Ok(V::U(d.clone())),
        }
    }
}

/// Evaluates the tokens of an `#if` line after macro expansion (`defined` operands already
/// replaced, though `defined` produced by expansion is understood too). `defined` answers
/// whether a name is a macro.
pub(super) fn evaluate(tokens: &[Tok], defined: &dyn Fn(&str) -> Defined) -> Result<Tri, String> {
    let mut marks = None;
    let toks: Vec<&Tok> = tokens
        .iter()
        .filter(|t| {
            if t.kind == Kind::Mark {
                marks = merge(&marks, &t.doubt);
            }
            t.kind != Kind::Mark
        })
        .collect();
    if toks.is_empty() {
        return Err("#if with no expression".into());
    }
    let mut p = Parser { toks: &toks, pos: 0, depth: 0, defined };
    let v = p.comma(&Live::Yes)?;
    if let Some(t) = p.peek() {
        return Err(format!("unexpected `{}` in #if expression", t.text));
    }
    Ok(match (v, marks) {
        (V::U(d), _) | (V::K(_), Some(d)) => Tri::Unknown(d),
        (V::K(n), None) => Tri::Known(n.v),
    })
}

struct Parser<'t> {
    toks: &'t [&'t Tok],
    pos: usize,
    depth: usize,
    defined: &'t dyn Fn(&str) -> Defined,
}

/// Binary operators by precedence (higher binds tighter).
fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "||" => 1,
        "&&" => 2,
        "|" => 3,
        "^" => 4,
        "&" => 5,
        "==" | "!=" => 6,
        "<" | ">" | "<=" | ">=" => 7,
        "<<" | ">>" => 8,
        "+" | "-" => 9,
        "*" | "/" | "%" => 10,
        _ => return None,
    })
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<&'t Tok> {
        self.toks.get(self.pos).copied()
    }

    fn eat(&mut self, s: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.is(s));
        self.pos += usize::from(hit);
        hit
    }

    fn expect(&mut self, s: &str) -> Result<(), String> {
        if self.eat(s) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(t) => format!("expected `{s}` in #if expression, found `{}`", t.text),
            None => format!("expected `{s}` at the end of the #if expression"),
        })
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("#if expression nested too deeply".into());
        }
        Ok(())
    }

    /// `a, b` (the value of `b`).
    fn comma(&mut self, live: &Live) -> Result<V, String> {
        let mut v = self.conditional(live)?;
        while self.eat(",") {
            v = self.conditional(live)?;
        }
        Ok(v)
    }

    /// `c ? a : b`.
    fn conditional(&mut self, live: &Live) -> Result<V, String> {
        self.enter()?;
        let c = self.binary(1, live)?;
        let v = if !self.eat("?") {
            c
        } else {
            let (live_a, live_b) = match &c {
                V::K(n) if n.v != 0 => (live.clone(), Live::No),
                V::K(_) => (Live::No, live.clone()),
                V::U(d) => (live.unless(d), live.unless(d)),
            };
            let a = self.comma(&live_a)?;
            self.expect(":")?;
            let b = self.conditional(&live_b)?;
            pick(c, a, b)
        };
        self.depth -= 1;
        Ok(v)
    }

    /// Precedence climbing over the binary operators of precedence `min` and above.
    fn binary(&mut self, min: u8, live: &Live) -> Result<V, String> {
        let mut lhs = self.unary(live)?;
        while let Some(op) = self.peek().filter(|t| t.kind == Kind::Punct) {
            let Some(prec) = precedence(&op.text).filter(|&p| p >= min) else {
                break;
            };
            self.pos += 1;
            let rhs_live = match (&*op.text, &lhs) {
                ("&&", V::K(n)) if n.v == 0 => Live::No,
                ("||", V::K(n)) if n.v != 0 => Live::No,
                ("&&" | "||", V::U(d)) => live.unless(d),
                _ => live.clone(),
            };
            let rhs = self.binary(prec + 1, &rhs_live)?;
            lhs = apply(&op.text, lhs, rhs, live)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self, live: &Live) -> Result<V, String> {
        let Some(t) = self.peek() else {
            return Err("missing operand at the end of the #if expression".into());
        };
        if t.kind == Kind::Punct && matches!(&*t.text, "+" | "-" | "~" | "!") {
            self.pos += 1;
            self.enter()?;
            let v = self.unary(live)?;
            self.depth -= 1;
            return Ok(match v {
                V::K(n) => V::K(match &*t.text {
                    "-" => Num { v: n.v.wrapping_neg(), ..n },
                    "~" => Num { v: !n.v, ..n },
                    "!" => Num::bool(n.v == 0),
                    _ => n,
                }),
                u => u,
            });
        }
        self.primary(live)
    }

    fn primary(&mut self, live: &Live) -> Result<V, String> {
        let Some(t) = self.peek() else {
            return Err("missing operand at the end of the #if expression".into());
        };
        self.pos += 1;
        let v = match t.kind {
            Kind::Number => V::K(parse_int(&t.text)?),
            Kind::Char => V::K(parse_char(&t.text)?),
            Kind::Ident => self.identifier(t)?,
            Kind::Punct if t.is("(") => {
                self.enter()?;
                let v = self.comma(live)?;
                self.expect(")")?;
                self.depth -= 1;
                v
            }
            _ => return Err(format!("unexpected `{}` in #if expression", t.text)),
        };
        Ok(match &t.doubt {
            Some(d) => V::U(d.clone()),
            None => v,
        })
    }

    /// An identifier left after macro expansion.
    fn identifier(&mut self, t: &Tok) -> Result<V, String> {
        let name = &*t.text;
        if name == "defined" {
            let paren = self.eat("(");
            let operand = self.peek().filter(|t| t.is_ident()).ok_or("`defined` needs a macro name")?;
            self.pos += 1;
            if paren {
                self.expect(")")?;
            }
            return Ok(match (self.defined)(&operand.text) {
                Defined::Yes => V::K(Num::int(1)),
                Defined::No => V::K(Num::int(0)),
                Defined::Maybe(d) => V::U(d),
            });
        }
        if name.starts_with("__has_") && self.peek().is_some_and(|p| p.is("(")) {
            self.skip_group();
            return Ok(V::U(Doubt::new(name)));
        }
        Ok(match name {
            "true" => V::K(Num::int(1)),
            _ if is_device_dependent(name) => V::U(Doubt::new(name)),
            _ => V::K(Num::int(0)),
        })
    }

    /// Skips a parenthesised group starting at the current `(`.
    fn skip_group(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            self.pos += 1;
            if t.is("(") {
                depth += 1;
            } else if t.is(")") {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
            }
        }
    }
}

/// `c ? a : b` once all three are read.
fn pick(c: V, a: V, b: V) -> V {
    let unify = |x: Num, y: Num| Num { v: x.v, unsigned: x.unsigned || y.unsigned };
    match (c, a, b) {
        (V::K(c), V::K(a), V::K(b)) => V::K(if c.v != 0 { unify(a, b) } else { unify(b, a) }),
        (V::K(c), a, b) => {
            if c.v != 0 {
                a
            } else {
                b
            }
        }
        (V::U(_), V::K(a), V::K(b)) if a == b => V::K(a),
        (V::U(d), _, _) => V::U(d),
    }
}

/// Applies a binary operator.
fn apply(op: &str, lhs: V, rhs: V, live: &Live) -> Result<V, String> {
    let (a, b) = match (op, lhs, rhs) {
        ("&&", V::K(a), _) if a.v == 0 => return Ok(V::K(Num::bool(false))),
        ("&&", _, V::K(b)) if b.v == 0 => return Ok(V::K(Num::bool(false))),
        ("||", V::K(a), _) if a.v != 0 => return Ok(V::K(Num::bool(true))),
        ("||", _, V::K(b)) if b.v != 0 => return Ok(V::K(Num::bool(true))),
        (_, V::U(d), _) | (_, _, V::U(d)) => return Ok(V::U(d)),
        (_, V::K(a), V::K(b)) => (a, b),
    };
    match arithmetic(op, a, b) {
        Ok(n) => Ok(V::K(n)),
        Err(msg) => live.fail(msg),
    }
}

/// C arithmetic on two known operands, with the usual arithmetic conversions.
fn arithmetic(op: &str, a: Num, b: Num) -> Result<Num, String> {
    let unsigned = a.unsigned || b.unsigned;
    let (x, y) = (a.v, b.v);
    let (ux, uy) = (x as u64, y as u64);
    let num = |v: i64| Num { v, unsigned };
    Ok(match op {
        "*" => num(x.wrapping_mul(y)),
        "/" | "%" if y == 0 => return Err(format!("{} by zero in #if expression", if op == "/" { "division" } else { "remainder" })),
        "/" if unsigned => num((ux / uy) as i64),
        "/" => num(x.wrapping_div(y)),
        "%" if unsigned => num((ux % uy) as i64),
        "%" => num(x.wrapping_rem(y)),
        "+" => num(x.wrapping_add(y)),
        "-" => num(x.wrapping_sub(y)),
        "<<" | ">>" => return shift(op, a, b),
        "<" | ">" | "<=" | ">=" => {
            let ord = if unsigned { ux.cmp(&uy) } else { x.cmp(&y) };
            Num::bool(match op {
                "<" => ord.is_lt(),
                ">" => ord.is_gt(),
                "<=" => ord.is_le(),
                _ => ord.is_ge(),
            })
        }
        "==" => Num::bool(x == y),
        "!=" => Num::bool(x != y),
        "&" => num(x & y),
        "^" => num(x ^ y),
        "|" => num(x | y),
        "&&" => Num::bool(x != 0 && y != 0),
        "||" => Num::bool(x != 0 || y != 0),
        _ => return Err(format!("`{op}` is not an #if operator")),
    })
}

/// `a << b`, `a >> b`: the type of `a`; counts outside 0..64 are errors.
fn shift(op: &str, a: Num, b: Num) -> Result<Num, String> {
    let count = u32::try_from(b.v).ok().filter(|&c| c < 64 && (b.unsigned || b.v >= 0));
    let Some(c) = count else {
        return Err(format!("shift count {} out of range in #if expression", b.v));
    };
    let v = match (op, a.unsigned) {
        ("<<", _) => a.v.wrapping_shl(c),
        (_, true) => ((a.v as u64) >> c) as i64,
        _ => a.v >> c,
    };
    Ok(Num { v, unsigned: a.unsigned })
}

/// An integer constant: decimal, `0x` hex, `0b` binary, `0` octal, with `u`/`l`/`ll` suffixes.
fn parse_int(text: &str) -> Result<Num, String> {
    let bad = || format!("`{text}` is not an integer constant");
    let lower = text.to_ascii_lowercase();
    let digits_end = lower.trim_end_matches(['u', 'l']).len();
    let (digits, suffix) = lower.split_at_checked(digits_end).ok_or_else(bad)?;
    if !matches!(suffix, "" | "u" | "l" | "ul" | "lu" | "ll" | "ull" | "llu") {
        return Err(bad());
    }
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, digits.get(1..).unwrap_or_default())
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return Err(if digits.contains(['.', 'e', 'p']) && radix == 10 {
            format!("floating constant `{text}` in #if expression")
        } else {
            bad()
        });
    }
    let v = u64::from_str_radix(body, radix).map_err(|_| format!("integer constant `{text}` is too large"))?;
    Ok(Num { v: v as i64, unsigned: suffix.contains('u') || v > i64::MAX as u64 })
}

/// A character constant (`'a'`, `'\n'`, `'\x41'`, `'\101'`), as a signed char.
fn parse_char(text: &str) -> Result<Num, String> {
    let bad = || format!("`{text}` is not a character constant");
    let inner = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).ok_or_else(bad)?;
    let value: u32 = match inner.strip_prefix('\\') {
        None => {
            let mut chars = inner.chars();
            let c = chars.next().ok_or_else(bad)?;
            if chars.next().is_some() {
                return Err(format!("multi-character constant `{text}` in #if expression"));
            }
            u32::from(c)
        }
        Some(esc) => escape_value(esc).ok_or_else(bad)?,
    };
    Ok(Num::int(i64::from(value as u8 as i8)))
}

fn escape_value(esc: &str) -> Option<u32> {
    let simple = match esc {
        "n" => Some(10),
        "t" => Some(9),
        "r" => Some(13),
        "a" => Some(7),
        "b" => Some(8),
        "f" => Some(12),
        "v" => Some(11),
        "\\" | "'" | "\"" | "?" => esc.chars().next().map(u32::from),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    if let Some(hex) = esc.strip_prefix('x') {
        return u32::from_str_radix(hex, 16).ok();
    }
    (esc.len() <= 3).then(|| u32::from_str_radix(esc, 8).ok()).flatten()
}
