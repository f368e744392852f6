//! Declared launch shapes: `// clbake:tune` lines, which `clbake bake --tune` measures, and
//! `// clbake:launch` lines, launches the application makes.
//!
//! ```c
//! // clbake:tune gemm_naive 256,256 M=256 N=256 K=256 A=M*K B=K*N C=M*N
//! // clbake:launch gemm_naive 64,64 M=64 N=64 K=64 A=M*K B=K*N C=M*N
//! ```
//! Launch lines are warmed at bake time (see `cl::warm`, feature `opencl`): each is run once
//! on the device before its binary is captured, so a driver that compiles code specialised
//! for a launch at its first enqueue (PoCL does, per local size) stores that code in the
//! binary and the application's first launch of that shape does not compile. Tune lines are
//! not warmed: they are measurement shapes, and every shape warmed makes the binary larger
//! and its load slower (PoCL writes one more file per shape); declare the launches the
//! application makes with launch lines.
//!
//! A line names a kernel of the file, its global size (a launch line may add the local size
//! the application passes after a `/`: `1024,64/16,16`) (1 to 3 comma-separated dimensions) and a value
//! for every argument: scalars get their value, `__global`/`__constant` pointers the number
//! of elements of the buffer to allocate (filled with zeros), `__local` pointers their
//! number of elements. Values are integers, decimals (for float arguments), or `*`, `/`, `+`,
//! `-` expressions over integers and the names of other arguments on the line (in any
//! order, without cycles).
//! Lines are checked against the kernel's signature when the kernels are discovered, so a
//! mistake fails the build, not the bake on the board.

use crate::signature::{KernelSignature, ParamType};

/// One `// clbake:tune` or `// clbake:launch` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TuneShape {
    /// Kernel name.
    pub kernel: String,
    /// Global work size, 1 to 3 dimensions.
    pub global: Vec<usize>,
    /// Local work size given after a `/` (`// clbake:launch` lines only: the size the app
    /// passes), same dimensions as `global`; `None` for the driver's choice or the tuned
    /// size, as the runtime's `local = None`.
    pub local: Option<Vec<usize>>,
    /// `NAME=EXPR` assignments, in order, as written.
    pub args: Vec<(String, String)>,
    /// 1-based line number in the source the shape was read from.
    pub line: usize,
}

/// The value of one argument of a tune shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TuneValue {
    /// An integer (scalars, and element counts of buffers and `__local` arrays).
    Int(i64),
    /// A decimal, for floating-point scalars.
    Float(f64),
}

/// Reads every `// clbake:tune` line of `source`. Errors are `(line, problem)`.
pub fn parse_tunes(source: &str) -> Result<Vec<TuneShape>, (usize, String)> {
    parse_shapes(source, "// clbake:tune")
}

/// Reads every `// clbake:launch` line of `source`. Errors are `(line, problem)`.
pub fn parse_launches(source: &str) -> Result<Vec<TuneShape>, (usize, String)> {
    parse_shapes(source, "// clbake:launch")
}

/// Every declared launch shape of `source`, `// clbake:tune` and `// clbake:launch` lines
/// alike, in line order, each shape once (what [`check_tunes`] checks).
pub fn declared_launches(source: &str) -> Result<Vec<TuneShape>, (usize, String)> {
    let mut all = parse_tunes(source)?;
    all.extend(parse_launches(source)?);
    all.sort_by_key(|s| s.line);
    Ok(dedup(all))
}

/// The `// clbake:launch` lines of `source`, each launch once: what baking warms.
pub fn launches_to_warm(source: &str) -> Result<Vec<TuneShape>, (usize, String)> {
    parse_launches(source).map(dedup)
}

/// Keeps the first of shapes that differ only in their line.
fn dedup(all: Vec<TuneShape>) -> Vec<TuneShape> {
    let mut out: Vec<TuneShape> = Vec::with_capacity(all.len());
    for s in all {
        if !out.iter().any(|o| o.kernel == s.kernel && o.global == s.global && o.local == s.local && o.args == s.args) {
            out.push(s);
        }
    }
    out
}

