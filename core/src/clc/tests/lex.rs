use crate::clc::lex::{Kind, Spliced};

fn toks(src: &str) -> Vec<(Kind, String, u32, bool, bool)> {
    let s = Spliced::new(src);
    s.lexer().map(|t| (t.kind, t.text.to_string(), t.line, t.space, t.line_start)).collect()
}

fn texts(src: &str) -> Vec<String> {
    toks(src).into_iter().map(|t| t.1).collect()
}

#[test]
fn punctuators_use_maximal_munch() {
    assert_eq!(
        texts("a<<=b>>=c...d->e++ --&&||<=>===!=+=-=*=/=%=&=|=^=<<>>##x#y"),
        [
            "a", "<<=", "b", ">>=", "c", "...", "d", "->", "e", "++", "--", "&&", "||", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=",
            "%=", "&=", "|=", "^=", "<<", ">>", "##", "x", "#", "y"
        ]
    );
    assert_eq!(texts("a+++b"), ["a", "++", "+", "b"]);
    assert_eq!(texts("x..y"), ["x", ".", ".", "y"]);
}

#[test]
fn numbers_are_pp_numbers() {
    let t = toks("1.5f 0x1p-3 1e+5 10u .5 0xFFul 1.e-2f 12abc");
    let nums: Vec<(Kind, String)> = t.into_iter().map(|t| (t.0, t.1)).collect();
    let want = ["1.5f", "0x1p-3", "1e+5", "10u", ".5", "0xFFul", "1.e-2f", "12abc"];
    assert_eq!(nums, want.iter().map(|w| (Kind::Number, w.to_string())).collect::<Vec<_>>());
    // `-` after a non-exponent letter is not part of the number.
    assert_eq!(texts("0x1f-3"), ["0x1f", "-", "3"]);
}

#[test]
fn strings_chars_and_prefixes() {
    let t = toks(r#"s = "a \"b\" c"; c = '\''; w = L"x"; u8"y" 'ab'"#);
    let kinds: Vec<(Kind, &str)> = t.iter().map(|t| (t.0, t.1.as_str())).collect();
    assert!(kinds.contains(&(Kind::Str, r#""a \"b\" c""#)));
    assert!(kinds.contains(&(Kind::Char, r"'\''")));
    assert!(kinds.contains(&(Kind::Str, r#"L"x""#)));
    assert!(kinds.contains(&(Kind::Str, r#"u8"y""#)));
    assert!(kinds.contains(&(Kind::Char, "'ab'")));
}

#[test]
fn comments_are_whitespace_and_lines_are_counted() {
    let t = toks("a/*x\ny*/b // c\n  #define X\\\n 1\nz");
    let summary: Vec<(&str, u32, bool, bool)> = t.iter().map(|t| (t.1.as_str(), t.2, t.3, t.4)).collect();
    assert_eq!(
        summary,
        [
            ("a", 1, false, true),
            ("b", 2, true, false),
            ("#", 3, true, true),
            ("define", 3, false, false),
            ("X", 3, true, false),
            ("1", 4, true, false),
            ("z", 5, true, true)
        ]
    );
}

#[test]
fn splices_join_tokens_and_keep_line_numbers() {
    let t = toks("ab\\\ncd e\\\r\nf\ng");
    let summary: Vec<(&str, u32)> = t.iter().map(|t| (t.1.as_str(), t.2)).collect();
    assert_eq!(summary, [("abcd", 1), ("ef", 2), ("g", 4)]);
    // A `//` comment continued by a splice swallows the next line.
    assert_eq!(texts("a // c \\\n b\nc"), ["a", "c"]);
}

#[test]
fn comments_kept_on_request() {
    let s = Spliced::new("a // clbake:tune k 64\n/* b */ c");
    let t: Vec<(Kind, String, bool)> = s.lexer().with_comments().map(|t| (t.kind, t.text.to_string(), t.space)).collect();
    assert_eq!(
        t,
        [
            (Kind::Ident, "a".into(), false),
            (Kind::Comment, "// clbake:tune k 64".into(), true),
            (Kind::Comment, "/* b */".into(), true),
            (Kind::Ident, "c".into(), true)
        ]
    );
}

#[test]
fn odd_input_gives_tokens_not_panics() {
    let t = toks("é @ \\ ` \"open\n'x\n/* never closed");
    let texts: Vec<(Kind, &str)> = t.iter().map(|t| (t.0, t.1.as_str())).collect();
    assert_eq!(
        texts,
        [(Kind::Other, "é"), (Kind::Other, "@"), (Kind::Other, "\\"), (Kind::Other, "`"), (Kind::Str, "\"open"), (Kind::Char, "'x")]
    );
    for src in ["\\", "\"", "'", "/*", "/", "\"\\", "'\\", "#", "\\\r", "a\\", "\u{1F600}\\\n\""] {
        let _ = toks(src);
    }
}

/// A small deterministic generator (no dependencies).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_sources_never_panic() {
    let alphabet: Vec<char> = "ab_19.+-*/#\\\"'\n\r ()[]{},<>=!&|^%~?:;xeEpPuUlL\t\u{e9}\u{1F600}".chars().collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = (rng.next() % 60) as usize;
        let src: String = (0..len).map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize]).collect();
        let lexed = toks(&src);
        assert!(lexed.iter().all(|t| !t.1.is_empty()), "{src:?}");
        let _ = crate::clc::read(&src, "-DX=1");
        let _ = crate::clc::token_hash(&src);
    }
}
