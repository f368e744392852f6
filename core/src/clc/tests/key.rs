//! `token_hash`: same for comment and layout edits, different for token edits.
use crate::clc::token_hash;

const BASE: &str = "// clbake:launch k 64 x=n\n#line 1 \"k.cl\"\n#define T float\n/* doc */\n__kernel void k(__global T* x, int n) {\n    x[0] = n; // set\n}\n";

fn same(a: &str, b: &str) {
    assert_eq!(token_hash(a), token_hash(b), "should hash alike:\n{a}\n---\n{b}");
}

fn differ(a: &str, b: &str) {
    assert_ne!(token_hash(a), token_hash(b), "should differ:\n{a}\n---\n{b}");
}

#[test]
fn layout_and_comments_do_not_count() {
    same(BASE, &BASE.replace("/* doc */", "/* documentation,\n   two lines */"));
    same(BASE, &BASE.replace("// set", "// sets the first element"));
    same(BASE, &BASE.replace("\n__kernel", "\n\n\n__kernel"));
    same(BASE, &BASE.replace("    x[0]", "\t\tx[0]"));
    same(BASE, &BASE.replace("int n)", "int \\\nn)"));
    same(BASE, &BASE.replace("__kernel void", "__ker\\\nnel void"));
    same(BASE, &BASE.replace("int n)", "int n )"));
    // `#line` markers move when lines are added above an include; they do not count.
    same(BASE, &BASE.replace("#line 1 \"k.cl\"", "#line 7 \"k.cl\""));
    same("a\n#line 3\nb", "a\nb");
    same("", "// only a comment\n/* and another */\n");
}

#[test]
fn tokens_and_directives_count() {
    differ(BASE, &BASE.replace("float", "half"));
    differ(BASE, &BASE.replace("x[0] = n", "x[0] = n + 1"));
    differ(BASE, &BASE.replace("k 64", "k 128"));
    differ("#define A 1\nB", "#define A 1 B");
    differ("#define F(x) x", "#define F (x) x");
    differ("#define F(x) x", "#define F/**/(x) x");
    same("#define F(x) x", "#define  F(x)   x // c");
    differ("ab", "a b");
    differ("\"a b\"", "\"a  b\"");
    differ("#if A\nx\n#endif", "#if A x\n#endif");
    differ("#", "");
    differ("// clbake:variant a -DA=1", "// clbake:variant a -DA=2");
    same("// clbake:variant a  -DA=1", "// clbake:variant a -DA=1");
}

#[test]
fn line_macros_make_lines_count() {
    let src = "#line 1 \"k.cl\"\nint line = __LINE__;\n";
    differ(src, &src.replace("#line 1", "#line 2"));
    differ(src, &format!("\n{src}"));
    // A comment that mentions __LINE__ does not switch it on.
    let plain = "/* __LINE__ */\nint a;\n";
    same(plain, &format!("\n{plain}"));
}

#[test]
fn hashes_the_corpus_fast() {
    let Some(root) = super::corpus::root() else { return };
    let files = super::corpus::files(&root, "");
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap_or_default();
        bytes += src.len();
        let _ = token_hash(&src);
    }
    let took = start.elapsed();
    eprintln!("token_hash: {} files, {bytes} bytes in {took:?}", files.len());
    // Debug builds are far slower than release; this only catches a quadratic blowup.
    assert!(took.as_secs() < 60, "{took:?}");
}