fn parse_shapes(source: &str, directive: &str) -> Result<Vec<TuneShape>, (usize, String)> {
    let mut out = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix(directive) else { continue };
        let line_no = i + 1;
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let mut words = rest.split_whitespace();
        let (Some(kernel), Some(sizes)) = (words.next(), words.next()) else {
            return Err((line_no, format!("`{directive}` needs a kernel name and a global size such as 256,256")));
        };
        let (global, local) = match sizes.split_once('/') {
            Some((g, l)) => (g, Some(l)),
            None => (sizes, None),
        };
        let dims = |text: &str, what: &str| {
            text.split(',')
                .map(|g| g.parse::<usize>().ok().filter(|&g| g > 0))
                .collect::<Option<Vec<usize>>>()
                .filter(|g| (1..=3).contains(&g.len()))
                .ok_or_else(|| (line_no, format!("{what} size `{text}` must be 1 to 3 positive integers separated by commas")))
        };
        let global = dims(global, "global")?;
        let local = match local {
            None => None,
            Some(_) if directive.ends_with("tune") => {
                return Err((line_no, "a `// clbake:tune` line takes a global size only: the tuner measures local sizes".into()));
            }
            Some(l) => {
                let local = dims(l, "local")?;
                if local.len() != global.len() {
                    return Err((line_no, format!("local size `{l}` has {} dimension(s), the global size {}", local.len(), global.len())));
                }
                if let Some(d) = (0..global.len()).find(|&d| global[d] % local[d] != 0) {
                    return Err((line_no, format!("global size {} is not a multiple of local size {} in dimension {d}", global[d], local[d])));
                }
                Some(local)
            }
        };
        let mut args: Vec<(String, String)> = Vec::new();
        for w in words {
            let Some((name, expr)) = w.split_once('=') else {
                return Err((line_no, format!("`{w}` is not NAME=VALUE")));
            };
            if args.iter().any(|(n, _)| n == name) {
                return Err((line_no, format!("argument `{name}` is given twice")));
            }
            args.push((name.to_string(), expr.to_string()));
        }
        out.push(TuneShape { kernel: kernel.to_string(), global, local, args, line: line_no });
    }
    Ok(out)
}

impl TuneShape {
    /// Evaluates the assignments against the kernel's signature: every parameter must be
    /// given exactly once, and only parameters. Returns one value per parameter, in
    /// parameter order.
    pub fn evaluate(&self, sig: &KernelSignature) -> Result<Vec<TuneValue>, String> {
        if let Some((n, _)) = self.args.iter().find(|(n, _)| !sig.params.iter().any(|p| p.name == *n)) {
            return Err(format!("`{n}` is not a parameter of `{}`", sig.name));
        }
        // Assignments may refer to each other in any order: evaluate those whose names are
        // known until none is left or none makes progress.
        let mut known: Vec<(&str, TuneValue)> = Vec::new();
        let mut pending: Vec<&(String, String)> = self.args.iter().collect();
        while !pending.is_empty() {
            let mut first_err = None;
            let before = pending.len();
            pending.retain(|(name, expr)| match eval(expr, &known) {
                Ok(v) => {
                    known.push((name, v));
                    false
                }
                Err(e) => {
                    first_err.get_or_insert(format!("{name}={expr}: {e}"));
                    true
                }
            });
            if pending.len() == before {
                return Err(first_err.unwrap_or_default());
            }
        }
        sig.params
            .iter()
            .map(|p| {
                let v = known.iter().find(|(n, _)| *n == p.name).map(|(_, v)| *v).ok_or_else(|| {
                    format!("parameter `{}` of `{}` has no value (add {}=...)", p.name, sig.name, p.name)
                })?;
                match (&p.ty, v) {
                    (ParamType::Value(t), TuneValue::Float(_)) if !t.scalar.is_float() => {
                        Err(format!("`{}` is an integer parameter but was given a decimal", p.name))
                    }
                    (ParamType::Pointer { .. }, TuneValue::Int(n)) if n <= 0 => {
                        Err(format!("buffer `{}` needs a positive element count, not {n}", p.name))
                    }
                    (ParamType::Pointer { .. }, TuneValue::Float(_)) => Err(format!("buffer `{}` needs an integer element count", p.name)),
                    (ParamType::Image { .. } | ParamType::Sampler, _) => {
                        Err(format!("`{}`: kernels with image or sampler arguments cannot be run from a declared shape", p.name))
                    }
                    _ => Ok(v),
                }
            })
            .collect()
    }
}

