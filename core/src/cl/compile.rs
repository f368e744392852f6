//! Building programs from source or binary, creating kernels, reading their signatures from
//! the driver, enqueuing, and capturing binaries.

use super::ClError;
use crate::clc::{AccessQualifier, AddressQualifier, ParamInfo, TypeQualifiers};
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::event::Event;
use opencl3::kernel::Kernel;
use opencl3::program::Program;
use opencl3::types::cl_device_id;

/// Appended to every program's build options, for source and binary builds alike: the
/// driver then reports each kernel's parameters (`clGetKernelArgInfo`), which the bake
/// stores for the typed API and the runtime uses to check untyped launches. It changes no
/// code (on PoCL 3.1: 116 more bytes of metadata in a 48 KB binary, the same load time).
pub const ARG_INFO: &str = "-cl-kernel-arg-info";

/// The options the driver gets for a program built with `options`.
pub fn driver_options(options: &str) -> String {
    if options.is_empty() {
        ARG_INFO.to_string()
    } else {
        format!("{options} {ARG_INFO}")
    }
}

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

/// Compiles `source` for `device` (which must belong to `context`) with `options` (plus
/// [`ARG_INFO`]) and creates its kernels. A build failure returns [`ClError::Build`] with
/// the driver's log.
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
    if let Err(e) = program.build(&[device], &driver_options(options)) {
        let log = program.get_build_log(device).unwrap_or_default();
        let device_name = opencl3::device::Device::new(device).name().unwrap_or_default();
        let log = if log.trim().is_empty() { super::code_name(e.0) } else { log };
        return Err(ClError::Build { program: name.to_string(), file: None, options: options.to_string(), device: device_name, log });
    }
    create_all_kernels(program)
}

/// Creates a program from a binary the caller has already verified, builds it (with
/// `options` plus [`ARG_INFO`]) and creates its kernels. Any failure is an error the caller
/// treats as a miss.
///
/// # Trust
/// Drivers may crash on malformed binaries (PoCL asserts on truncated ones): only pass bytes
/// whose checksum was verified.
pub fn build_from_binary(context: &Context, device: cl_device_id, binary: &[u8], options: &str) -> Result<BuiltProgram, ClError> {
    check_nul(options, "build options")?;
    if binary.is_empty() {
        return Err(ClError::Api { call: "clCreateProgramWithBinary", code: opencl3::error_codes::CL_INVALID_BINARY });
    }
    // SAFETY: `device` belongs to `context` (callers create the context from that device).
    let mut program =
        unsafe { Program::create_from_binary(context, &[device], &[binary]) }.map_err(ClError::api("clCreateProgramWithBinary"))?;
    program.build(&[device], &driver_options(options)).map_err(ClError::api("clBuildProgram"))?;
    create_all_kernels(program)
}

/// Creates every kernel of a built program.
pub fn create_all_kernels(program: Program) -> Result<BuiltProgram, ClError> {
    // Asked for the names of a program without kernels, some drivers (PoCL 3.1) answer
    // with bytes that are not an empty list.
    if program.get_num_kernels().map_err(ClError::api("clGetProgramInfo(CL_PROGRAM_NUM_KERNELS)"))? == 0 {
        return Ok(BuiltProgram { program, kernels: Vec::new() });
    }
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

/// The parameters of `kernel` as the driver reports them (the program must have been built
/// with [`ARG_INFO`]). `Err` with the OpenCL code when the driver has no argument info
/// (`CL_KERNEL_ARG_INFO_NOT_AVAILABLE`) or reports something clbake does not know.
pub fn kernel_params(kernel: &Kernel) -> Result<Vec<ParamInfo>, i32> {
    let n = kernel.num_args().map_err(|e| e.0)?;
    (0..n)
        .map(|i| {
            let address = kernel.get_arg_address_qualifier(i).map_err(|e| e.0)?;
            let access = kernel.get_arg_access_qualifier(i).map_err(|e| e.0)?;
            let type_qualifiers = kernel.get_arg_type_qualifier(i).map_err(|e| e.0)?;
            let type_name = kernel.get_arg_type_name(i).map_err(|e| e.0)?;
            let name = kernel.get_arg_name(i).map_err(|e| e.0)?;
            let invalid = opencl3::error_codes::CL_INVALID_VALUE;
            Ok(ParamInfo {
                name: name.trim_end_matches('\0').to_string(),
                address: AddressQualifier::from_cl(address).ok_or(invalid)?,
                access: AccessQualifier::from_cl(access).ok_or(invalid)?,
                type_name: type_name.trim_end_matches('\0').trim().to_string(),
                type_qualifiers: TypeQualifiers(u32::try_from(type_qualifiers).map_err(|_| invalid)?),
            })
        })
        .collect()
}

/// `CL_KERNEL_COMPILE_WORK_GROUP_SIZE` of `kernel` on `device`, when not all zero.
pub fn required_size(kernel: &Kernel, device: cl_device_id) -> Option<[usize; 3]> {
    let v = kernel.get_compile_work_group_size(device).ok()?;
    let mut out = [1usize; 3];
    for (o, x) in out.iter_mut().zip(&v) {
        *o = *x;
    }
    (v.len() == 3 && v.iter().all(|&x| x > 0)).then_some(out)
}

/// Enqueues `kernel` (whose arguments are set) on `queue` with `global` and `local` sizes
/// of 1 to 3 dimensions (`local` as long as `global`, or `None` for the driver's choice).
pub fn enqueue(queue: &CommandQueue, kernel: &Kernel, global: &[usize], local: Option<&[usize]>) -> Result<Event, ClError> {
    let bad = ClError::Api { call: "clEnqueueNDRangeKernel", code: opencl3::error_codes::CL_INVALID_WORK_DIMENSION };
    if !(1..=3).contains(&global.len()) || local.is_some_and(|l| l.len() != global.len()) {
        return Err(bad);
    }
    let local_ptr = local.map_or(std::ptr::null(), <[usize]>::as_ptr);
    // SAFETY: `kernel` is live and borrowed; `global` and `local` point to `global.len()`
    // (1 to 3, checked above) sizes that outlive the call; no offsets, no events to wait for.
    // A missing argument is reported by the driver (CL_INVALID_KERNEL_ARGS).
    unsafe { queue.enqueue_nd_range_kernel(kernel.get(), global.len() as u32, std::ptr::null(), global.as_ptr(), local_ptr, &[]) }
        .map_err(ClError::api("clEnqueueNDRangeKernel"))
}
