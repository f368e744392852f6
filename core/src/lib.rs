//! clbake-core: the parts of clbake shared by build scripts, the proc macros and the runtime.
#![deny(missing_docs)]

pub mod fingerprint;
pub mod format;
pub mod hash;
pub mod source;

#[cfg(feature = "opencl")]
pub mod cl;
#[cfg(feature = "opencl")]
pub mod build;

pub use fingerprint::Fingerprint;
pub use hash::Hash128;
