//! OpenCL side of clbake-core: probe devices, compile programs, capture binaries, bake bundles.
//!
//! Everything here goes through `opencl3` with its default `dynamic` feature: the OpenCL
//! library is opened at run time, so a binary starts on a machine without OpenCL and
//! [`ClError::NoRuntime`] says so.

mod args;
mod bake;
mod compile;
mod error;
pub mod library;
mod probe;
mod warm;

pub use bake::{bake, bundle_writer, bundle_writer_with, BakeOptions, BakeProgress, BakedProgram, TunedLocal};
pub use compile::{build_from_binary, build_from_source, capture_binary, create_all_kernels, BuiltProgram};
pub use error::{code_name, ClError};
pub use args::{set_shape_args, value_bytes, ShapeArgs};
pub use probe::{devices, runtime_available, DeviceInfo, DeviceSelector};
pub use warm::{warm, LocalFor, WarmReport};
