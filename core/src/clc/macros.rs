//! Macro definitions: the table, `#define` parsing, build options and predefined macros.

use super::lex::{Kind, Spliced};
use super::token::{merge, Doubt, Tok};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

/// Identifiers whose value only the device (or its compiler) knows, when neither the build
/// options nor the source define them: extension and feature macros, vendor and target
/// macros, device properties. A conditional that tests one cannot be decided without the
/// device. Besides these names, every identifier starting with one of
/// [`DEVICE_DEPENDENT_PREFIXES`] is device-dependent.
pub const DEVICE_DEPENDENT_NAMES: &[&str] = &[
    "__IMAGE_SUPPORT__",
    "__ENDIAN_LITTLE__",
    "__EMBEDDED_PROFILE__",
    "__ROUNDING_MODE__",
    "FP_FAST_FMA",
    "FP_FAST_FMAF",
    "FP_FAST_FMA_HALF",
    "__GPU__",
    "__CPU__",
    "__AMD__",
    "__AMDGCN__",
    "__NVPTX__",
    "__NV_CL_C_VERSION",
    "__clang__",
    "__clang_major__",
    "__clang_minor__",
    "__GNUC__",
    "__x86_64__",
    "__aarch64__",
    "__arm__",
    "__APPLE__",
    "__MALI__",
    "__ADRENO__",
];

/// Prefixes of device-dependent identifiers: `cl_` (extensions: `cl_khr_fp16`,
/// `cl_intel_subgroups`), `__opencl_c_` (OpenCL C 3.0 features), `__OPENCL_`
/// (`__OPENCL_VERSION__`; `__OPENCL_C_VERSION__` unless `-cl-std=` sets it), `__SPIR`.
pub const DEVICE_DEPENDENT_PREFIXES: &[&str] = &["cl_", "__opencl_c_", "__OPENCL_", "__SPIR"];

/// Whether `name`, when not defined by the options or the source, depends on the device.
pub fn is_device_dependent(name: &str) -> bool {
    DEVICE_DEPENDENT_PREFIXES.iter().any(|p| name.starts_with(p)) || DEVICE_DEPENDENT_NAMES.contains(&name)
}

/// Words that, appearing on some devices only, would change a kernel declaration beyond
/// its parameter list.
const DECLARATION_WORDS: &[&str] = &["kernel", "__kernel", "reqd_work_group_size", "__reqd_work_group_size__"];

/// Macros whose value the preprocessor computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Builtin {
    /// `__LINE__`.
    Line,
    /// `__FILE__`.
    File,
}

/// One macro definition.
#[derive(Clone, Debug)]
pub(super) struct Macro {
    /// Parameter names of a function-like macro (`__VA_ARGS__` last when variadic); `None`
    /// for an object-like one.
    pub params: Option<Vec<Rc<str>>>,
    /// The last parameter takes the variable arguments.
    pub variadic: bool,
    /// Replacement list.
    pub body: Vec<Tok>,
    /// Set when the macro was defined, redefined or undefined in device-dependent code.
    pub doubt: Option<Rc<Doubt>>,
    pub builtin: Option<Builtin>,
}

impl Macro {
    fn object(body: Vec<Tok>) -> Macro {
        Macro { params: None, variadic: false, body, doubt: None, builtin: None }
    }

    /// Whether two definitions are the same (same parameters, same tokens and spacing).
    fn same_as(&self, other: &Macro) -> bool {
        self.params == other.params
            && self.variadic == other.variadic
            && self.builtin == other.builtin
            && self.body.len() == other.body.len()
            && self.body.iter().zip(&other.body).enumerate().all(|(i, (a, b))| a.text == b.text && (a.space == b.space || i == 0))
    }

    /// Index of parameter `name`.
    pub fn param(&self, name: &str) -> Option<usize> {
        self.params.as_ref()?.iter().position(|p| &**p == name)
    }
}

/// Whether a name is defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Defined {
    Yes,
    No,
    /// Defined on some devices only.
    Maybe(Rc<Doubt>),
}

/// The macro table.
#[derive(Default)]
pub(super) struct Macros {
    map: HashMap<Rc<str>, Rc<Macro>>,
}

