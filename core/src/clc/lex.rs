//! The tokenizer: OpenCL C source text to preprocessing tokens.
//!
//! Line splices (`\` + newline) are removed first ([`Spliced`]); comments become whitespace
//! (or [`Kind::Comment`] tokens when asked for); every token knows its 1-based line in the
//! input, whether whitespace preceded it and whether it starts a line. Never panics: an
//! unterminated comment ends at the end of the input, an unterminated string or character
//! literal at the end of its line, and any other character is a [`Kind::Other`] token.

use std::borrow::Cow;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An identifier or keyword (`float`, `__kernel`, `x1`).
    Ident,
    /// A preprocessing number (`10u`, `1.5f`, `0x1p-3`, `1e+5`).
    Number,
    /// A string literal, quotes included (unterminated ones end at the end of the line).
    Str,
    /// A character literal, quotes included.
    Char,
    /// A punctuator (`(`, `<<=`, `##`, `...`).
    Punct,
    /// Any other character (`@`, a lone `\`, a non-ASCII character).
    Other,
    /// A comment, as written (only with [`Lexer::with_comments`]).
    Comment,
    /// Never produced by the lexer: the preprocessor's trace of a device-dependent macro
    /// that expanded to nothing (internal; never in [`super::Preprocessed::tokens`]).
    Mark,
}

/// A source text with its line splices removed.
pub struct Spliced<'a> {
    text: Cow<'a, str>,
    /// Offsets in `text` where a splice was removed (each one hides a newline).
    splices: Vec<usize>,
}

impl<'a> Spliced<'a> {
    /// Removes every `\` + newline (`\n` or `\r\n`); borrows when there is none.
    pub fn new(source: &'a str) -> Self {
        if !source.contains("\\\n") && !source.contains("\\\r\n") {
            return Spliced { text: Cow::Borrowed(source), splices: Vec::new() };
        }
        let mut text = String::with_capacity(source.len());
        let mut splices = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find('\\') {
            let (head, tail) = rest.split_at(at);
            text.push_str(head);
            let after = tail.get(1..).unwrap_or_default();
            if let Some(next) = after.strip_prefix('\n').or_else(|| after.strip_prefix("\r\n")) {
                splices.push(text.len());
                rest = next;
            } else {
                text.push('\\');
                rest = after;
            }
        }
        text.push_str(rest);
        Spliced { text: Cow::Owned(text), splices }
    }

    /// The text without splices.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A lexer over the text.
    pub fn lexer(&self) -> Lexer<'_> {
        Lexer {
            text: &self.text,
            pos: 0,
            line: 1,
            counted: 0,
            splices: &self.splices,
            next_splice: 0,
            line_start: true,
            space: false,
            comments: false,
        }
    }
}

/// One token, borrowed from the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawTok<'a> {
    /// What the token is.
    pub kind: Kind,
    /// The token as written (splices removed).
    pub text: &'a str,
    /// 1-based line in the input where the token starts.
    pub line: u32,
    /// Whitespace (or a comment) comes before the token.
    pub space: bool,
    /// The token is the first of its line (preprocessor directives start with such a `#`).
    pub line_start: bool,
}

/// Iterator over the tokens of a [`Spliced`] text.
pub struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: u32,
    /// Position up to which newlines have been counted into `line`.
    counted: usize,
    splices: &'a [usize],
    next_splice: usize,
    line_start: bool,
    /// Whitespace or a comment was skipped since the last token.
    space: bool,
    comments: bool,
}

impl<'a> Lexer<'a> {
    /// Also yields comments, as [`Kind::Comment`] tokens.
    pub fn with_comments(mut self) -> Self {
        self.comments = true;
        self
    }

    fn byte(&self, at: usize) -> u8 {
        self.text.as_bytes().get(at).copied().unwrap_or(0)
    }

    /// Brings `line` up to date with position `upto` (never moving back).
    fn sync_line(&mut self, upto: usize) {
        let seen = self.text.as_bytes().get(self.counted..upto).unwrap_or_default();
        let newlines = seen.iter().filter(|&&b| b == b'\n').count();
        self.line = self.line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        self.counted = self.counted.max(upto);
        while self.splices.get(self.next_splice).is_some_and(|&s| s <= upto) {
            self.line = self.line.saturating_add(1);
            self.next_splice += 1;
        }
    }

