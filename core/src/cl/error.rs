//! The error enum of the OpenCL boundary.

use std::path::PathBuf;

/// Failures of OpenCL calls made by clbake-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClError {
    /// The OpenCL loader library (`libOpenCL.so.1`) could not be opened.
    #[error("no OpenCL runtime: libOpenCL.so.1 could not be loaded (install an ICD loader and a driver, e.g. `apt-get install ocl-icd-libopencl1 pocl-opencl-icd`)")]
    NoRuntime,
    /// The runtime loaded but reports no platform or no device.
    #[error("no OpenCL device found (is a driver installed? e.g. `apt-get install pocl-opencl-icd`; check with `clinfo -l`)")]
    NoDevice,
    /// A device index asked for does not exist.
    #[error("OpenCL device {index} does not exist ({count} device(s) found; list them with `clbake devices`)")]
    NoSuchDevice {
        /// The index asked for.
        index: usize,
        /// How many devices exist.
        count: usize,
    },
    /// An OpenCL API call failed.
    #[error("{call} failed: {}", code_name(*.code))]
    Api {
        /// The call, e.g. `clCreateContext`.
        call: &'static str,
        /// The OpenCL error code.
        code: i32,
    },
    /// A program failed to build from source; carries the driver's log.
    #[error("program `{program}` failed to build for {device} (options `{options}`):\n{log}")]
    Build {
        /// Program name.
        program: String,
        /// The kernel file it came from, when known.
        file: Option<PathBuf>,
        /// Build options used.
        options: String,
        /// Device description.
        device: String,
        /// The driver's build log (file and line of each error are in it).
        log: String,
    },
    /// A `// clbake:launch` or `// clbake:tune` line cannot be used with its program.
    #[error("{}: program `{program}`, line {line}: {problem}", file.display())]
    Declaration {
        /// Program name.
        program: String,
        /// The kernel file it came from.
        file: PathBuf,
        /// Line of that file.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// Build options or a kernel name contain a NUL byte and cannot be passed to the driver.
    #[error("{what} contains a NUL byte")]
    Nul {
        /// What held the NUL byte.
        what: &'static str,
    },
}

impl ClError {
    /// Wraps an opencl3 error code with the name of the call that returned it.
    pub fn api(call: &'static str) -> impl FnOnce(opencl3::error_codes::ClError) -> ClError {
        move |e| ClError::Api { call, code: e.0 }
    }
}

/// Symbolic name of an OpenCL error code, e.g. `CL_INVALID_BINARY (-42)`.
pub fn code_name(code: i32) -> String {
    format!("{} ({code})", opencl3::error_codes::error_text(code))
}
