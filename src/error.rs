//! The error enum of the runtime boundary.

use clbake_core::cl::ClError;
use clbake_core::format::FormatError;

/// Why programs could not be loaded at all. Misses of the binary path are not errors: they
/// fall back to source and are listed in the [`LoadReport`](crate::LoadReport).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// OpenCL is missing or failed (no runtime, no device, a failed call, a build error).
    #[error(transparent)]
    Cl(#[from] ClError),
    /// The embedded bundle's header or tables are unreadable, so not even sources are usable.
    #[error("embedded kernel bundle is unreadable: {0}")]
    Bundle(#[source] FormatError),
    /// A program's embedded source is corrupt.
    #[error("embedded source of program `{program}` is corrupt: {source}")]
    Source {
        /// Program name.
        program: String,
        /// What is wrong.
        source: FormatError,
    },
    /// A kernel name asked for is not in the program.
    #[error("program `{program}` has no kernel `{kernel}` (it has: {available})")]
    NoSuchKernel {
        /// Program name.
        program: String,
        /// Kernel asked for.
        kernel: String,
        /// Kernels it has, comma separated.
        available: String,
    },
    /// The bundle's program list does not match the generated program enum.
    #[error("bundle holds {found} programs, the generated code expects {expected}")]
    ProgramCount {
        /// Programs the generated code knows.
        expected: usize,
        /// Programs in the bundle.
        found: usize,
    },
}
