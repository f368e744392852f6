//! clbake bakes OpenCL programs into Rust executables.
//!
//! A build script compiles the crate's kernels for the OpenCL devices it finds and writes a
//! bundle (sources, zstd-compressed and checksummed binaries, each kernel's signature);
//! [`include_kernels!`] embeds it and generates one typed method per kernel. At start-up a
//! program is created from the embedded binary that matches the device's fingerprint, and
//! compiled from the embedded source only when none matches; what had to be compiled is kept
//! in a disk cache so that the next start loads it in milliseconds.
//!
//! With `clbake = "0.1"` in `[dependencies]`, `clbake-core = { version = "0.1", features =
//! ["opencl"] }` in `[build-dependencies]`, a `build.rs` of one line,
//! `fn main() { clbake_core::build::bake_kernels("kernels"); }`, and `kernels/saxpy.cl`:
//!
//! ```c
//! __kernel void saxpy(const float a, __global const float* x, __global const float* y, __global float* out, const int n) {
//!     const int i = get_global_id(0);
//!     if (i < n) {
//!         out[i] = a * x[i] + y[i];
//!     }
//! }
//! ```
//!
//! `src/main.rs` is:
//!
//! ```ignore
//! mod kernels {
//!     clbake::include_kernels!(); // the bundle build.rs wrote, and a typed method per kernel
//! }
//!
//! use clbake::{Buffer, ReadOnly, Session, WriteOnly};
//!
//! fn main() -> Result<(), clbake::Error> {
//!     let session = Session::from_env()?; // CLBAKE_DEVICE, else the first GPU, else device 0
//!     let k = kernels::Kernels::load(&session)?; // each program is created at its first launch
//!
//!     let n = 1000;
//!     let xs: Vec<f32> = (0..n).map(|i| i as f32).collect();
//!     let x = Buffer::<f32, ReadOnly>::from_slice(&session, &xs)?; // upload
//!     let y = Buffer::<f32, ReadOnly>::from_slice(&session, &vec![1.0; n])?;
//!     let mut out = Buffer::<f32, WriteOnly>::new(&session, n)?; // n zeroed floats
//!
//!     // saxpy(float a, __global const float* x, __global const float* y, __global float* out, int n)
//!     k.saxpy().saxpy(session.queue(), [n], None, 2.0, &x, &y, &mut out, n as i32)?;
//!
//!     let result = out.read(session.queue())?; // blocking: returns once the kernel has written it
//!     println!("out[10] = {}", result[10]);
//!     print!("{}", k.report()); // which path served each program, and why
//!     Ok(())
//! }
//! ```
//! (Not run as a doctest: `include_kernels!` needs a build script's `OUT_DIR`. It is the
//! guide's section 2, which `scripts/guide-check.sh` builds and runs.) `cargo doc --open` in
//! your crate shows the methods generated for your kernels, each with the kernel's OpenCL
//! signature.
//!
//! # Typed calls
//! Every kernel method takes `(queue, global, local, args...)`: the kernel's parameters as Rust
//! types ([`launch`] has the table). `__global const T*` is `&Buffer<T, ReadOnly>` (or
//! `ReadWrite`), `__global T*` is `&mut Buffer<T, WriteOnly>` (or `ReadWrite`), `int` is
//! `i32`, `float4` is `[f32; 4]`, `half` is `Half`, `__local T*` is `Local<T>`, images are
//! `Image2d<A>` and its kin, `sampler_t` is `&Sampler` (see [`Buffer`], [`ReadOnly`],
//! [`WriteOnly`], [`ReadWrite`], [`Half`], [`Local`], [`Image2d`], [`Sampler`]). rustc
//! checks argument count, order, types and access; at run time each argument is checked again
//! against the parameter this device's driver reports. A file's `// clbake:variant` lines
//! give an enum that selects the build variant (`k.reduce(Reduce::Max).reduce(..)`). With
//! `local = None` a launch uses the kernel's required work-group size, else the one `clbake
//! bake --tune` measured for the device, else the driver's choice.
//!
//! What no check can see is the kernel's own indexing: buffer sizes against the indices a
//! kernel computes from its size arguments and the work sizes are the caller's contract, as
//! each generated method's `# Contract` section says.
//!
//! A kernel whose parameters clbake cannot type (a `struct` parameter) gets no method and a
//! build warning naming the reason; [`KernelSet::launch`], reached through `Kernels::set()`, is
//! the escape hatch for it, its arguments checked at run time.
//!
//! # Loading
//! `Kernels::load` parses the bundle and opens the disk cache; each program is created the
//! first time one of its kernels is launched. `Kernels::load_eager` creates them all up front,
//! `Kernels::preload` some; `Kernels::with_options` takes explicit [`LoadOptions`]
//! (`LoadOptions::from_env` reads `CLBAKE_EMBEDDED`, `CLBAKE_JOBS`, `CLBAKE_CACHE_DIR`,
//! `CLBAKE_CHECK`), `Kernels::with_bundle` a bundle baked on a board
//! ([`Embedded::replaced_by`]). `Kernels` is `Send + Sync` and [`Session`] a cheap clone.
//! `Kernels::report` returns the [`LoadReport`]: which path (embedded, cache, source) served each
//! program, and why earlier paths missed.
//!
//! # Errors
//! Loading and launching return one error type, [`Error`]. Each variant prints as one line that
//! names the cause and the fix. Misses of a binary path are not errors: the program falls back
//! to source and the miss is in the load report.
//!
//! # Trust
//! Embedded binaries are verified (xxh3-128 of the uncompressed bytes, bounded zstd
//! decompression) before any byte reaches the driver, and their known answers (the outputs of
//! the `// clbake:launch` lines, recorded at bake time) are replayed once per device; every
//! failure of the binary path — corrupt bytes, another device, driver library or process ABI, a
//! driver that rejects the binary or computes other results — falls back to source. A process
//! that dies while the driver loads a binary leaves a crash sentinel: the next start skips that
//! binary. Disk cache entries are used only when owned by the user, not writable by others,
//! intact and built for this very device and program; see [`cache`].
//!
//! # Logging
//! clbake logs through the [`log`] crate (what each program's load did, misses, cache
//! events): install a logger (`env_logger`, ...) to see them. Without one, a start-up that
//! had to compile programs from source prints one summary line on stderr, so that a slow
//! start on a board says why; `CLBAKE_LOG=off` silences it.
//!
//! # Features
//! `test-hooks` (off): environment variables that make a process fail as a crashing driver
//! would, for clbake's own fault-injection tests. Never enable it in an application.
//!
//! The guide, `docs/GUIDE.md` in the repository, walks the whole flow (an existing kernel
//! library, launch and tuning lines, the load report, every `CLBAKE_*` variable, cross builds,
//! baking on the board with [`selfbake`]); `examples/hello-kernels` is the finished crate.
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
pub mod selfbake;
mod session;

