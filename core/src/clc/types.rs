//! The parameter model: what `clGetKernelArgInfo` reports ([`ParamInfo`], [`KernelInfo`]),
//! and the typed model code generation uses ([`ParamType`]), with [`classify`] between them.

/// Address space of a kernel argument (`CL_KERNEL_ARG_ADDRESS_QUALIFIER`). For a pointer,
/// the pointee's; images are `Global`; by-value arguments and samplers are `Private`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressQualifier {
    /// `__global` (`CL_KERNEL_ARG_ADDRESS_GLOBAL`, 0x119B).
    Global,
    /// `__local` (`CL_KERNEL_ARG_ADDRESS_LOCAL`, 0x119C).
    Local,
    /// `__constant` (`CL_KERNEL_ARG_ADDRESS_CONSTANT`, 0x119D).
    Constant,
    /// `__private` (`CL_KERNEL_ARG_ADDRESS_PRIVATE`, 0x119E).
    Private,
}

impl AddressQualifier {
    /// From the OpenCL enum value.
    pub fn from_cl(v: u32) -> Option<Self> {
        Some(match v {
            0x119B => Self::Global,
            0x119C => Self::Local,
            0x119D => Self::Constant,
            0x119E => Self::Private,
            _ => return None,
        })
    }

    /// The OpenCL enum value.
    pub fn to_cl(self) -> u32 {
        match self {
            Self::Global => 0x119B,
            Self::Local => 0x119C,
            Self::Constant => 0x119D,
            Self::Private => 0x119E,
        }
    }
}

/// Access qualifier of a kernel argument (`CL_KERNEL_ARG_ACCESS_QUALIFIER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessQualifier {
    /// Not an image or pipe (`CL_KERNEL_ARG_ACCESS_NONE`, 0x11A3).
    None,
    /// `read_only` / `__read_only`, the default for images (0x11A0).
    ReadOnly,
    /// `write_only` / `__write_only` (0x11A1).
    WriteOnly,
    /// `read_write` / `__read_write` (0x11A2).
    ReadWrite,
}

impl AccessQualifier {
    /// From the OpenCL enum value.
    pub fn from_cl(v: u32) -> Option<Self> {
        Some(match v {
            0x11A0 => Self::ReadOnly,
            0x11A1 => Self::WriteOnly,
            0x11A2 => Self::ReadWrite,
            0x11A3 => Self::None,
            _ => return None,
        })
    }

    /// The OpenCL enum value.
    pub fn to_cl(self) -> u32 {
        match self {
            Self::ReadOnly => 0x11A0,
            Self::WriteOnly => 0x11A1,
            Self::ReadWrite => 0x11A2,
            Self::None => 0x11A3,
        }
    }
}

/// Type qualifiers of a kernel argument (`CL_KERNEL_ARG_TYPE_QUALIFIER` bits). For a
/// pointer, `CONST` and `VOLATILE` describe the pointee (and `__constant` pointees are
/// `CONST`); for a by-value argument, the argument itself, as clang reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TypeQualifiers(pub u32);

impl TypeQualifiers {
    /// No qualifier (`CL_KERNEL_ARG_TYPE_NONE`).
    pub const NONE: TypeQualifiers = TypeQualifiers(0);
    /// `const` (`CL_KERNEL_ARG_TYPE_CONST`).
    pub const CONST: TypeQualifiers = TypeQualifiers(1);
    /// `restrict` on a pointer (`CL_KERNEL_ARG_TYPE_RESTRICT`).
    pub const RESTRICT: TypeQualifiers = TypeQualifiers(2);
    /// `volatile` (`CL_KERNEL_ARG_TYPE_VOLATILE`).
    pub const VOLATILE: TypeQualifiers = TypeQualifiers(4);
    /// A pipe (`CL_KERNEL_ARG_TYPE_PIPE`).
    pub const PIPE: TypeQualifiers = TypeQualifiers(8);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: TypeQualifiers) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with the bits of `other` set when `on`.
    pub fn with(self, other: TypeQualifiers, on: bool) -> TypeQualifiers {
        if on {
            TypeQualifiers(self.0 | other.0)
        } else {
            self
        }
    }
}

