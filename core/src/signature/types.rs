//! OpenCL C types of kernel parameters and the parser of one parameter.

use super::{Param, ParamType};

/// OpenCL C scalar element types that kernel arguments may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScalarKind {
    /// `char` (8-bit signed).
    Char,
    /// `uchar` / `unsigned char`.
    UChar,
    /// `short` (16-bit signed).
    Short,
    /// `ushort` / `unsigned short`.
    UShort,
    /// `int` (32-bit signed).
    Int,
    /// `uint` / `unsigned int` / `unsigned`.
    UInt,
    /// `long` (64-bit signed).
    Long,
    /// `ulong` / `unsigned long`.
    ULong,
    /// `half` (IEEE binary16).
    Half,
    /// `float`.
    Float,
    /// `double`.
    Double,
}

impl ScalarKind {
    /// The OpenCL C name (`uchar`, `float`, ...).
    pub fn cl_name(self) -> &'static str {
        match self {
            ScalarKind::Char => "char",
            ScalarKind::UChar => "uchar",
            ScalarKind::Short => "short",
            ScalarKind::UShort => "ushort",
            ScalarKind::Int => "int",
            ScalarKind::UInt => "uint",
            ScalarKind::Long => "long",
            ScalarKind::ULong => "ulong",
            ScalarKind::Half => "half",
            ScalarKind::Float => "float",
            ScalarKind::Double => "double",
        }
    }

    /// Size in bytes.
    pub fn size(self) -> usize {
        match self {
            ScalarKind::Char | ScalarKind::UChar => 1,
            ScalarKind::Short | ScalarKind::UShort | ScalarKind::Half => 2,
            ScalarKind::Int | ScalarKind::UInt | ScalarKind::Float => 4,
            ScalarKind::Long | ScalarKind::ULong | ScalarKind::Double => 8,
        }
    }

    /// Whether the type is `half`, `float` or `double`.
    pub fn is_float(self) -> bool {
        matches!(self, ScalarKind::Half | ScalarKind::Float | ScalarKind::Double)
    }

    fn from_name(name: &str) -> Option<ScalarKind> {
        Some(match name {
            "char" => ScalarKind::Char,
            "uchar" => ScalarKind::UChar,
            "short" => ScalarKind::Short,
            "ushort" => ScalarKind::UShort,
            "int" => ScalarKind::Int,
            "uint" => ScalarKind::UInt,
            "long" => ScalarKind::Long,
            "ulong" => ScalarKind::ULong,
            "half" => ScalarKind::Half,
            "float" => ScalarKind::Float,
            "double" => ScalarKind::Double,
            _ => return None,
        })
    }
}

/// A scalar (`width` 1) or vector (`width` 2, 3, 4, 8 or 16) type such as `float4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValueType {
    /// Element type.
    pub scalar: ScalarKind,
    /// Number of components: 1 for a scalar.
    pub width: u8,
}

impl ValueType {
    /// The OpenCL C name (`float`, `int4`, ...).
    pub fn cl_name(self) -> String {
        if self.width == 1 {
            self.scalar.cl_name().to_string()
        } else {
            format!("{}{}", self.scalar.cl_name(), self.width)
        }
    }

    /// Size in bytes as OpenCL lays it out: 3-component vectors take the room of 4.
    pub fn size(self) -> usize {
        self.scalar.size() * self.storage_width()
    }

    /// Components stored: `width`, except 4 for 3-component vectors.
    pub fn storage_width(self) -> usize {
        if self.width == 3 {
            4
        } else {
            usize::from(self.width)
        }
    }

    fn from_name(name: &str) -> Option<ValueType> {
        if let Some(scalar) = ScalarKind::from_name(name) {
            return Some(ValueType { scalar, width: 1 });
        }
        let digits = name.find(|c: char| c.is_ascii_digit())?;
        let (base, n) = name.split_at(digits);
        let width: u8 = n.parse().ok()?;
        let scalar = ScalarKind::from_name(base)?;
        [2, 3, 4, 8, 16].contains(&width).then_some(ValueType { scalar, width })
    }
}

/// Address space of a pointer parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressSpace {
    /// `__global`: a buffer.
    Global,
    /// `__constant`: a read-only buffer.
    Constant,
    /// `__local`: work-group memory; the host gives only its size.
    Local,
}

/// Access qualifier of an image parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessQualifier {
    /// `read_only` / `__read_only` (the default).
    ReadOnly,
    /// `write_only` / `__write_only`.
    WriteOnly,
    /// `read_write` / `__read_write`.
    ReadWrite,
}

/// Image parameter types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// `image1d_t`.
    Image1d,
    /// `image1d_buffer_t`.
    Image1dBuffer,
    /// `image1d_array_t`.
    Image1dArray,
    /// `image2d_t`.
    Image2d,
    /// `image2d_array_t`.
    Image2dArray,
    /// `image2d_depth_t`.
    Image2dDepth,
    /// `image2d_array_depth_t`.
    Image2dArrayDepth,
    /// `image3d_t`.
    Image3d,
}