    /// Skips whitespace and comments, noting them in `space`; returns a comment token
    /// when comments are kept.
    fn skip_blank(&mut self) -> Option<RawTok<'a>> {
        loop {
            let end = match (self.byte(self.pos), self.byte(self.pos + 1)) {
                (b'\n', _) => {
                    self.line_start = true;
                    self.pos + 1
                }
                (b' ' | b'\t' | b'\r' | 0x0b | 0x0c, _) => self.pos + 1,
                (b'/', b'/') => self.text.get(self.pos..).and_then(|r| r.find('\n')).map_or(self.text.len(), |e| self.pos + e),
                (b'/', b'*') => self.text.get(self.pos + 2..).and_then(|r| r.find("*/")).map_or(self.text.len(), |e| self.pos + 4 + e),
                _ => return None,
            };
            let start = self.pos;
            self.pos = end;
            if self.comments && self.byte(start) == b'/' {
                let text = self.text.get(start..end).unwrap_or_default();
                let t = self.make(Kind::Comment, start, text);
                self.space = true;
                return Some(t);
            }
            self.space = true;
        }
    }

    fn make(&mut self, kind: Kind, start: usize, text: &'a str) -> RawTok<'a> {
        self.sync_line(start);
        let t = RawTok { kind, text, line: self.line, space: self.space, line_start: self.line_start && kind != Kind::Comment };
        if kind != Kind::Comment {
            self.line_start = false;
            self.space = false;
        }
        t
    }

    /// End of the token starting at `start`, and its kind.
    fn token_end(&self, start: usize) -> (usize, Kind) {
        let c = self.byte(start);
        let next = self.byte(start + 1);
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let end = self.ident_end(start);
            let prefix = self.text.get(start..end).unwrap_or_default();
            let quote = self.byte(end);
            if matches!(prefix, "L" | "u" | "U" | "u8") && (quote == b'"' || quote == b'\'') {
                return (self.quoted_end(end, quote), if quote == b'"' { Kind::Str } else { Kind::Char });
            }
            return (end, Kind::Ident);
        }
        if c.is_ascii_digit() || (c == b'.' && next.is_ascii_digit()) {
            return (self.number_end(start), Kind::Number);
        }
        if c == b'"' || c == b'\'' {
            return (self.quoted_end(start, c), if c == b'"' { Kind::Str } else { Kind::Char });
        }
        if let Some(len) = punct_len(self.text.as_bytes().get(start..).unwrap_or_default()) {
            return (start + len, Kind::Punct);
        }
        let len = self.text.get(start..).and_then(|r| r.chars().next()).map_or(1, char::len_utf8);
        (start + len, Kind::Other)
    }

    fn ident_end(&self, mut i: usize) -> usize {
        while matches!(self.byte(i), b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'$') {
            i += 1;
        }
        i
    }

    fn number_end(&self, mut i: usize) -> usize {
        loop {
            let c = self.byte(i);
            if matches!(c, b'e' | b'E' | b'p' | b'P') && matches!(self.byte(i + 1), b'+' | b'-') {
                i += 2;
            } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' {
                i += 1;
            } else {
                return i;
            }
        }
    }

    /// End of a string or character literal opening at `open`: after the closing quote, or
    /// at the end of the line when there is none.
    fn quoted_end(&self, open: usize, quote: u8) -> usize {
        let mut i = open + 1;
        loop {
            match self.byte(i) {
                0 if i >= self.text.len() => return i,
                b'\n' => return i,
                b'\\' if self.byte(i + 1) != b'\n' && i + 1 < self.text.len() => i += 2,
                c if c == quote => return i + 1,
                _ => i += 1,
            }
        }
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = RawTok<'a>;

    fn next(&mut self) -> Option<RawTok<'a>> {
        if let Some(comment) = self.skip_blank() {
            return Some(comment);
        }
        let start = self.pos;
        if start >= self.text.len() {
            return None;
        }
        let (end, kind) = self.token_end(start);
        // A multi-byte character split by a bad end would not be a char boundary: take it whole.
        let end = (end..=self.text.len()).find(|&e| self.text.is_char_boundary(e)).unwrap_or(self.text.len());
        let text = self.text.get(start..end).unwrap_or_default();
        self.pos = end.max(start + 1).min(self.text.len());
        Some(self.make(kind, start, text))
    }
}

const PUNCT3: [&[u8]; 3] = [b"...", b"<<=", b">>="];
const PUNCT2: [&[u8]; 19] =
    [b"->", b"++", b"--", b"&&", b"||", b"<=", b">=", b"==", b"!=", b"+=", b"-=", b"*=", b"/=", b"%=", b"&=", b"|=", b"^=", b"<<", b">>"];

/// Length of the punctuator at the start of `s` (maximal munch), if it starts with one.
fn punct_len(s: &[u8]) -> Option<usize> {
    if PUNCT3.iter().any(|p| s.starts_with(p)) {
        return Some(3);
    }
    if PUNCT2.iter().any(|p| s.starts_with(p)) || s.starts_with(b"##") {
        return Some(2);
    }
    let c = *s.first()?;
    b"[](){}.&*+-~!/%<>^|?:;=,#".contains(&c).then_some(1)
}

/// Whether `s` is a C identifier (ASCII letters, digits and `_`, not starting with a digit).
pub fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}