/// One kernel parameter, as `clGetKernelArgInfo` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ParamInfo {
    /// Parameter name (empty for an unnamed parameter of a prototype).
    pub name: String,
    /// Address space (see [`AddressQualifier`]).
    pub address: AddressQualifier,
    /// Access qualifier of images and pipes; `None` for everything else.
    pub access: AccessQualifier,
    /// The type as drivers spell it: `float*`, `uint`, `float4`, `image2d_t`, `sampler_t`
    /// (typedefs resolved to the OpenCL type; `struct S*` for structs).
    pub type_name: String,
    /// Type qualifiers (see [`TypeQualifiers`]).
    pub type_qualifiers: TypeQualifiers,
}

impl ParamInfo {
    /// The parameter as OpenCL C declares it: `__global const float* x`,
    /// `read_only image2d_t src`, `uint n` (the docs of the typed methods, `clbake inspect`).
    pub fn c_declaration(&self) -> String {
        let space = match self.address {
            AddressQualifier::Global if !self.type_name.starts_with("image") => "__global ",
            AddressQualifier::Constant => "__constant ",
            AddressQualifier::Local => "__local ",
            _ => "",
        };
        let access = match self.access {
            AccessQualifier::ReadOnly => "read_only ",
            AccessQualifier::WriteOnly => "write_only ",
            AccessQualifier::ReadWrite => "read_write ",
            _ => "",
        };
        let constant = if self.type_qualifiers.contains(TypeQualifiers::CONST) && self.type_name.ends_with('*') { "const " } else { "" };
        let restrict = if self.type_qualifiers.contains(TypeQualifiers::RESTRICT) { " restrict" } else { "" };
        format!("{space}{access}{constant}{}{restrict} {}", self.type_name, self.name)
    }
}

/// One kernel: its name, parameters and required work-group size.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KernelInfo {
    /// Kernel (function) name.
    pub name: String,
    /// Parameters, in order.
    pub params: Vec<ParamInfo>,
    /// `__attribute__((reqd_work_group_size(X, Y, Z)))`, when present.
    pub reqd_work_group_size: Option<[usize; 3]>,
}

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

const SCALARS: [(ScalarKind, &str, usize); 11] = [
    (ScalarKind::Char, "char", 1),
    (ScalarKind::UChar, "uchar", 1),
    (ScalarKind::Short, "short", 2),
    (ScalarKind::UShort, "ushort", 2),
    (ScalarKind::Int, "int", 4),
    (ScalarKind::UInt, "uint", 4),
    (ScalarKind::Long, "long", 8),
    (ScalarKind::ULong, "ulong", 8),
    (ScalarKind::Half, "half", 2),
    (ScalarKind::Float, "float", 4),
    (ScalarKind::Double, "double", 8),
];

