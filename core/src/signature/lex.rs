//! A tokenizer for OpenCL C declarations: identifiers, numbers, punctuation, with the brace
//! depth of each token and its byte range, so declarations can be quoted as written.
//! Preprocessor lines produce no tokens; simple object-like `#define`s are collected.

/// One token.
#[derive(Clone, Debug)]
pub(super) struct Tok {
    pub text: String,
    /// `{`-nesting depth at the token (a `{` itself is at the outer depth).
    pub depth: usize,
    pub start: usize,
    pub end: usize,
}

/// Tokens of a comment-free source, and its `#define NAME VALUE` lines in order.
pub(super) struct Lexed<'a> {
    pub code: &'a str,
    pub toks: Vec<Tok>,
    pub defines: Vec<(String, String)>,
}

impl Lexed<'_> {
    /// Source text of tokens `[from, to)`, whitespace runs collapsed to one space.
    pub fn text(&self, from: usize, to: usize) -> String {
        if from >= to || to > self.toks.len() {
            return String::new();
        }
        let raw = self.code.get(self.toks[from].start..self.toks[to - 1].end).unwrap_or_default();
        raw.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Whether `s` is a C identifier.
pub(super) fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Tokenizes `code` (comments already removed).
pub(super) fn lex(code: &str) -> Lexed<'_> {
    let bytes = code.as_bytes();
    let mut toks = Vec::new();
    let mut defines = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' && line_start {
            let end = directive_end(bytes, i);
            let line = code[i + 1..end].replace("\\\n", " ");
            if let Some(def) = object_define(&line) {
                defines.push(def);
            }
            i = end;
            continue;
        }
        line_start = false;
        let start = i;
        if c.is_ascii_alphanumeric() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || (bytes[start].is_ascii_digit() && bytes[i] == b'.')) {
                i += 1;
            }
        } else if c == b'"' || c == b'\'' {
            i += 1;
            while i < bytes.len() && bytes[i] != c && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
        } else {
            // One character (multi-byte UTF-8 characters stay whole).
            i += code[i..].chars().next().map_or(1, char::len_utf8);
        }
        let text = &code[start..i];
        let tok_depth = if text == "}" { depth.saturating_sub(1) } else { depth };
        match text {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            _ => {}
        }
        toks.push(Tok { text: text.to_string(), depth: tok_depth, start, end: i });
    }
    Lexed { code, toks, defines }
}

/// End (exclusive) of the preprocessor line starting at `i`, following `\` continuations.
fn directive_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i] == b'\n' && !(i > 0 && bytes[i - 1] == b'\\') {
            return i;
        }
        i += 1;
    }
    i
}

/// `define NAME VALUE` (not a function-like macro) as (NAME, VALUE).
fn object_define(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix("define")?;
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim_start();
    let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    let (name, value) = rest.split_at(name_len);
    if !is_ident(name) || value.starts_with('(') {
        return None;
    }
    Some((name.to_string(), value.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_defines_and_text() {
        let l = lex("#define T float\n#define F(x) x\n#define LONG a \\\n b\nvoid f(T *x) { { } }\n  # pragma once\nint y;");
        assert_eq!(l.defines, vec![("T".to_string(), "float".to_string()), ("LONG".to_string(), "a   b".to_string())]);
        let texts: Vec<&str> = l.toks.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["void", "f", "(", "T", "*", "x", ")", "{", "{", "}", "}", "int", "y", ";"]);
        let depths: Vec<usize> = l.toks.iter().map(|t| t.depth).collect();
        assert_eq!(depths, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
        assert_eq!(l.text(0, 7), "void f(T *x)");
        assert_eq!(l.text(3, 3), "");
    }

    #[test]
    fn numbers_strings_and_unicode_do_not_panic() {
        let l = lex("x = 1.5f + 'a' + \"s\\\"t\" + é;\n\"unterminated");
        assert!(l.toks.iter().any(|t| t.text == "1.5f"));
        assert!(l.toks.iter().any(|t| t.text == "é"));
    }
}
