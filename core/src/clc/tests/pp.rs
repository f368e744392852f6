//! Macros, conditionals, certainty, errors and line markers.
use super::{marked, text};
use crate::clc::preprocess;

#[test]
fn object_and_function_like_macros() {
    assert_eq!(text("#define T float\nT x;", ""), "float x ;");
    assert_eq!(text("#define F(a, b) a + b\nF(1, 2) F((1, 2), 3) F(, )", ""), "1 + 2 ( 1 , 2 ) + 3 +");
    assert_eq!(text("#define E()  empty\nE() E", ""), "empty E");
    // A function-like macro name without `(` stays as it is.
    assert_eq!(text("#define F(x) [x]\nint F; F\n(1)", ""), "int F ; [ 1 ]");
    // `#define F (x)` (space before the parenthesis) is object-like.
    assert_eq!(text("#define F (x)\nF(1)", ""), "( x ) ( 1 )");
    // Arguments may span lines.
    assert_eq!(text("#define F(a, b) a b\nF(x,\n  y)", ""), "x y");
}

#[test]
fn stringizing_and_pasting() {
    assert_eq!(
        text(
            r#"#define S(x) #x
S(a  +   b) S("q\n" 'c') S()"#,
            ""
        ),
        r#""a + b" "\"q\\n\" 'c'" """#
    );
    assert_eq!(text("#define CAT(a, b) a##b\nCAT(x, 1) CAT(, y) CAT(z, ) CAT(,) CAT(<, <=)", ""), "x1 y z <<=");
    assert_eq!(text("#define V(t, n) t##n\n#define VEC(t, n) V(t, n)\n#define N 4\nVEC(float, N) V(float, N)", ""), "float4 floatN");
    assert_eq!(text("#define P(a, b, c) a ## b ## c\nP(1, , 3) P(, , x)", ""), "13 x");
    let p = preprocess("#define CAT(a, b) a##b\nCAT(+, -)", "");
    assert!(p.errors.iter().any(|e| e.contains("pasting `+` and `-`")), "{:?}", p.errors);
}

#[test]
fn variadic_macros() {
    assert_eq!(text("#define V(fmt, ...) f(fmt, __VA_ARGS__)\nV(a, b, (c, d))", ""), "f ( a , b , ( c , d ) )");
    assert_eq!(text("#define V(...) [__VA_ARGS__]\nV() V(1) V(1, 2)", ""), "[ ] [ 1 ] [ 1 , 2 ]");
    assert_eq!(text("#define G(fmt, ...) f(fmt, ## __VA_ARGS__)\nG(a) G(a, b)", ""), "f ( a ) f ( a , b )");
    assert_eq!(text("#define N(args...) g(args)\nN(1, 2)", ""), "g ( 1 , 2 )");
    assert_eq!(text("#define S(...) #__VA_ARGS__\nS(a, b)", ""), "\"a, b\"");
}

#[test]
fn nesting_rescanning_and_recursion_stop() {
    assert_eq!(text("#define A B\n#define B A\nA B", ""), "A B");
    assert_eq!(text("#define f(x) x f\nf(1)(2)", ""), "1 f ( 2 )");
    assert_eq!(text("#define foo foo\nfoo", ""), "foo");
    assert_eq!(text("#define f(a) a*g\n#define g(a) f(a)\nf(2)(9)", ""), "2 * 9 * g");
    assert_eq!(text("#define ID(x) x\n#define TWICE(x) ID(ID(x))\nTWICE(TWICE(1))", ""), "1");
    assert_eq!(text("#define APPLY(m, x) m(x)\n#define SQ(x) ((x)*(x))\nAPPLY(SQ, 3)", ""), "( ( 3 ) * ( 3 ) )");
    // Arguments are expanded before substitution, except next to # and ##.
    assert_eq!(text("#define N 4\n#define ARG(x) x #x x##1\nARG(N)", ""), "4 \"N\" N1");
    // Exponential macros stop at the budget instead of running away.
    let mut src = String::from("#define L0\n");
    for i in 1..40 {
        src.push_str(&format!("#define L{i} L{} L{}\n", i - 1, i - 1));
    }
    src.push_str("L39\n");
    let p = crate::clc::pp::preprocess_limited(&src, "", 100_000);
    assert!(p.errors.iter().any(|e| e.contains("stopped expanding")), "{:?}", p.errors);
}

#[test]
fn options_come_first_and_the_source_may_change_them() {
    assert_eq!(text("T", "-DT=float"), "float");
    assert_eq!(text("T", "-D T=half"), "half");
    assert_eq!(text("X Y", "-DX -D Y"), "1 1");
    assert_eq!(text("X", "-DX="), "");
    assert_eq!(text("X", "-DX=1 -UX"), "X");
    assert_eq!(text("X", "-DX=1 -U X"), "X");
    assert_eq!(text("#undef T\n#define T int\nT", "-DT=float"), "int");
    assert_eq!(text("F(2)", "-DF(x)=x+1"), "2 + 1");
    assert_eq!(text("T", "-I /some/dir -DT=double -cl-mad-enable"), "double");
}