impl ImageKind {
    fn from_name(name: &str) -> Option<ImageKind> {
        Some(match name {
            "image1d_t" => ImageKind::Image1d,
            "image1d_buffer_t" => ImageKind::Image1dBuffer,
            "image1d_array_t" => ImageKind::Image1dArray,
            "image2d_t" => ImageKind::Image2d,
            "image2d_array_t" => ImageKind::Image2dArray,
            "image2d_depth_t" => ImageKind::Image2dDepth,
            "image2d_array_depth_t" => ImageKind::Image2dArrayDepth,
            "image3d_t" => ImageKind::Image3d,
            _ => return None,
        })
    }
}

/// Parses one parameter from its tokens. `expand` resolves defines and typedefs.
pub(super) fn parse_param(words: &[String], expand: impl Fn(&[String]) -> Vec<String>, text: &str) -> Result<Param, String> {
    let words = strip_attributes(words);
    let Some((name, head)) = words.split_last() else {
        return Err("empty parameter".into());
    };
    if name == "]" || words.iter().any(|w| w == "[") {
        return Err("array parameters are not allowed in kernels".into());
    }
    if !super::lex::is_ident(name) || head.is_empty() {
        return Err("a kernel parameter needs a type and a name".into());
    }
    let head = expand(head);
    let mut space = None;
    let mut access = None;
    let mut const_before_star = false;
    let mut stars = 0;
    let mut sign: Option<bool> = None;
    let mut base: Vec<&str> = Vec::new();
    for w in &head {
        match w.as_str() {
            "__global" | "global" => space = Some(AddressSpace::Global),
            "__constant" | "constant" => space = Some(AddressSpace::Constant),
            "__local" | "local" => space = Some(AddressSpace::Local),
            "__private" | "private" => return Err("`__private` pointers cannot be kernel arguments".into()),
            "__read_only" | "read_only" => access = Some(AccessQualifier::ReadOnly),
            "__write_only" | "write_only" => access = Some(AccessQualifier::WriteOnly),
            "__read_write" | "read_write" => access = Some(AccessQualifier::ReadWrite),
            "const" => const_before_star |= stars == 0,
            "volatile" | "restrict" | "__restrict" | "__restrict__" => {}
            "unsigned" => sign = Some(false),
            "signed" => sign = Some(true),
            "*" => stars += 1,
            "struct" | "union" | "enum" => return Err(format!("`{w}` types are not supported by clbake's typed calls")),
            other => base.push(other),
        }
    }
    let type_name = match (sign, base.as_slice()) {
        (Some(false), []) => "uint".to_string(),
        (Some(false), [b]) if matches!(*b, "char" | "short" | "int" | "long") => format!("u{b}"),
        (Some(true), [b]) if matches!(*b, "char" | "short" | "int" | "long") => b.to_string(),
        (None, [b]) => b.to_string(),
        _ => return Err(format!("type `{}` is not understood", head.join(" "))),
    };
    let ty = if stars > 1 {
        return Err("pointers to pointers cannot be kernel arguments".into());
    } else if stars == 1 {
        let Some(space) = space else {
            return Err("pointer arguments must be `__global`, `__constant` or `__local`".into());
        };
        let elem = value_type(&type_name)?;
        ParamType::Pointer { space, elem, is_const: const_before_star || space == AddressSpace::Constant }
    } else if let Some(kind) = ImageKind::from_name(&type_name) {
        ParamType::Image { kind, access: access.unwrap_or(AccessQualifier::ReadOnly) }
    } else if type_name == "sampler_t" {
        ParamType::Sampler
    } else {
        if let Some(space) = space {
            return Err(format!("a by-value argument cannot be in the {space:?} address space"));
        }
        ParamType::Value(value_type(&type_name)?)
    };
    Ok(Param { name: name.clone(), ty, text: text.to_string() })
}

fn value_type(name: &str) -> Result<ValueType, String> {
    if let Some(v) = ValueType::from_name(name) {
        return Ok(v);
    }
    Err(match name {
        "void" => "`void*` arguments are not supported by clbake's typed calls (give the pointer an element type)".into(),
        "bool" | "size_t" | "ptrdiff_t" | "intptr_t" | "uintptr_t" => format!("`{name}` cannot be a kernel argument type in OpenCL C"),
        _ => format!("unknown type `{name}` (not an OpenCL C scalar or vector type, a -D define or a typedef of one)"),
    })
}

/// Removes `__attribute__((...))` groups.
fn strip_attributes(words: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        if matches!(words[i].as_str(), "__attribute__" | "__attribute") {
            let mut depth = 0usize;
            i += 1;
            while i < words.len() {
                match words[i].as_str() {
                    "(" => depth += 1,
                    ")" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            continue;
        }
        out.push(words[i].clone());
        i += 1;
    }
    out
}