/// Checks every `// clbake:tune` and `// clbake:launch` line of `source` against the
/// signatures the program has under each of `options_sets` (one per build variant): the
/// kernel exists and every parameter gets a usable value. Returns the shapes as
/// [`declared_launches`] does. Errors are `(line, problem)`.
pub fn check_tunes(source: &str, options_sets: &[&str]) -> Result<Vec<TuneShape>, (usize, String)> {
    let shapes = declared_launches(source)?;
    if shapes.is_empty() {
        return Ok(shapes);
    }
    for options in options_sets {
        let sigs = crate::signature::parse_signatures(source, options);
        for shape in &shapes {
            let Some((_, sig)) = sigs.iter().find(|(n, _)| *n == shape.kernel) else {
                return Err((shape.line, format!("no kernel `{}` in this file", shape.kernel)));
            };
            let sig = sig.as_ref().map_err(|e| (shape.line, e.to_string()))?;
            shape.evaluate(sig).map_err(|e| (shape.line, e))?;
        }
    }
    Ok(shapes)
}

/// Evaluates `a*b+c-d/e` over integers, decimals and known names (left to right within a
/// precedence level; integer division truncates).
fn eval(expr: &str, known: &[(&str, TuneValue)]) -> Result<TuneValue, String> {
    let mut sum: Option<TuneValue> = None;
    let mut sign = '+';
    for (k, (term, next_sign)) in split_keep(expr, &['+', '-']).into_iter().enumerate() {
        if k == 0 && term.is_empty() && next_sign == '-' {
            sign = '-';
            continue;
        }
        let mut prod: Option<TuneValue> = None;
        let mut op = '*';
        for (atom, next_op) in split_keep(term, &['*', '/']) {
            let v = atom_value(atom, known)?;
            prod = Some(match prod {
                None => v,
                Some(p) => arith(p, v, op)?,
            });
            op = next_op;
        }
        let prod = prod.ok_or("empty expression")?;
        sum = Some(match sum {
            None if sign == '-' => arith(TuneValue::Int(0), prod, '-')?,
            None => prod,
            Some(s) => arith(s, prod, sign)?,
        });
        sign = next_sign;
    }
    sum.ok_or_else(|| "empty expression".to_string())
}

/// Splits at any of `ops`, pairing each piece with the operator after it (`' '` at the end).
fn split_keep<'a>(s: &'a str, ops: &[char]) -> Vec<(&'a str, char)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        // A sign right after 'e' of a decimal exponent is part of the number.
        let exponent = i > 0 && matches!(s.as_bytes()[i - 1], b'e' | b'E') && s[..i].trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').len() == 1;
        if ops.contains(&c) && !exponent {
            out.push((&s[start..i], c));
            start = i + c.len_utf8();
        }
    }
    out.push((&s[start..], ' '));
    out
}

fn atom_value(atom: &str, known: &[(&str, TuneValue)]) -> Result<TuneValue, String> {
    if atom.is_empty() {
        return Err("missing operand".into());
    }
    if let Ok(i) = atom.parse::<i64>() {
        return Ok(TuneValue::Int(i));
    }
    if atom.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return atom.trim_end_matches(['f', 'F']).parse::<f64>().map(TuneValue::Float).map_err(|_| format!("`{atom}` is not a number"));
    }
    known.iter().find(|(n, _)| *n == atom).map(|(_, v)| *v).ok_or_else(|| format!("`{atom}` is not a number or an argument given on the line"))
}

