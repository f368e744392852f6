//! clbake's own lines in kernel sources: `// clbake:variant`, `// clbake:tune` and
//! `// clbake:launch`.
//!
//! ```c
//! // clbake:variant relu -DACT=1
//! // clbake:tune gemm_naive 256,256 M=256 N=256 K=256 A=M*K B=K*N C=M*N
//! // clbake:launch gemm_naive 64,64 M=64 N=64 K=64 A=M*K B=K*N C=M*N
//! ```
//! A **variant** line makes the file one program per variant (`STEM_NAME`), built with the
//! line's options.
//!
//! **Launch** lines declare launches the application makes. The bake runs each once on the
//! device before capturing the binary, so a driver that compiles code specialised for a
//! launch at its first enqueue (PoCL does, per local size) stores it in the binary, and it
//! records what the launch computed on deterministic inputs (a known answer, see
//! [`crate::format::KnownAnswer`]) for the runtime to replay once per device. **Tune** lines
//! are shapes `clbake bake --tune` measures local work sizes for; they are not run otherwise.
//!
//! A shape line names a kernel of the file, its global size (1 to 3 comma-separated
//! dimensions; a launch line may add the local size the application passes after a `/`:
//! `1024,64/16,16`) and a value for every argument: scalars get their value,
//! `__global`/`__constant` pointers the number of elements of the buffer to allocate,
//! `__local` pointers their number of elements. Values are integers, decimals (for float
//! arguments), or `*`, `/`, `+`, `-` expressions over integers and the names of other
//! arguments on the line (in any order, without cycles). Launch lines take two options
//! after the arguments: `@tolerance=X` compares the known answer's float outputs within a
//! relative tolerance instead of bit for bit (kernels whose results vary between runs), and
//! `@nocheck` records no known answer for the line.
//!
//! Lines are checked against the kernel's signature when the kernels are discovered, so a
//! mistake fails the build, not the bake on the board.

use super::{classify, ParamInfo, ParamType};

/// A build-option variant declared in a kernel file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Variant name, appended to the file stem.
    pub name: String,
    /// Build options of the variant.
    pub options: String,
}

/// Parses `// clbake:variant NAME OPTIONS...` lines. Errors are `(line, problem)`.
pub fn parse_variants(source: &str) -> Result<Vec<Variant>, (usize, String)> {
    let mut out: Vec<Variant> = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("// clbake:variant") else { continue };
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let mut words = rest.split_whitespace();
        let Some(name) = words.next() else {
            return Err((i + 1, "`// clbake:variant` without a name".into()));
        };
        if !is_variant_name(name) {
            return Err((i + 1, format!("`{name}` is not a valid variant name (letters, digits and _, not starting with a digit)")));
        }
        if out.iter().any(|v| v.name == name) {
            return Err((i + 1, format!("variant `{name}` declared twice")));
        }
        out.push(Variant { name: name.to_string(), options: words.collect::<Vec<_>>().join(" ") });
    }
    Ok(out)
}

/// Whether `name` may name a variant: ASCII letters, digits and `_`, not starting with a digit.
pub fn is_variant_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit())
}

/// One `// clbake:tune` or `// clbake:launch` line.
#[derive(Clone, Debug, PartialEq)]
pub struct TuneShape {
    /// Kernel name.
    pub kernel: String,
    /// Global work size, 1 to 3 dimensions.
    pub global: Vec<usize>,
    /// Local work size given after a `/` (launch lines only: the size the app passes),
    /// same dimensions as `global`; `None` for the driver's choice or the tuned size.
    pub local: Option<Vec<usize>>,
    /// `NAME=EXPR` assignments, in order, as written.
    pub args: Vec<(String, String)>,
    /// 1-based line number in the source the shape was read from.
    pub line: usize,
    /// `@tolerance=X`: compare known answers within `X` (0: bit for bit).
    pub tolerance: f32,
    /// `@nocheck`: record no known answer.
    pub no_check: bool,
}

/// The value of one argument of a shape.
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

/// Every declared shape of `source`, tune and launch lines alike, in line order, each
/// shape once.
pub fn declared_launches(source: &str) -> Result<Vec<TuneShape>, (usize, String)> {
    let mut all = parse_tunes(source)?;
    all.extend(parse_launches(source)?);
    all.sort_by_key(|s| s.line);
    Ok(dedup(all))
}

/// The `// clbake:launch` lines of `source`, each launch once: what baking runs.
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
        let is_tune = directive.ends_with("tune");
        let local = match local {
            None => None,
            Some(_) if is_tune => {
                return Err((line_no, "a `// clbake:tune` line takes a global size only: the tuner measures local sizes".into()))
            }
            Some(l) => {
                let local = dims(l, "local")?;
                if local.len() != global.len() {
                    return Err((line_no, format!("local size `{l}` has {} dimension(s), the global size {}", local.len(), global.len())));
                }
                if let Some(d) = (0..global.len()).find(|&d| global[d] % local[d] != 0) {
                    return Err((
                        line_no,
                        format!("global size {} is not a multiple of local size {} in dimension {d}", global[d], local[d]),
                    ));
                }
                Some(local)
            }
        };
        let mut shape =
            TuneShape { kernel: kernel.to_string(), global, local, args: Vec::new(), line: line_no, tolerance: 0.0, no_check: false };
        for w in words {
            if let Some(opt) = w.strip_prefix('@') {
                if is_tune {
                    return Err((line_no, format!("`{w}`: options are for `// clbake:launch` lines")));
                }
                match opt.split_once('=') {
                    None if opt == "nocheck" => shape.no_check = true,
                    Some(("tolerance", v)) => {
                        shape.tolerance = v
                            .parse::<f32>()
                            .ok()
                            .filter(|t| t.is_finite() && *t >= 0.0)
                            .ok_or_else(|| (line_no, format!("`{w}`: the tolerance must be a non-negative number such as 1e-4")))?;
                    }
                    _ => return Err((line_no, format!("unknown option `{w}` (options: @tolerance=X, @nocheck)"))),
                }
                continue;
            }
            let Some((name, expr)) = w.split_once('=') else {
                return Err((line_no, format!("`{w}` is not NAME=VALUE")));
            };
            if shape.args.iter().any(|(n, _)| n == name) {
                return Err((line_no, format!("argument `{name}` is given twice")));
            }
            shape.args.push((name.to_string(), expr.to_string()));
        }
        out.push(shape);
    }
    Ok(out)
}

impl TuneShape {
    /// Evaluates the assignments against the kernel's parameters: every parameter must be
    /// given exactly once, and only parameters. Returns one value per parameter, in
    /// parameter order.
    pub fn evaluate(&self, params: &[ParamInfo]) -> Result<Vec<TuneValue>, String> {
        if let Some((n, _)) = self.args.iter().find(|(n, _)| !params.iter().any(|p| p.name == *n)) {
            return Err(format!("`{n}` is not a parameter of `{}`", self.kernel));
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
        params
            .iter()
            .map(|p| {
                let v = known
                    .iter()
                    .find(|(n, _)| *n == p.name)
                    .map(|(_, v)| *v)
                    .ok_or_else(|| format!("parameter `{}` of `{}` has no value (add {}=...)", p.name, self.kernel, p.name))?;
                let ty = classify(p).map_err(|e| format!("`{}`: {e}", p.name))?;
                match (&ty, v) {
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
        let exponent = i > 0
            && matches!(s.as_bytes()[i - 1], b'e' | b'E')
            && s[..i].trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').len() == 1;
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
    known
        .iter()
        .find(|(n, _)| *n == atom)
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("`{atom}` is not a number or an argument given on the line"))
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
mod tests;
