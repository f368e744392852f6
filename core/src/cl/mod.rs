//! OpenCL side of clbake-core: probe devices, compile programs, read kernel signatures from
//! the driver, run declared launches and known answers, capture binaries.
//!
//! Everything here goes through `opencl3` with its default `dynamic` feature: the OpenCL
//! library is opened at run time, so a binary starts on a machine without OpenCL and
//! [`ClError::NoRuntime`] says so.

pub mod args;
mod compile;
mod error;
pub mod known;
pub mod library;
mod probe;
mod warm;

pub use compile::{
    build_from_binary, build_from_source, capture_binary, create_all_kernels, driver_options, enqueue, kernel_params, required_size,
    BuiltProgram, ARG_INFO,
};
pub use error::{code_name, ClError};
pub use probe::{devices, runtime_available, DeviceInfo, DeviceSelector};
pub use warm::{warm, LocalFor, WarmReport};
