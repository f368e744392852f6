//! clbake-core: the parts of clbake shared by build scripts, the proc macros and the runtime.
//!
//! Most users meet this crate as the build-dependency of a crate that embeds OpenCL kernels;
//! its whole `build.rs` is `clbake_core::build::bake_kernels("kernels")` (feature `opencl`).
//! Below, the bundle format itself: a `.clbk` written and read back, a binary found by
//! device fingerprint and verified before use.
//!
//! ```
//! use clbake_core::format::{Bundle, BundleWriter, ProgramSpec};
//! use clbake_core::Fingerprint;
//!
//! let device = Fingerprint { device_name: "Mali-G52".into(), driver_version: "r40p0".into(), ..Default::default() };
//! let mut writer = BundleWriter::new();
//! let saxpy = writer.add_program(&ProgramSpec::simple("saxpy", "", &["saxpy"], "__kernel void saxpy() {}"));
//! writer.add_binary(saxpy, &device, b"the driver's program binary", &[]); // no known answers
//! let bytes = writer.to_bytes();
//!
//! let bundle = Bundle::parse(&bytes)?; // checks header, tables and their checksum; never panics
//! assert_eq!(bundle.programs()[0].name, "saxpy");
//! let binary = bundle.find_binary(saxpy, &device.hash()).expect("a binary for this device");
//! assert_eq!(binary.decompress()?, b"the driver's program binary"); // checksum verified
//! assert_eq!(bundle.programs()[0].source()?, "__kernel void saxpy() {}");
//! # Ok::<(), clbake_core::format::FormatError>(())
//! ```
//!
//! # Modules
//! - [`format`](mod@format): the bundle (`Bundle::parse`, `BundleWriter`, `scan`, `section`).
//! - [`fingerprint`], [`hash`]: what identifies a device and a program version.
//! - [`source`]: kernel discovery, `#include` expansion, `// clbake:variant` lines.
//! - [`clc`]: reading OpenCL C (a preprocessor, kernel signatures) and clbake's `// clbake:` lines.
//! - [`pocl`]: the work-group functions a PoCL binary holds.
//! - `cl` and `build` (feature `opencl`): probe devices, compile, capture binaries, bake;
//!   the build-script entry point.
//!
//! # Features
//! - `opencl` (off by default): everything that talks to an OpenCL driver, through
//!   `opencl3` with run-time loading (a binary starts without OpenCL and reports it). The
//!   proc macros need only the format, so they build without it.
#![deny(missing_docs)]

pub mod atomic;
pub mod cache_entry;
pub mod clc;
pub mod env;
pub mod fingerprint;
pub mod format;
pub mod hash;
pub mod pocl;
pub mod source;
pub mod wire;

#[cfg(feature = "opencl")]
pub mod bake;
#[cfg(feature = "opencl")]
pub mod build;
#[cfg(feature = "opencl")]
pub mod cl;

pub use fingerprint::Fingerprint;
pub use hash::Hash128;