impl Macros {
    /// The predefined macros, then the build options' `-D`/`-U`, in order.
    pub fn with_options(options: &str) -> Macros {
        let mut m = Macros::default();
        for (name, value) in [
            ("CL_VERSION_1_0", "100"),
            ("CL_VERSION_1_1", "110"),
            ("CL_VERSION_1_2", "120"),
            ("CL_VERSION_2_0", "200"),
            ("CL_VERSION_3_0", "300"),
        ] {
            m.define_from_option(name, value);
        }
        for (name, builtin) in [("__LINE__", Builtin::Line), ("__FILE__", Builtin::File)] {
            m.map.insert(name.into(), Rc::new(Macro { builtin: Some(builtin), ..Macro::object(Vec::new()) }));
        }
        let mut words = options.split_whitespace();
        while let Some(w) = words.next() {
            let mut operand = |rest: &'_ str| {
                if rest.is_empty() {
                    words.next().unwrap_or_default().to_string()
                } else {
                    rest.to_string()
                }
            };
            if let Some(rest) = w.strip_prefix("-D") {
                let def = operand(rest);
                let (name, value) = def.split_once('=').unwrap_or((&def, "1"));
                m.define_from_option(name, value);
            } else if let Some(rest) = w.strip_prefix("-U") {
                m.map.remove(operand(rest).as_str());
            } else if let Some(rest) = w.strip_prefix("-I") {
                operand(rest);
            } else if w == "-cl-fast-relaxed-math" {
                m.define_from_option("__FAST_RELAXED_MATH__", "1");
            } else if let Some(version) = w.strip_prefix("-cl-std=CL").and_then(cl_std_version) {
                m.define_from_option("__OPENCL_C_VERSION__", &version.to_string());
            }
        }
        m
    }

    /// `-D name=value` (`name` may be `F(x)`); ignored when malformed.
    fn define_from_option(&mut self, name: &str, value: &str) {
        let mut toks = line_tokens(name);
        let mut body = line_tokens(value);
        if let Some(first) = body.first_mut() {
            first.space = true;
        }
        toks.append(&mut body);
        if let Ok((name, mac)) = parse_define(&toks) {
            self.map.insert(name, Rc::new(mac));
        }
    }

    /// The definition of `name`.
    pub fn get(&self, name: &str) -> Option<&Rc<Macro>> {
        self.map.get(name)
    }

    /// Whether `name` is defined (device-dependent names count as maybe).
    pub fn defined(&self, name: &str) -> Defined {
        match self.map.get(name) {
            Some(m) => m.doubt.clone().map_or(Defined::Yes, Defined::Maybe),
            None if is_device_dependent(name) => Defined::Maybe(Doubt::new(name)),
            None => Defined::No,
        }
    }

    /// `#define` in a region with doubt `region`. In device-dependent code the macro becomes
    /// uncertain; replacing a different definition that could matter around a kernel
    /// declaration (see [`Macros::harmless`]) makes it hidden (see [`Doubt::hidden`]).
    pub fn define(&mut self, name: Rc<str>, mut mac: Macro, region: &Option<Rc<Doubt>>) {
        if let Some(region) = region {
            match self.map.get(&name) {
                Some(old) if old.same_as(&mac) => return,
                Some(old) => {
                    let hidden = old.doubt.as_ref().is_some_and(|d| d.hidden) || !self.harmless(old);
                    mac.doubt = Some(Rc::new(Doubt { cause: region.cause.clone(), hidden }));
                }
                None => mac.doubt = Some(region.clone()),
            }
        }
        self.map.insert(name, Rc::new(mac));
    }

    /// Whether what `lost` (a definition about to be replaced under a device-dependent
    /// conditional) expands to can only be harmless around a kernel declaration: balanced
    /// parentheses, no `##`, no argument, and, following the macros it uses, no kernel
    /// keyword and no `reqd_work_group_size`.
    fn harmless(&self, lost: &Macro) -> bool {
        let mut depth = 0i64;
        for t in &lost.body {
            depth += i64::from(t.is("(")) - i64::from(t.is(")"));
            if depth < 0 || t.is("##") || lost.param(&t.text).is_some() {
                return false;
            }
        }
        let ends_in_call = lost.body.last().is_some_and(|t| self.map.get(&t.text).is_some_and(|m| m.params.is_some()));
        if depth != 0 || ends_in_call {
            return false;
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack = vec![lost];
        let mut budget = 100_000usize;
        while let Some(m) = stack.pop() {
            for t in &m.body {
                budget = budget.saturating_sub(1);
                if budget == 0 || t.is("##") || DECLARATION_WORDS.contains(&&*t.text) {
                    return false;
                }
                if let Some((name, inner)) = self.map.get_key_value(&t.text) {
                    if seen.insert(name) {
                        stack.push(inner);
                    }
                }
            }
        }
        true
    }

    /// `#undef` in a region with doubt `region`: in device-dependent code the macro stays,
    /// uncertain.
    pub fn undefine(&mut self, name: &str, region: &Option<Rc<Doubt>>) {
        if region.is_none() {
            self.map.remove(name);
        } else if let Some(old) = self.map.get_mut(name) {
            let doubt = merge(&old.doubt, region);
            Rc::make_mut(old).doubt = doubt;
        }
    }
}

