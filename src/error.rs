//! [`Error`]: the one error type of clbake's runtime, for loading and for launching alike,
//! so an application's `main` can `?` both.
//!
//! Every variant prints as one line that names the cause and, where there is one, the fix;
//! `Debug` prints the same line (so `fn main() -> Result<(), clbake::Error>` shows it as is).
//! Misses of a binary path are not errors: the program falls back to source and the miss is
//! listed in the [`LoadReport`](crate::LoadReport).

use clbake_core::cl::{code_name, ClError};
use clbake_core::env::EnvError;
use clbake_core::format::FormatError;
use std::fmt;
use std::sync::Arc;

/// Why clbake could not load a program or launch a kernel.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The OpenCL loader library could not be opened.
    #[error("no OpenCL runtime: libOpenCL.so.1 could not be loaded (install an ICD loader and a driver, e.g. `apt-get install ocl-icd-libopencl1 pocl-opencl-icd`)")]
    NoRuntime,
    /// The runtime loaded but reports no device.
    #[error("no OpenCL device found (is a driver installed? e.g. `apt-get install pocl-opencl-icd`; check with `clinfo -l`)")]
    NoDevice,
    /// `CLBAKE_DEVICE` (or the selector) names a device that does not exist.
    #[error("OpenCL device {index} does not exist: {count} device(s) found (list them with `clbake devices`; set CLBAKE_DEVICE to one of 0..{count})")]
    NoSuchDevice {
        /// The index asked for.
        index: usize,
        /// How many devices exist.
        count: usize,
    },
    /// A `CLBAKE_*` variable holds a value that cannot be used.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// An OpenCL call failed.
    #[error("{call} failed: {}", code_name(*.code))]
    Api {
        /// The call.
        call: &'static str,
        /// The OpenCL error code.
        code: i32,
    },
    /// The embedded bundle's core (header, program table) is damaged: not even the sources
    /// can be read. Rebuild the executable (or copy it again: the file is damaged).
    #[error("the embedded kernel bundle is unreadable ({0}): the executable is damaged; copy or build it again")]
    Bundle(#[source] FormatError),
    /// A bundle read at run time cannot stand in for the embedded one
    /// ([`Embedded::replaced_by`](crate::Embedded::replaced_by)): damaged, or other programs.
    #[error("the replacement bundle cannot be used: {detail}")]
    Replacement {
        /// What is wrong with it.
        detail: String,
    },
    /// The bundle does not hold the programs the generated code expects.
    #[error("the bundle holds other programs than the code was generated for ({detail}): use the `BUNDLE` of the same `include_kernels!`")]
    WrongBundle {
        /// What differs.
        detail: String,
    },
    /// A program's embedded source is damaged, and no binary could serve it.
    #[error(
        "the embedded source of program `{program}` is damaged ({source}) and no binary serves it: copy or build the executable again"
    )]
    Source {
        /// Program name.
        program: String,
        /// What is wrong.
        source: FormatError,
    },
    /// A program failed to build from source on this device (typically an extension it
    /// lacks); the driver's log follows.
    #[error("program `{program}` does not build on {device} (options `{options}`):\n{log}")]
    Build {
        /// Program name.
        program: String,
        /// The device.
        device: String,
        /// Build options.
        options: String,
        /// The driver's build log.
        log: String,
    },
    /// A program failed to load earlier in this process; its kernels cannot run.
    #[error("program `{program}` is not available: {cause}")]
    Unavailable {
        /// Program name.
        program: String,
        /// Why it failed to load.
        cause: Arc<Error>,
    },
    /// No kernel of that name or index in the program.
    #[error("program `{program}` has no kernel `{kernel}`")]
    NoSuchKernel {
        /// Program name.
        program: String,
        /// Kernel name (or index).
        kernel: String,
    },
    /// An argument does not fit the kernel's parameter (kind, type, address space, access).
    #[error("kernel `{kernel}`, argument {index} (`{param}`): {problem}")]
    Argument {
        /// Kernel name.
        kernel: String,
        /// 0-based argument index.
        index: usize,
        /// Parameter name (`?` when unknown).
        param: String,
        /// What does not fit, and what would.
        problem: String,
    },
    /// Work sizes the launch cannot use, with the fix.
    #[error("kernel `{kernel}`: {problem}")]
    WorkSize {
        /// Kernel name.
        kernel: String,
        /// What is wrong, with plain sizes, and the fix.
        problem: String,
    },
    /// A buffer or image operation got lengths that do not fit.
    #[error("{0}")]
    Length(String),
    /// A file could not be read or written (self-bake output, cache maintenance).
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another failure of clbake's OpenCL layer (boxed, as the large rare variants are, so
    /// that `Result<_, Error>` stays small).
    #[error(transparent)]
    OpenCl(Box<ClError>),
    /// A bake (self-bake) failed.
    #[error(transparent)]
    Bake(Box<clbake_core::bake::BakeError>),
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<ClError> for Error {
    fn from(e: ClError) -> Self {
        match e {
            ClError::NoRuntime => Error::NoRuntime,
            ClError::NoDevice => Error::NoDevice,
            ClError::NoSuchDevice { index, count } => Error::NoSuchDevice { index, count },
            ClError::Api { call, code } => Error::Api { call, code },
            ClError::Build { program, options, device, log, .. } => Error::Build { program, device, options, log },
            other => Error::OpenCl(Box::new(other)),
        }
    }
}

impl From<clbake_core::bake::BakeError> for Error {
    fn from(e: clbake_core::bake::BakeError) -> Self {
        Error::Bake(Box::new(e))
    }
}

impl From<clbake_core::atomic::WriteError> for Error {
    fn from(e: clbake_core::atomic::WriteError) -> Self {
        Error::Io { op: e.op, path: e.path, source: e.source }
    }
}

impl Error {
    /// Shorthand for an OpenCL call that failed with `code`.
    pub(crate) fn api(call: &'static str) -> impl FnOnce(opencl3::error_codes::ClError) -> Error {
        move |e| Error::Api { call, code: e.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_the_one_line_display() {
        let e = Error::NoSuchDevice { index: 7, count: 1 };
        assert_eq!(format!("{e:?}"), e.to_string());
        assert!(e.to_string().contains("clbake devices"));
        let e: Error = ClError::NoDevice.into();
        assert!(matches!(e, Error::NoDevice));
        assert_eq!(format!("{e:?}").lines().count(), 1);
    }
}
