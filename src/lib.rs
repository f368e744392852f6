//! clbake bakes OpenCL programs into Rust executables.
//!
//! A build script compiles the crate's kernels for the OpenCL devices it finds and writes a
//! bundle (sources plus zstd-compressed, checksummed binaries); [`include_kernels!`] embeds
//! it. At start-up each program is created from the embedded binary that matches the
//! device's fingerprint, and compiled from the embedded source only when none matches.
//! What had to be compiled is kept in a disk cache ([`cache`]) so that the next start loads it
//! in milliseconds.
//!
//! ```no_run
//! // build.rs:  fn main() { clbake_core::build::bake_kernels("kernels"); }
//! mod kernels {
//!     clbake::include_kernels!();
//! }
//!
//! fn main() -> Result<(), clbake::LoadError> {
//!     let session = clbake::Session::from_env()?;
//!     let programs = kernels::load(&session)?;
//!     print!("{}", programs.report()); // which path served each program, and how fast
//!     let _kernel = programs.kernel(kernels::Program::ALL[0], kernels::Program::ALL[0].kernels()[0])?;
//!     Ok(())
//! }
//! ```
//!
//! The guide, `docs/GUIDE.md` in the repository, walks the whole flow (kernels, variants,
//! build, the load report, `CLBAKE_*` variables, cross builds, baking on the board);
//! `examples/hello-kernels` is the finished crate.
//!
//! # Trust
//! Embedded binaries are verified (xxh3-128 of the uncompressed bytes, bounded zstd
//! decompression) before any byte reaches the driver; every failure of the binary path —
//! corrupt bytes, another device, a driver that rejects the binary — falls back to source.
//! Disk cache entries are used only when owned by the user, not writable by others, intact
//! (checksummed) and built for this very device and program; see [`cache`].
//!
//! # Features
//! - `cli` (default): the `clbake` command-line tool and its demo model. The library alone
//!   embeds no kernel and no weight: a crate that depends on clbake gets only what it asks for.
#![deny(missing_docs)]

pub mod buffers;
pub mod cache;
mod embedded;
mod error;
mod lazy;
pub mod launch;
mod loader;
mod model;
mod report;
mod session;
pub mod selfbake;
pub mod tuner;
mod tuning;

pub use clbake_core as core;
/// The OpenCL bindings clbake is built on (its `Session` holds their `Context` and
/// `CommandQueue`); use this re-export to enqueue kernels with the same version.
pub use opencl3;
pub use clbake_core::cl::DeviceSelector;
pub use clbake_core::Fingerprint;
pub use clbake_macros::{include_kernels, include_model};
pub use embedded::Embedded;
pub use error::LoadError;
pub use lazy::LazyPrograms;
pub use launch::{Half, KernelSet, Launch, LaunchError, Local};
pub use loader::{binary_threads, LoadOptions, LoadedProgram, ProgramId, Programs, MIN_BINARY_THREADS};
pub use model::{Element, Tensor, TensorInfo};
pub use report::{write_misses, CacheEvent, CacheEventKind, CacheReport, CacheState, LoadPath, LoadReport, Miss, MissReason, ProgramReport};
pub use session::Session;
pub use tuning::{Tuned, Tuning};

#[doc(hidden)]
pub mod __private {
    pub use include_bytes_aligned::include_bytes_aligned;
}