/// `x.y` of `-cl-std=CLx.y` as `x*100 + y*10`.
fn cl_std_version(v: &str) -> Option<u32> {
    let (major, minor) = v.split_once('.')?;
    Some(major.parse::<u32>().ok()? * 100 + minor.parse::<u32>().ok()? * 10)
}

/// Tokens of a piece of text (an option value), certain, on line 0.
pub(super) fn line_tokens(text: &str) -> Vec<Tok> {
    let spliced = Spliced::new(text);
    spliced.lexer().map(|raw| Tok::from_raw(&raw, &None)).map(|t| Tok { line: 0, ..t }).collect()
}

/// Parses the tokens after `#define`: the name, then `(params)` directly attached for a
/// function-like macro, then the replacement list.
pub(super) fn parse_define(toks: &[Tok]) -> Result<(Rc<str>, Macro), String> {
    let Some(name) = toks.first().filter(|t| t.is_ident()) else {
        return Err("macro name missing".into());
    };
    if &*name.text == "defined" {
        return Err("`defined` cannot be used as a macro name".into());
    }
    let function_like = toks.get(1).is_some_and(|t| t.is("(") && !t.space);
    let (params, variadic, body_at) = if function_like { parse_params(toks)? } else { (None, false, 1) };
    let mut body: Vec<Tok> = toks.get(body_at..).unwrap_or_default().to_vec();
    if let Some(first) = body.first_mut() {
        first.space = false;
    }
    let mac = Macro { params, variadic, body, doubt: None, builtin: None };
    check_body(&mac)?;
    Ok((name.text.clone(), mac))
}

/// Parameter names of a macro (`None`: object-like).
type Params = Option<Vec<Rc<str>>>;

/// `(a, b, ...)` after the macro name: parameters, variadic, index of the body.
fn parse_params(toks: &[Tok]) -> Result<(Params, bool, usize), String> {
    let mut params: Vec<Rc<str>> = Vec::new();
    let mut i = 2;
    let mut variadic = false;
    if toks.get(i).is_some_and(|t| t.is(")")) {
        return Ok((Some(params), false, i + 1));
    }
    loop {
        let t = toks.get(i).ok_or("missing `)` in macro parameter list")?;
        if t.is("...") {
            params.push("__VA_ARGS__".into());
            variadic = true;
        } else if t.is_ident() && !params.contains(&t.text) {
            params.push(t.text.clone());
            if toks.get(i + 1).is_some_and(|n| n.is("...")) {
                variadic = true;
                i += 1;
            }
        } else {
            return Err(format!("`{}` is not a valid macro parameter", t.text));
        }
        let sep = toks.get(i + 1).ok_or("missing `)` in macro parameter list")?;
        i += 2;
        if sep.is(")") {
            return Ok((Some(params), variadic, i));
        }
        if !sep.is(",") || variadic {
            return Err(format!("expected `,` or `)` in macro parameter list, found `{}`", sep.text));
        }
    }
}

/// `##` may not start or end a replacement list; in a function-like macro `#` must be
/// followed by a parameter.
fn check_body(mac: &Macro) -> Result<(), String> {
    if mac.body.first().is_some_and(|t| t.is("##")) || mac.body.last().is_some_and(|t| t.is("##")) {
        return Err("`##` cannot be at either end of a macro replacement list".into());
    }
    if mac.params.is_some() {
        for (i, t) in mac.body.iter().enumerate() {
            if t.is("#") && !mac.body.get(i + 1).is_some_and(|p| p.kind == Kind::Ident && mac.param(&p.text).is_some()) {
                return Err("`#` is not followed by a macro parameter".into());
            }
        }
    }
    Ok(())
}
