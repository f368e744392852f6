//! The Rust type a typed method takes for an OpenCL parameter, as text (for `inspect`): the
//! same table the proc macro applies.

use clbake::core::clc::{AccessQualifier, AddressSpace, ParamType, ValueType};

fn value(t: ValueType) -> String {
    use clbake::core::clc::ScalarKind::*;
    let s = match t.scalar {
        Char => "i8",
        UChar => "u8",
        Short => "i16",
        UShort => "u16",
        Int => "i32",
        UInt => "u32",
        Long => "i64",
        ULong => "u64",
        Half => "Half",
        Float => "f32",
        Double => "f64",
        _ => "?",
    };
    if t.width == 1 {
        s.to_string()
    } else {
        format!("[{s}; {}]", t.storage_width())
    }
}

/// `&Buffer<f32, impl KernelReads>`, `i32`, `Local<f32>`, ...
pub fn param(t: &ParamType) -> String {
    match t {
        ParamType::Pointer { space: AddressSpace::Local, elem, .. } => format!("Local<{}>", value(*elem)),
        ParamType::Pointer { elem, is_const, space } if *is_const || *space == AddressSpace::Constant => format!("&Buffer<{}, impl KernelReads>", value(*elem)),
        ParamType::Pointer { elem, .. } => format!("&mut Buffer<{}, impl KernelWrites>", value(*elem)),
        ParamType::Value(v) => value(*v),
        ParamType::Image { kind, access: AccessQualifier::WriteOnly } => format!("&mut {:?}<impl KernelWrites>", kind),
        ParamType::Image { kind, access: AccessQualifier::ReadWrite } => format!("&mut {:?}<ReadWrite>", kind),
        ParamType::Image { kind, .. } => format!("&{:?}<impl KernelReads>", kind),
        ParamType::Sampler => "&Sampler".into(),
    }
}
