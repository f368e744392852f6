use super::*;
use crate::clc::read;

const SRC: &str = "// clbake:tune gemm 64,32 M=32 N=64 K=16 A=M*K B=K*N C=M*N+1-1 alpha=0.5 tile=16*16\n\
    // clbake:tuned is another word\n\
    __kernel void gemm(__global const float* A, __global const float* B, __global float* C, __local float* tile, int M, int N, int K, float alpha) {}";

fn params(src: &str) -> Vec<ParamInfo> {
    read(src, "").kernels.remove(0).1.unwrap().params
}

#[test]
fn parses_and_evaluates_in_parameter_order() {
    let t = parse_tunes(SRC).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].kernel.as_str(), t[0].global.as_slice(), t[0].line), ("gemm", &[64, 32][..], 1));
    use TuneValue::*;
    assert_eq!(t[0].evaluate(&params(SRC)).unwrap(), [Int(512), Int(1024), Int(2048), Int(256), Int(32), Int(64), Int(16), Float(0.5)]);
}

#[test]
fn expressions() {
    let k = [("N", TuneValue::Int(10))];
    assert_eq!(eval("N*N/4-3", &k), Ok(TuneValue::Int(22)));
    assert!(eval("N+-3", &k).is_err());
    assert_eq!(eval("-N+1", &k), Ok(TuneValue::Int(-9)));
    assert_eq!(eval("1.5e-3*2", &k), Ok(TuneValue::Float(0.003)));
    assert_eq!(eval("2.0f", &k), Ok(TuneValue::Float(2.0)));
    assert!(eval("N/0", &k).unwrap_err().contains("divides by zero"));
    assert!(eval("M*2", &k).unwrap_err().contains("`M`"));
    assert!(eval("N**2", &k).unwrap_err().contains("missing operand"));
    assert!(eval("9223372036854775807*2", &k).unwrap_err().contains("overflows"));
}

#[test]
fn launch_lines_and_tune_lines_are_both_declared_launches() {
    let src = format!("// clbake:launch gemm 8,8 A=1 B=1 C=1 tile=1 M=1 N=1 K=1 alpha=1\n// clbake:launched is another word\n{SRC}\n// clbake:launch gemm 64,32 M=32 N=64 K=16 A=M*K B=K*N C=M*N+1-1 alpha=0.5 tile=16*16");
    let l = parse_launches(&src).unwrap();
    assert_eq!(l.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 6]);
    let all = declared_launches(&src).unwrap();
    // The tune line (line 3) and the identical launch line at the end count once.
    assert_eq!(all.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 3]);
    assert!(parse_launches("// clbake:launch k").unwrap_err().1.contains("`// clbake:launch` needs"));
}

#[test]
fn launch_lines_may_give_the_local_size_and_options() {
    let l = parse_launches("// clbake:launch k 1024,64/16,16 n=1 @tolerance=1e-4").unwrap().remove(0);
    assert_eq!((l.global, l.local, l.tolerance, l.no_check), (vec![1024, 64], Some(vec![16, 16]), 1e-4, false));
    let l = parse_launches("// clbake:launch k 64 n=1 @nocheck").unwrap().remove(0);
    assert_eq!((l.local, l.no_check), (None, true));
    let err = |line: &str| parse_shapes(line, if line.contains("tune") { "// clbake:tune" } else { "// clbake:launch" }).unwrap_err().1;
    assert!(err("// clbake:launch k 100/3").contains("not a multiple of local size 3 in dimension 0"));
    assert!(err("// clbake:launch k 64,64/8").contains("1 dimension(s), the global size 2"));
    assert!(err("// clbake:launch k 64/0").contains("local size `0`"));
    assert!(err("// clbake:tune k 64/8").contains("global size only"));
    assert!(err("// clbake:tune k 64 @nocheck").contains("options are for"));
    assert!(err("// clbake:launch k 64 @tolerance=-1").contains("non-negative"));
    assert!(err("// clbake:launch k 64 @fast").contains("unknown option"));
    // The same launch with and without a local size are two launches.
    let both = declared_launches("// clbake:launch k 64 n=1\n// clbake:launch k 64/8 n=1\n// clbake:launch k 64/8 n=1").unwrap();
    assert_eq!(both.len(), 2);
}

#[test]
fn line_errors() {
    assert_eq!(parse_tunes("\n// clbake:tune k").unwrap_err().0, 2);
    assert!(parse_tunes("// clbake:tune k 0,1").unwrap_err().1.contains("positive"));
    assert!(parse_tunes("// clbake:tune k 1,1,1,1").unwrap_err().1.contains("1 to 3"));
    assert!(parse_tunes("// clbake:tune k 8 n").unwrap_err().1.contains("NAME=VALUE"));
    assert!(parse_tunes("// clbake:tune k 8 n=1 n=2").unwrap_err().1.contains("twice"));
}

#[test]
fn evaluation_errors_name_the_parameter() {
    let p = params(SRC);
    let shape = |args: &str| parse_tunes(&format!("// clbake:tune gemm 8 {args}")).unwrap().remove(0);
    let all = "A=1 B=1 C=1 tile=1 M=1 N=1 K=1 alpha=1";
    assert!(shape(all).evaluate(&p).is_ok());
    assert!(shape("A=B B=A C=1 tile=1 M=1 N=1 K=1 alpha=1").evaluate(&p).unwrap_err().contains("A=B"));
    assert!(shape("A=1").evaluate(&p).unwrap_err().contains("`B` of `gemm` has no value"));
    assert!(shape(&format!("{all} X=1")).evaluate(&p).unwrap_err().contains("`X` is not a parameter"));
    assert!(shape(&all.replace("M=1", "M=1.5")).evaluate(&p).unwrap_err().contains("integer parameter"));
    assert!(shape(&all.replace("A=1", "A=0")).evaluate(&p).unwrap_err().contains("positive element count"));
}

#[test]
fn variants() {
    let v = parse_variants("// clbake:variant a -DA=1\n// clbake:variant b -DB=2 -DC\n// clbake:variants x\n").unwrap();
    assert_eq!(v, [Variant { name: "a".into(), options: "-DA=1".into() }, Variant { name: "b".into(), options: "-DB=2 -DC".into() }]);
    assert_eq!(parse_variants("\n// clbake:variant").unwrap_err().0, 2);
    assert!(parse_variants("// clbake:variant a\n// clbake:variant a").unwrap_err().1.contains("twice"));
    assert!(parse_variants("// clbake:variant 9x").unwrap_err().1.contains("not a valid variant name"));
}