impl ScalarKind {
    /// The OpenCL C name (`uchar`, `float`, ...).
    pub fn cl_name(self) -> &'static str {
        SCALARS.iter().find(|s| s.0 == self).map_or("?", |s| s.1)
    }

    /// Size in bytes.
    pub fn size(self) -> usize {
        SCALARS.iter().find(|s| s.0 == self).map_or(0, |s| s.2)
    }

    /// Whether the type is `half`, `float` or `double`.
    pub fn is_float(self) -> bool {
        matches!(self, ScalarKind::Half | ScalarKind::Float | ScalarKind::Double)
    }

    /// The scalar type named `name` (`uchar`, not `unsigned char`).
    pub fn from_cl_name(name: &str) -> Option<ScalarKind> {
        SCALARS.iter().find(|s| s.1 == name).map(|s| s.0)
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

    /// The scalar or vector type named `name` (`float`, `uchar16`).
    pub fn from_cl_name(name: &str) -> Option<ValueType> {
        if let Some(scalar) = ScalarKind::from_cl_name(name) {
            return Some(ValueType { scalar, width: 1 });
        }
        let digits = name.find(|c: char| c.is_ascii_digit())?;
        let (base, n) = name.split_at_checked(digits)?;
        let width: u8 = n.parse().ok()?;
        let scalar = ScalarKind::from_cl_name(base)?;
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

const IMAGES: [(ImageKind, &str); 8] = [
    (ImageKind::Image1d, "image1d_t"),
    (ImageKind::Image1dBuffer, "image1d_buffer_t"),
    (ImageKind::Image1dArray, "image1d_array_t"),
    (ImageKind::Image2d, "image2d_t"),
    (ImageKind::Image2dArray, "image2d_array_t"),
    (ImageKind::Image2dDepth, "image2d_depth_t"),
    (ImageKind::Image2dArrayDepth, "image2d_array_depth_t"),
    (ImageKind::Image3d, "image3d_t"),
];

impl ImageKind {
    /// The OpenCL C name (`image2d_t`).
    pub fn cl_name(self) -> &'static str {
        IMAGES.iter().find(|i| i.0 == self).map_or("?", |i| i.1)
    }

    /// The image type named `name`.
    pub fn from_cl_name(name: &str) -> Option<ImageKind> {
        IMAGES.iter().find(|i| i.1 == name).map(|i| i.0)
    }
}

/// The kind and type of a kernel parameter, as clbake's typed calls use it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// A pointer into `__global`, `__constant` or `__local` memory.
    Pointer {
        /// Address space of the pointee.
        space: AddressSpace,
        /// Element type.
        elem: ValueType,
        /// The pointee is `const` (the kernel only reads it). `__constant` pointers are
        /// read-only whether or not they say `const`.
        is_const: bool,
        /// A `void*`: any element type may be passed (`elem` is then `uchar`, so sizes
        /// in launch lines count bytes).
        any_elem: bool,
    },
    /// A scalar or vector passed by value.
    Value(ValueType),
    /// An image object.
    Image {
        /// Image dimensionality.
        kind: ImageKind,
        /// `ReadOnly` (the default), `WriteOnly` or `ReadWrite`; never `None`.
        access: AccessQualifier,
    },
    /// A `sampler_t`.
    Sampler,
}

impl ValueType {
    /// The Rust type a typed method takes for a value of this type, written with full
    /// paths: `f32`, `[f32; 4]` (`float3` is stored as 4), `::clbake::Half`. The one table
    /// the proc macro, the launch checks and `clbake inspect` share.
    pub fn rust_type(self) -> String {
        let s = match self.scalar {
            ScalarKind::Char => "i8",
            ScalarKind::UChar => "u8",
            ScalarKind::Short => "i16",
            ScalarKind::UShort => "u16",
            ScalarKind::Int => "i32",
            ScalarKind::UInt => "u32",
            ScalarKind::Long => "i64",
            ScalarKind::ULong => "u64",
            ScalarKind::Half => "::clbake::Half",
            ScalarKind::Float => "f32",
            ScalarKind::Double => "f64",
        };
        if self.width == 1 {
            s.to_string()
        } else {
            format!("[{s}; {}]", self.storage_width())
        }
    }
}

impl ImageKind {
    /// The `clbake` image type for this kind (`::clbake::Image2d`), `None` for buffer images.
    pub fn rust_type(self) -> Option<&'static str> {
        Some(match self {
            ImageKind::Image1d => "::clbake::Image1d",
            ImageKind::Image1dArray => "::clbake::Image1dArray",
            ImageKind::Image2d => "::clbake::Image2d",
            ImageKind::Image2dArray => "::clbake::Image2dArray",
            ImageKind::Image3d => "::clbake::Image3d",
            _ => return None,
        })
    }
}

/// A Rust type from [`ParamType::rust_type`] or [`ValueType::rust_type`] as people write
/// it in code that imports clbake's types: without the `::clbake::` paths.
pub fn short_rust_type(full: &str) -> String {
    full.replace("::clbake::", "")
}