#[test]
fn conditionals_nest_and_skip() {
    let src = "#ifdef A\n#if B\nab\n#else\na\n#endif\n#else\n#ifdef B\nb\n#endif\nnone\n#endif\n";
    assert_eq!(text(src, "-DA -DB=1"), "ab");
    assert_eq!(text(src, "-DA -DB=0"), "a");
    assert_eq!(text(src, "-DB"), "b none");
    assert_eq!(text(src, ""), "none");
    // Skipped regions may hold anything, even bad directives and expressions.
    assert_eq!(text("#if 0\n#if 1/0\n#foo\n#error no\n#endif\n#endif\nok", ""), "ok");
    let p = preprocess("#if 0\n#else\n#error reached\n#endif\n#if 1\n#else\n#error not reached\n#endif\n", "");
    assert_eq!(p.errors, ["line 3: #error reached"]);
}

#[test]
fn ifdef_selected_type_both_ways() {
    let src = "#ifdef USE_HALF\n#define T half\n#else\n#define T float\n#endif\nT";
    assert_eq!(text(src, "-DUSE_HALF"), "half");
    assert_eq!(text(src, ""), "float");
}

#[test]
fn uncertain_regions_mark_their_tokens_and_macros() {
    let src = "#ifdef cl_khr_fp16\n#define T half\n#else\n#define T float\n#endif\nT x; int y;";
    assert_eq!(marked(src, ""), "float? x ; int y ;");
    let p = preprocess(src, "");
    let d = p.tokens[0].doubt.as_ref().unwrap();
    assert_eq!((&*d.cause, d.hidden), ("cl_khr_fp16", false), "the lost definition (`half`) cannot change a declaration");
    // A lost definition that could make a kernel keyword or take arguments is hidden.
    for lost in ["kernel", "__attribute__((reqd_work_group_size(8, 1, 1)))", "K", "F(", "a ## b"] {
        let src = format!("#define K __kernel\n#define F(x) x\n#define M {lost}\n#ifdef cl_khr_fp16\n#define M\n#endif\nM void f()");
        let p = preprocess(&src, "");
        assert!(p.tokens[0].hidden_doubt().is_some(), "{lost}: {:?}", p.tokens[0]);
    }
    let src = "#define F(x) x\n#ifdef cl_khr_fp16\n#undef F\n#define F(x)\n#endif\nF(1) end";
    let p = preprocess(src, "");
    assert_eq!(p.tokens.len(), 1);
    assert!(p.tokens[0].hidden_doubt().is_some(), "the lost definition used its argument");
    // A macro defined only in an uncertain region is uncertain when tested.
    let src = "#ifdef cl_intel_required_subgroup_size\n#define INTEL_GPU 1\n#endif\n#ifdef INTEL_GPU\na\n#else\nb\n#endif\n#if INTEL_GPU\nc\n#endif\n";
    assert_eq!(marked(src, ""), "a? b? c?");
    // `#undef` in an uncertain region makes the macro uncertain.
    let src = "#define T float\n#if defined(cl_khr_fp64)\n#undef T\n#endif\nT";
    assert_eq!(marked(src, ""), "float?");
    // Nested conditionals inside an uncertain region are uncertain, even known ones.
    assert_eq!(marked("#ifdef cl_khr_fp16\n#if 1\na\n#endif\n#endif\nb", ""), "a? b");
    // An uncertain macro that expands to nothing leaves its doubt on the next token.
    let src = "#ifdef cl_khr_fp16\n#define EXTRA , half h\n#endif\n#ifndef EXTRA\n#define EXTRA\n#endif\n(float x EXTRA)";
    assert_eq!(marked(src, ""), "( float x ~)");
    let src = "#ifdef cl_khr_fp16\n#define EMPTY\n#endif\nfloat EMPTY x";
    assert_eq!(marked(src, ""), "float ~x");
    // Device-dependent identifiers in the text are uncertain too.
    assert_eq!(marked("a __IMAGE_SUPPORT__ b", ""), "a __IMAGE_SUPPORT__? b");
    // A certain redefinition makes the macro certain again.
    assert_eq!(marked("#ifdef cl_khr_fp16\n#define T half\n#endif\n#undef T\n#define T float\nT", ""), "float");
}

