//! `#if` evaluation, through the preprocessor (`yes`/`no` tell which arm was taken).
use super::{marked, text};
use crate::clc::expr::{evaluate, Tri};
use crate::clc::macros::{line_tokens, Defined};
use crate::clc::preprocess;

fn arm(cond: &str, options: &str) -> String {
    marked(&format!("#if {cond}\nyes\n#else\nno\n#endif\n"), options)
}

fn value(expr: &str) -> Result<Tri, String> {
    evaluate(&line_tokens(expr), &|_| Defined::No)
}

#[test]
fn public_condition_evaluation() {
    use crate::clc::evaluate_condition as eval;
    assert_eq!(eval("N * 2 + defined(M)", "-DN=4 -DM"), Ok(Tri::Known(9)));
    assert!(matches!(eval("defined(cl_khr_fp16) && N", "-DN=1"), Ok(Tri::Unknown(d)) if &*d.cause == "cl_khr_fp16"));
    assert_eq!(eval("defined(cl_khr_fp16) && N", ""), Ok(Tri::Known(0)));
    assert!(eval("1 / N", "-DN=0").unwrap_err().contains("division by zero"));
}

#[test]
fn integer_arithmetic_follows_c() {
    let cases: &[(&str, i64)] = &[
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 / 3", 3),
        ("-7 / 2", -3),
        ("-7 % 3", -1),
        ("1 << 4 | 1", 17),
        ("0x10 + 010 + 0b11", 27),
        ("~0", -1),
        ("!5", 0),
        ("-1 < 0", 1),
        ("-1 < 0u", 0),
        ("0xFFFFFFFFFFFFFFFF == -1", 1),
        ("18446744073709551615u / 2", i64::MAX),
        ("-1 >> 1", -1),
        ("-1u >> 63", 1),
        ("'a' + '\\n' + '\\x01' + '\\101'", 97 + 10 + 1 + 65),
        ("1 ? 2 : 3", 2),
        ("0 ? 2 : 3", 3),
        ("(1, 2)", 2),
        ("3 == 3 && 2 != 2", 0),
        ("5 & 3 ^ 1", 0),
        ("100ul + 1LL", 101),
        ("true + false", 1),
        ("undefined_name + 4", 4),
        ("0 && (1 / 0)", 0),
        ("1 || (1 % 0)", 1),
        ("1 ? 5 : 1 / 0", 5),
    ];
    for (expr, want) in cases {
        assert_eq!(value(expr), Ok(Tri::Known(*want)), "{expr}");
    }
}

#[test]
fn errors_are_errors_not_panics() {
    for expr in [
        "1 / 0",
        "1 % 0",
        "1 +",
        "(1",
        "1 )",
        "1.5 > 1",
        "08",
        "1 << 64",
        "1 << -1",
        "99999999999999999999",
        "'ab'",
        "",
        "defined",
        "defined(",
        "2 ? 3",
    ] {
        assert!(value(expr).is_err(), "{expr}: {:?}", value(expr));
    }
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(value(&deep).is_err());
    let unary = format!("{}1", "-".repeat(5000));
    assert!(value(&unary).is_err());
    let long = vec!["1"; 20000].join(" + ");
    assert_eq!(value(&long), Ok(Tri::Known(20000)));
}

#[test]
fn division_by_zero_in_certain_code_is_a_program_error() {
    let p = preprocess("#define K0 0\n#if 4 % K0\nx\n#endif\ny\n", "");
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(p.errors[0].contains("remainder by zero"), "{:?}", p.errors);
    assert_eq!(text("#if 4 % K0\nx\n#endif\ny\n", "-DK0=0"), "y");
}

#[test]
fn defined_and_comparisons_with_options() {
    assert_eq!(arm("ACT < 0 || ACT > 4", "-DACT=2"), "no");
    assert_eq!(arm("ACT < 0 || ACT > 4", "-DACT=7"), "yes");
    assert_eq!(arm("VEC_SIZE == 4", "-DVEC_SIZE=4"), "yes");
    assert_eq!(arm("VEC_SIZE == 4", ""), "no");
    assert_eq!(arm("defined X && X > 2", "-DX=3"), "yes");
    assert_eq!(arm("defined X && X > 2", "-DX=1"), "no");
    assert_eq!(arm("defined(X) && X > 2", ""), "no");
    assert_eq!(arm("!defined(X)", "-D X"), "no");
    assert_eq!(arm("X == 1", "-DX"), "yes");
    assert_eq!(arm("defined(DATA_TYPE) && defined(VEC_SIZE)", "-DDATA_TYPE=float -DVEC_SIZE=4"), "yes");
}

#[test]
fn device_dependent_values_are_unknown_unless_short_circuited() {
    assert_eq!(arm("defined(cl_khr_fp16)", ""), "yes? no?");
    assert_eq!(arm("cl_khr_fp16", ""), "yes? no?");
    assert_eq!(arm("__OPENCL_VERSION__ >= 200", ""), "yes? no?");
    assert_eq!(arm("defined(cl_khr_fp16) && defined(NOPE)", ""), "no");
    assert_eq!(arm("defined(NOPE) && defined(cl_khr_fp16)", ""), "no");
    assert_eq!(arm("defined(cl_khr_fp16) || 1", ""), "yes");
    assert_eq!(arm("cl_khr_fp16 ? 4 : 4", ""), "yes");
    assert_eq!(arm("cl_khr_fp16 ? 1 / 0 : 1", ""), "yes? no?");
    assert_eq!(arm("__has_extension(cl_khr_fp16)", ""), "yes? no?");
    // Options make them known.
    assert_eq!(arm("defined(cl_khr_fp16)", "-Dcl_khr_fp16"), "yes");
    assert_eq!(arm("__OPENCL_C_VERSION__ >= CL_VERSION_2_0", "-cl-std=CL2.0"), "yes");
    assert_eq!(arm("__OPENCL_C_VERSION__ >= CL_VERSION_2_0", "-cl-std=CL1.2"), "no");
    assert_eq!(arm("defined(__FAST_RELAXED_MATH__)", "-cl-fast-relaxed-math"), "yes");
    assert_eq!(arm("defined(__FAST_RELAXED_MATH__)", "-cl-unsafe-math-optimizations"), "no");
    assert_eq!(arm("CL_VERSION_1_2 == 120 && CL_VERSION_3_0 == 300", ""), "yes");
}

#[test]
fn elif_chains_pick_one_arm() {
    let src = "#if MODE == 1\none\n#elif MODE == 2\ntwo\n#elif MODE == 3\nthree\n#else\nother\n#endif\n";
    assert_eq!(text(src, "-DMODE=2"), "two");
    assert_eq!(text(src, "-DMODE=3"), "three");
    assert_eq!(text(src, "-DMODE=9"), "other");
    assert_eq!(text(src, ""), "other");
    // After an unknown arm, a known-true arm is uncertain and ends the chain.
    let src = "#if defined(cl_khr_fp16)\nh\n#elif 1\none\n#else\nnever\n#endif\n";
    assert_eq!(marked(src, ""), "h? one?");
    let src = "#if 0\na\n#elif defined(cl_khr_fp64)\nb\n#elif 0\nc\n#else\nd\n#endif\n";
    assert_eq!(marked(src, ""), "b? d?");
}
