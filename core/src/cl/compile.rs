//! Building programs from source or binary, creating kernels and capturing binaries.

use super::ClError;
use opencl3::context::Context;
use opencl3::kernel::Kernel;
use opencl3::program::Program;
use opencl3::types::cl_device_id;

/// A built program with every kernel created (some drivers, Mali among them, compile
/// lazily at `clCreateKernel`; a binary is only complete after that).
pub struct BuiltProgram {
    /// The program.
    pub program: Program,
    /// Every kernel of the program, by name, in the order the driver lists them.
    pub kernels: Vec<(String, Kernel)>,
}

fn check_nul(s: &str, what: &'static str) -> Result<(), ClError> {
    if s.contains('\0') {
        Err(ClError::Nul { what })
    } else {
        Ok(())
    }
}

/// Compiles `source` for `device` (which must belong to `context`) and creates its kernels.
/// A build failure returns [`ClError::Build`] with the driver's log.
pub fn build_from_source(
    context: &Context,
    device: cl_device_id,
    name: &str,
    source: &str,
    options: &str,
) -> Result<BuiltProgram, ClError> {
    check_nul(options, "build options")?;
    check_nul(source, "program source")?;
    let mut program = Program::create_from_source(context, source).map_err(ClError::api("clCreateProgramWithSource"))?;
    if let Err(e) = program.build(&[device], options) {
        let log = program.get_build_log(device).unwrap_or_default();
        let device_name = opencl3::device::Device::new(device).name().unwrap_or_default();
        let log = if log.trim().is_empty() { super::code_name(e.0) } else { log };
        return Err(ClError::Build { program: name.to_string(), file: None, options: options.to_string(), device: device_name, log });
    }
    create_all_kernels(program)
}

/// Creates a program from a binary the caller has already verified, builds it and creates
/// its kernels. Any failure is an error the caller treats as a miss.
///
/// # Trust
/// Drivers may crash on malformed binaries (PoCL asserts on truncated ones): only pass bytes
/// whose checksum was verified.
pub fn build_from_binary(
    context: &Context,
    device: cl_device_id,
    binary: &[u8],
    options: &str,
) -> Result<BuiltProgram, ClError> {
    check_nul(options, "build options")?;
    if binary.is_empty() {
        return Err(ClError::Api { call: "clCreateProgramWithBinary", code: opencl3::error_codes::CL_INVALID_BINARY });
    }
    // SAFETY: `device` belongs to `context` (callers create the context from that device).
    let mut program = unsafe { Program::create_from_binary(context, &[device], &[binary]) }
        .map_err(ClError::api("clCreateProgramWithBinary"))?;
    program.build(&[device], options).map_err(ClError::api("clBuildProgram"))?;
    create_all_kernels(program)
}

/// Creates every kernel of a built program.
pub fn create_all_kernels(program: Program) -> Result<BuiltProgram, ClError> {
    let names = program.get_kernel_names().map_err(ClError::api("clGetProgramInfo(CL_PROGRAM_KERNEL_NAMES)"))?;
    let mut kernels = Vec::new();
    for name in names.trim_end_matches('\0').split(';').map(str::trim).filter(|n| !n.is_empty()) {
        let kernel = Kernel::create(&program, name).map_err(ClError::api("clCreateKernel"))?;
        kernels.push((name.to_string(), kernel));
    }
    Ok(BuiltProgram { program, kernels })
}

/// The binary of a program built for exactly one device.
pub fn capture_binary(program: &Program) -> Result<Vec<u8>, ClError> {
    let mut binaries = program.get_binaries().map_err(ClError::api("clGetProgramInfo(CL_PROGRAM_BINARIES)"))?;
    match binaries.pop() {
        Some(b) if !b.is_empty() => Ok(b),
        _ => Err(ClError::Api { call: "clGetProgramInfo(CL_PROGRAM_BINARIES)", code: opencl3::error_codes::CL_INVALID_PROGRAM }),
    }
}