impl ParamType {
    /// The Rust type a typed method takes for this parameter, with full paths (see
    /// [`ValueType::rust_type`]): `&::clbake::Buffer<f32, impl ::clbake::KernelReads>` for a
    /// `const` (or `__constant`) pointer, `&mut ::clbake::Buffer<f32, impl
    /// ::clbake::KernelWrites>` for a pointer the kernel writes (a buffer of any element
    /// type, `impl ::clbake::Scalar`, for a `void*`), `::clbake::Local<f32>` (`Local<u8>`
    /// for `__local void*`),
    /// images by access, `&::clbake::Sampler`. `None` for images clbake cannot pass yet
    /// (buffer and depth images).
    pub fn rust_type(&self) -> Option<String> {
        Some(match self {
            ParamType::Pointer { space: AddressSpace::Local, elem, .. } => format!("::clbake::Local<{}>", elem.rust_type()),
            ParamType::Pointer { elem, is_const, space, any_elem } => {
                let elem = if *any_elem { "impl ::clbake::Scalar".to_string() } else { elem.rust_type() };
                if *is_const || *space == AddressSpace::Constant {
                    format!("&::clbake::Buffer<{elem}, impl ::clbake::KernelReads>")
                } else {
                    format!("&mut ::clbake::Buffer<{elem}, impl ::clbake::KernelWrites>")
                }
            }
            ParamType::Value(v) => v.rust_type(),
            ParamType::Image { kind, access } => {
                let t = kind.rust_type()?;
                match access {
                    AccessQualifier::WriteOnly => format!("&mut {t}<impl ::clbake::KernelWrites>"),
                    AccessQualifier::ReadWrite => format!("&mut {t}<::clbake::ReadWrite>"),
                    _ => format!("&{t}<impl ::clbake::KernelReads>"),
                }
            }
            ParamType::Sampler => "&::clbake::Sampler".to_string(),
        })
    }

    /// Whether the kernel may write through this argument (a non-const `__global` pointer
    /// or a `write_only` / `read_write` image).
    pub fn is_output(&self) -> bool {
        match self {
            ParamType::Pointer { space: AddressSpace::Global, is_const, .. } => !is_const,
            ParamType::Image { access, .. } => matches!(access, AccessQualifier::WriteOnly | AccessQualifier::ReadWrite),
            _ => false,
        }
    }
}

/// The typed parameter for `p` (from this reader or from a driver), or a short reason why
/// clbake's typed calls cannot pass it.
pub fn classify(p: &ParamInfo) -> Result<ParamType, String> {
    if p.type_qualifiers.contains(TypeQualifiers::PIPE) {
        return Err(format!("`pipe {}`: pipes are not supported by clbake's typed calls", p.type_name));
    }
    let (base, stars) = normalize_type_name(&p.type_name)?;
    let shown = format!("{base}{}", "*".repeat(stars));
    if stars > 1 {
        return Err(format!("`{shown}`: pointers to pointers cannot be kernel arguments"));
    }
    if stars == 1 {
        let space = match p.address {
            AddressQualifier::Global => AddressSpace::Global,
            AddressQualifier::Constant => AddressSpace::Constant,
            AddressQualifier::Local => AddressSpace::Local,
            AddressQualifier::Private => return Err(format!("`{shown}`: `__private` pointers cannot be kernel arguments")),
        };
        // `void*` (ggml passes every tensor so, with a byte offset): a buffer of any
        // element type; its size counts bytes.
        let any_elem = base == "void";
        let elem = if any_elem { ValueType { scalar: ScalarKind::UChar, width: 1 } } else { value_type(&base, &shown)? };
        let is_const = p.type_qualifiers.contains(TypeQualifiers::CONST) || space == AddressSpace::Constant;
        return Ok(ParamType::Pointer { space, elem, is_const, any_elem });
    }
    if let Some(kind) = ImageKind::from_cl_name(&base) {
        let access = if p.access == AccessQualifier::None { AccessQualifier::ReadOnly } else { p.access };
        return Ok(ParamType::Image { kind, access });
    }
    if base == "sampler_t" {
        return Ok(ParamType::Sampler);
    }
    if base.starts_with("image") {
        return Err(format!("`{shown}`: this image type is not supported by clbake's typed calls"));
    }
    if p.address != AddressQualifier::Private {
        return Err(format!("`{shown}`: a by-value argument must be in the private address space, not {:?}", p.address));
    }
    value_type(&base, &shown).map(ParamType::Value)
}