pub use buffer::{Access, Buffer, KernelReads, KernelWrites, ReadOnly, ReadWrite, WriteOnly};
pub use clbake_core as core;
pub use clbake_core::cl::DeviceSelector;
pub use clbake_core::Fingerprint;
pub use clbake_macros::{include_kernels, include_model};
pub use embedded::{AnyProgram, Embedded, ProgramId};
pub use error::Error;
/// `half`: OpenCL's 16-bit float, as the `half` crate's type (what safetensors and candle use).
pub use half::f16 as Half;
pub use image::{
    Addressing, D1Array, D2Array, Dims, Filter, Image, Image1d, Image1dArray, Image2d, Image2dArray, Image3d, Pixel, Sampler, Unorm16,
    Unorm8, D1, D2, D3,
};
pub use launch::{Launch, Local, Scalar, Tuned, Tuning, WorkSize};
pub use load::write_misses;
pub use load::{
    binary_threads, CacheEvent, CacheEventKind, CacheReport, CacheState, KernelSet, LoadOptions, LoadPath, LoadReport, Miss, MissReason,
    ProgramReport, MIN_BINARY_THREADS,
};
pub use model::{Element, Tensor, TensorInfo};
/// The OpenCL bindings clbake is built on; its queue and event types appear in launches.
pub use opencl3;
/// An OpenCL command queue (what launches and buffer transfers take: `session.queue()`).
pub use opencl3::command_queue::CommandQueue as Queue;
/// An OpenCL event (what a launch returns).
pub use opencl3::event::Event;
pub use session::Session;

#[doc(hidden)]
pub mod __private {
    pub use include_bytes_aligned::include_bytes_aligned;
}