#[test]
fn errors_and_notes() {
    let src = "#ifdef cl_khr_fp16\n#error needs fp16 off\n#endif\n#ifndef X\n#error \"X value is required\"\n#endif\nint y;";
    let p = preprocess(src, "");
    assert_eq!(p.errors, ["line 5: #error \"X value is required\""]);
    assert!(p.notes.iter().any(|n| n.contains("#error needs fp16 off") && n.contains("cl_khr_fp16")), "{:?}", p.notes);
    assert!(preprocess(src, "-DX").errors.is_empty());
    for (bad, what) in [
        ("#if\n#endif", "no expression"),
        ("#endif", "#endif without #if"),
        ("#else", "#else without #if"),
        ("#if 1\n#else\n#else\n#endif", "#else after #else"),
        ("#if 1\nx", "unterminated"),
        ("#define", "macro name missing"),
        ("#define F(a, a) a", "not a valid macro parameter"),
        ("#define F(a) #b", "not followed by a macro parameter"),
        ("#define F(a) ## a", "`##` cannot be"),
        ("#bogus", "invalid preprocessing directive"),
        ("#define F(a) a\nF(1, 2)", "takes 1 argument"),
        ("#define F(a) a\nF(1", "unterminated argument list"),
        ("#ifdef\n#endif", "macro name"),
    ] {
        let p = preprocess(bad, "");
        assert!(p.errors.iter().any(|e| e.contains(what)), "{bad:?}: {:?}", p.errors);
    }
    let p = preprocess("#include \"missing.h\"\n#pragma OPENCL EXTENSION cl_khr_fp16 : enable\n#warning hm\nx", "");
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
}

#[test]
fn line_markers_locate_errors_and_line_macros() {
    let src = "#line 1 \"k.cl\"\nint a;\n#line 1 \"common.h\"\n\n#error in header\n#line 3 \"k.cl\"\n#error in kernel file\nint l = __LINE__; char* f = __FILE__;";
    let p = preprocess(src, "");
    assert_eq!(p.errors, ["common.h:2: #error in header", "k.cl:3: #error in kernel file"]);
    assert!(text(src, "").ends_with("int l = 4 ; char * f = \"k.cl\" ;"), "{}", text(src, ""));
    assert_eq!(p.lines.describe(2), "k.cl:1");
    assert_eq!(p.lines.describe(8), "k.cl:4");
    // Without markers, lines are input lines.
    assert_eq!(text("\n\n__LINE__", ""), "3");
    assert_eq!(preprocess("\n#error x", "").errors, ["line 2: #error x"]);
}

#[test]
fn tokens_know_their_input_line() {
    let p = preprocess("#define PAIR(a) a, a\nx\nPAIR(\n  y)\n", "");
    let lines: Vec<(&str, u32)> = p.tokens.iter().map(|t| (&*t.text, t.line)).collect();
    assert_eq!(lines, [("x", 2), ("y", 4), (",", 3), ("y", 4)]);
}

#[test]
fn deep_nesting_is_reported_not_overflowed() {
    let deep = format!("#define F(x) x\n{}1{}", "F(".repeat(1000), ")".repeat(1000));
    let p = preprocess(&deep, "");
    assert!(p.errors.iter().any(|e| e.contains("nested too deeply")), "{:?}", p.errors);
    let conds = format!("{}x\n{}", "#if 1\n".repeat(5000), "#endif\n".repeat(5000));
    assert_eq!(text(&conds, ""), "x");
    let parens = format!("kernel void k({}int n{}) {{}}", "(".repeat(5000), ")".repeat(5000));
    let _ = crate::clc::read(&parens, "");
    let hash_if = format!("#if {}1{}\nx\n#endif", "(".repeat(100_000), ")".repeat(100_000));
    assert!(!preprocess(&hash_if, "").errors.is_empty());
}

/// Random sequences of preprocessor and declaration fragments.
#[test]
fn fragment_soup_never_panics() {
    let parts = [
        "#define A(x) x##x\n",
        "#define B(...) #__VA_ARGS__ __VA_ARGS__\n",
        "#define C A(\n",
        "#define D defined(A)\n",
        "#undef A\n",
        "#if A(1)\n",
        "#if D\n",
        "#ifdef cl_khr_fp16\n",
        "#elif 1/0\n",
        "#else\n",
        "#endif\n",
        "#error e\n",
        "#line 3 \"x.cl\"\n",
        "#include \"h.h\"\n",
        "#\n",
        "# 7\n",
        "kernel void k(",
        "__kernel void ",
        "global float* p",
        "int n",
        ",",
        ")",
        "(",
        "{",
        "}",
        ";",
        "A(",
        "B(",
        "C",
        "__VA_ARGS__",
        "\"s\"",
        "'c'",
        "/*",
        "*/",
        "//",
        "\\\n",
        "\n",
        "__LINE__",
        "__FILE__",
        "defined",
        "typedef float real;\n",
        "typedef ",
        "real",
        "__attribute__((reqd_work_group_size(2,2,1)))",
        "__attribute__((",
        "1/0",
        "##",
        "#",
        "...",
        "cl_khr_fp16",
        "T",
        "é",
    ];
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let n = next() % 40;
        let src: String = (0..n).map(|_| parts[(next() % parts.len() as u64) as usize]).collect::<Vec<_>>().join(" ");
        let r = crate::clc::read(&src, "-DT=float -Dcl_khr_fp64 -cl-std=CL2.0");
        let _ = r.kernels.len();
        let _ = crate::clc::token_hash(&src);
    }
}
