//! A comment-proof hash of a program: the hash of its token stream.

use super::lex::{Kind, RawTok, Spliced};
use crate::hash::Hash128;
use xxhash_rust::xxh3::Xxh3;

/// What an item of the hashed stream is.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Tag {
    Token = 0,
    /// The end of a preprocessor directive line.
    EndOfDirective = 1,
    /// `#define NAME(` with no space: a function-like macro.
    FunctionLike = 2,
    /// A `// clbake:` line (whitespace runs collapsed).
    Clbake = 3,
    /// The input line of the next token (only when the source uses `__LINE__`/`__FILE__`).
    Line = 4,
}

/// The hash of `source`'s token stream: comments, blank lines, indentation and line
/// continuations do not change it; any token change does. Two sources with the same hash
/// are the same token sequence, so a binary built from one suits the other.
///
/// Besides the tokens it covers: where each preprocessor directive ends (`#define A 1`
/// followed by a line `B` differs from `#define A 1 B`); whether a `#define NAME` is
/// directly followed by `(` (function-like) or not; `// clbake:` comments (they change what
/// is built). `#line N "file"` lines (written by the include expander, their numbers move
/// when lines are added above) are left out, unless the source uses `__LINE__` or
/// `__FILE__`: then they and every token's line count. Whitespace inside a line is not
/// hashed, so `#x` of `a+b` and of `a + b` hash alike. The source is not preprocessed.
pub fn token_hash(source: &str) -> Hash128 {
    let spliced = Spliced::new(source);
    let lines = uses_line_macros(&spliced);
    let mut h = Hasher { xxh: Xxh3::new() };
    h.item(Tag::Token, b"clbake-token-hash-1");
    let mut directive: Option<Directive> = None;
    for t in spliced.lexer().with_comments() {
        if t.kind == Kind::Comment {
            if t.text.starts_with("// clbake:") {
                h.item(Tag::Clbake, t.text.split_whitespace().collect::<Vec<_>>().join(" ").as_bytes());
            }
            continue;
        }
        if t.line_start {
            if let Some(d) = directive.take() {
                d.end(&mut h);
            }
            if t.kind == Kind::Punct && t.text == "#" {
                directive = Some(Directive { hash: t, len: 0, skip: false, define: false, lines });
                continue;
            }
        }
        if lines {
            h.item(Tag::Line, &t.line.to_le_bytes());
        }
        match &mut directive {
            Some(d) => d.token(&mut h, &t),
            None => h.item(Tag::Token, t.text.as_bytes()),
        }
    }
    if let Some(d) = directive {
        d.end(&mut h);
    }
    Hash128(h.xxh.digest128().to_le_bytes())
}

struct Hasher {
    xxh: Xxh3,
}

impl Hasher {
    fn item(&mut self, tag: Tag, bytes: &[u8]) {
        self.xxh.update(&[tag as u8]);
        self.xxh.update(&(bytes.len() as u64).to_le_bytes());
        self.xxh.update(bytes);
    }
}

/// A directive line being hashed; its `#` waits until the name shows whether it is `#line`.
struct Directive<'a> {
    hash: RawTok<'a>,
    /// Tokens seen after the `#`.
    len: usize,
    /// A `#line` left out of the hash.
    skip: bool,
    define: bool,
    lines: bool,
}

impl Directive<'_> {
    fn token(&mut self, h: &mut Hasher, t: &RawTok<'_>) {
        if self.len == 0 {
            self.skip = t.text == "line" && !self.lines;
            self.define = t.text == "define";
            if !self.skip {
                h.item(Tag::Token, self.hash.text.as_bytes());
            }
        }
        self.len += 1;
        if self.skip {
            return;
        }
        if self.define && self.len == 3 && t.text == "(" && !t.space {
            h.item(Tag::FunctionLike, b"");
        }
        h.item(Tag::Token, t.text.as_bytes());
    }

    fn end(self, h: &mut Hasher) {
        if self.len == 0 {
            h.item(Tag::Token, self.hash.text.as_bytes());
        }
        if !self.skip {
            h.item(Tag::EndOfDirective, b"");
        }
    }
}

/// Whether an identifier `__LINE__` or `__FILE__` appears in the source.
fn uses_line_macros(spliced: &Spliced<'_>) -> bool {
    let text = spliced.text();
    if !text.contains("__LINE__") && !text.contains("__FILE__") {
        return false;
    }
    spliced.lexer().any(|t| t.kind == Kind::Ident && (t.text == "__LINE__" || t.text == "__FILE__"))
}
