//! clbake bakes OpenCL programs into Rust executables.
//!
//! A build script compiles the crate's kernels for the OpenCL devices it finds and writes a
//! bundle (sources, zstd-compressed and checksummed binaries, each kernel's signature);
//! [`include_kernels!`] embeds it and generates one typed method per kernel. At start-up a
//! program is created from the embedded binary that matches the device's fingerprint, and
//! compiled from the embedded source only when none matches; what had to be compiled is
//! kept in a disk cache so that the next start loads it in milliseconds.
//!
//! ```no_run
//! // build.rs:  fn main() { clbake_core::build::bake_kernels("kernels"); }
//! // kernels/saxpy.cl:
//! //   __kernel void saxpy(float a, __global const float* x, __global const float* y,
//! //                       __global float* out, int n) { ... }
//! mod kernels {
//!     clbake::include_kernels!();
//! }
//!
//! fn main() -> Result<(), clbake::Error> {
//!     let session = clbake::Session::from_env()?;
//!     let k = kernels::Kernels::load(&session)?; // programs are created at their first call
//!     let n = 1024;
//!     let x = clbake::Buffer::<f32, clbake::ReadOnly>::from_slice(&session, &vec![1.0; n])?;
//!     let y = clbake::Buffer::<f32, clbake::ReadOnly>::from_slice(&session, &vec![2.0; n])?;
//!     let mut out = clbake::Buffer::<f32, clbake::WriteOnly>::new(&session, n)?;
//!     // Argument count and types are checked by rustc against the OpenCL signature.
//!     k.saxpy().saxpy(session.queue(), [n], None, 2.5, &x, &y, &mut out, n as i32)?;
//!     let result = out.read(session.queue())?;
//!     print!("{}", k.report()); // which path served each program, and why
//!     # let _ = result;
//!     Ok(())
//! }
//! ```
//! `cargo doc --open` shows the methods generated for your kernels (module `kernels`).
//!
//! The guide, `docs/GUIDE.md` in the repository, walks the whole flow (kernels, variants,
//! build, the load report, `CLBAKE_*` variables, cross builds, baking on the board);
//! `examples/hello-kernels` is the finished crate.
//!
//! # Logging
//! clbake logs through the [`log`] crate (what each program's load did, misses, cache
//! events): install a logger (`env_logger`, ...) to see them. Without one, a start-up that
//! had to compile programs from source prints one summary line on stderr, so that a slow
//! start on a board says why; `CLBAKE_LOG=off` silences it.
//!
//! # Trust
//! Embedded binaries are verified (xxh3-128 of the uncompressed bytes, bounded zstd
//! decompression) before any byte reaches the driver, and their known answers are replayed
//! once per device; every failure of the binary path — corrupt bytes, another device or
//! driver library, a driver that rejects the binary or computes other results — falls back
//! to source. Disk cache entries are used only when owned by the user, not writable by
//! others, intact and built for this very device and program; see [`cache`].
#![deny(missing_docs)]

mod buffer;
pub mod cache;
mod embedded;
mod error;
#[doc(hidden)]
pub mod hooks;
mod image;
pub mod launch;
mod load;
mod model;
mod session;
pub mod selfbake;

pub use buffer::{Access, Buffer, KernelReads, KernelWrites, ReadOnly, ReadWrite, WriteOnly};
pub use clbake_core as core;
pub use clbake_core::cl::DeviceSelector;
pub use clbake_core::Fingerprint;
pub use clbake_macros::{include_kernels, include_model};
pub use embedded::{AnyProgram, Embedded, ProgramId};
pub use error::Error;
/// `half`: OpenCL's 16-bit float, as the `half` crate's type (what safetensors and candle use).
pub use half::f16 as Half;
pub use image::{Addressing, Dims, Filter, Image, Image1d, Image1dArray, Image2d, Image2dArray, Image3d, Pixel, Sampler, Unorm16, Unorm8, D1, D1Array, D2, D2Array, D3};
pub use launch::{Launch, Local, Scalar, Tuned, Tuning, WorkSize};
pub use load::{binary_threads, CacheEvent, CacheEventKind, CacheReport, CacheState, KernelSet, LoadOptions, LoadPath, LoadReport, Miss, MissReason, ProgramReport, MIN_BINARY_THREADS};
pub use load::write_misses;
pub use model::{Element, Tensor, TensorInfo};
pub use session::Session;
/// The OpenCL bindings clbake is built on; its queue and event types appear in launches.
pub use opencl3;
/// An OpenCL command queue (what launches and buffer transfers take: `session.queue()`).
pub use opencl3::command_queue::CommandQueue as Queue;
/// An OpenCL event (what a launch returns).
pub use opencl3::event::Event;

#[doc(hidden)]
pub mod __private {
    pub use include_bytes_aligned::include_bytes_aligned;
}