fn value_type(base: &str, shown: &str) -> Result<ValueType, String> {
    if let Some(v) = ValueType::from_cl_name(base) {
        return Ok(v);
    }
    let first = base.split(' ').next().unwrap_or_default();
    Err(match first {
        "struct" | "union" | "enum" => format!("`{shown}`: {first} types are not supported by clbake's typed calls"),
        "void" => format!("`{shown}`: `void` is not a value type"),
        "bool" | "size_t" | "ptrdiff_t" | "intptr_t" | "uintptr_t" => format!("`{shown}`: `{base}` cannot be a kernel argument type"),
        _ if base.starts_with("image") || base.ends_with("_t") => format!("`{shown}`: not supported by clbake's typed calls"),
        _ => format!("`{shown}`: unknown type `{base}`"),
    })
}

/// A type name as any driver may spell it (`unsigned int *`, `__read_only image2d_t`,
/// `const float*`) as (base name in OpenCL spelling, number of `*`).
pub fn normalize_type_name(name: &str) -> Result<(String, usize), String> {
    let stars = name.matches('*').count();
    let words: Vec<&str> =
        name.split(|c: char| c == '*' || c.is_whitespace()).filter(|w| !w.is_empty()).filter(|w| !is_qualifier_word(w)).collect();
    let base = match words.as_slice() {
        [] => return Err(format!("`{name}`: no type")),
        [tag @ ("struct" | "union" | "enum"), rest @ ..] => format!("{tag} {}", rest.join(" ")),
        [one] if !is_type_keyword(one) => one.to_string(),
        many => keyword_type_name(many)?,
    };
    Ok((base, stars))
}

/// Qualifiers a driver may leave in a type name.
fn is_qualifier_word(w: &str) -> bool {
    matches!(
        w,
        "const"
            | "__const"
            | "volatile"
            | "restrict"
            | "__restrict"
            | "__read_only"
            | "read_only"
            | "__write_only"
            | "write_only"
            | "__read_write"
            | "read_write"
    )
}

/// Whether `w` is a C keyword that takes part in a basic type name.
pub(super) fn is_type_keyword(w: &str) -> bool {
    matches!(w, "void" | "bool" | "char" | "short" | "int" | "long" | "float" | "double" | "half" | "signed" | "unsigned")
}

/// The OpenCL spelling of a basic type written with keywords: `unsigned char` → `uchar`,
/// `unsigned` → `uint`, `signed char` → `char`, `long int` → `long`.
pub(super) fn keyword_type_name(words: &[&str]) -> Result<String, String> {
    let count = |k: &str| words.iter().filter(|w| **w == k).count();
    let (unsigned, signed) = (count("unsigned"), count("signed"));
    let sized: Vec<&str> = words.iter().copied().filter(|w| !matches!(*w, "unsigned" | "signed" | "int")).collect();
    let bad = || format!("`{}` is not an OpenCL C type", words.join(" "));
    if unsigned + signed > 1 || count("int") > 1 || words.iter().any(|w| !is_type_keyword(w)) {
        return Err(bad());
    }
    let base = match (sized.as_slice(), count("int")) {
        ([], _) => "int",
        (["char"], 0) => "char",
        (["short"], _) => "short",
        (["long"], _) => "long",
        ([other], 0) if unsigned + signed == 0 => other,
        _ => return Err(bad()),
    };
    Ok(if unsigned == 1 { format!("u{base}") } else { base.to_string() })
}
