//! The Rust type a typed method takes for an OpenCL parameter, as text (for `inspect`): core's
//! one table ([`ParamType::rust_type`]), written as code that imports clbake's types would.

use clbake::core::clc::{short_rust_type, ParamType};

/// `&Buffer<f32, impl KernelReads>`, `i32`, `Local<f32>`, ...; `?` for a type without one.
pub fn param(t: &ParamType) -> String {
    t.rust_type().map_or_else(|| "?".to_string(), |full| short_rust_type(&full))
}