fn arith(a: TuneValue, b: TuneValue, op: char) -> Result<TuneValue, String> {
    use TuneValue::*;
    Ok(match (a, b) {
        (Int(x), Int(y)) => Int(match op {
            '+' => x.checked_add(y),
            '-' => x.checked_sub(y),
            '*' => x.checked_mul(y),
            _ => x.checked_div(y),
        }
        .ok_or_else(|| format!("{x} {op} {y} overflows or divides by zero"))?),
        (x, y) => {
            let (x, y) = (as_f64(x), as_f64(y));
            Float(match op {
                '+' => x + y,
                '-' => x - y,
                '*' => x * y,
                _ => x / y,
            })
        }
    })
}

fn as_f64(v: TuneValue) -> f64 {
    match v {
        TuneValue::Int(i) => i as f64,
        TuneValue::Float(f) => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::parse_signatures;

    const SRC: &str = "// clbake:tune gemm 64,32 M=32 N=64 K=16 A=M*K B=K*N C=M*N+1-1 alpha=0.5 tile=16*16\n\
        // clbake:tuned is another word\n\
        __kernel void gemm(__global const float* A, __global const float* B, __global float* C, __local float* tile, int M, int N, int K, float alpha) {}";

    #[test]
    fn parses_and_evaluates_in_parameter_order() {
        let t = parse_tunes(SRC).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].kernel.as_str(), t[0].global.as_slice(), t[0].line), ("gemm", &[64, 32][..], 1));
        let sig = parse_signatures(SRC, "").remove(0).1.unwrap();
        use TuneValue::*;
        assert_eq!(t[0].evaluate(&sig).unwrap(), [Int(512), Int(1024), Int(2048), Int(256), Int(32), Int(64), Int(16), Float(0.5)]);
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
        assert!(check_tunes(&src, &[""]).is_ok());
        let bad = format!("{SRC}\n// clbake:launch gemm 8 A=1");
        assert_eq!(check_tunes(&bad, &[""]).unwrap_err().0, 4);
        assert!(parse_launches("// clbake:launch k").unwrap_err().1.contains("`// clbake:launch` needs"));
    }

    #[test]
    fn launch_lines_may_give_the_local_size() {
        let l = parse_launches("// clbake:launch k 1024,64/16,16 n=1").unwrap().remove(0);
        assert_eq!((l.global, l.local), (vec![1024, 64], Some(vec![16, 16])));
        assert_eq!(parse_launches("// clbake:launch k 64 n=1").unwrap()[0].local, None);
        let err = |line: &str| parse_shapes(line, if line.contains("tune") { "// clbake:tune" } else { "// clbake:launch" }).unwrap_err().1;
        assert!(err("// clbake:launch k 100/3").contains("not a multiple of local size 3 in dimension 0"));
        assert!(err("// clbake:launch k 64,64/8").contains("1 dimension(s), the global size 2"));
        assert!(err("// clbake:launch k 64/0").contains("local size `0`"));
        assert!(err("// clbake:tune k 64/8").contains("global size only"));
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
        let sig = parse_signatures(SRC, "").remove(0).1.unwrap();
        let shape = |args: &str| parse_tunes(&format!("// clbake:tune gemm 8 {args}")).unwrap().remove(0);
        let all = "A=1 B=1 C=1 tile=1 M=1 N=1 K=1 alpha=1";
        assert!(shape(all).evaluate(&sig).is_ok());
        assert!(shape("A=B B=A C=1 tile=1 M=1 N=1 K=1 alpha=1").evaluate(&sig).unwrap_err().contains("A=B"));
        assert!(shape("A=1").evaluate(&sig).unwrap_err().contains("`B` of `gemm` has no value"));
        assert!(shape(&format!("{all} X=1")).evaluate(&sig).unwrap_err().contains("`X` is not a parameter"));
        assert!(shape(&all.replace("M=1", "M=1.5")).evaluate(&sig).unwrap_err().contains("integer parameter"));
        assert!(shape(&all.replace("A=1", "A=0")).evaluate(&sig).unwrap_err().contains("positive element count"));
    }
}
