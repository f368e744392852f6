//! Kernel arguments made from a declared launch shape (`// clbake:tune`, `// clbake:launch`):
//! zero-filled buffers of the declared element counts, `__local` sizes and scalar values.

use super::ClError;
use crate::half::Half as F16;
use crate::signature::{AddressSpace, KernelSignature, ParamType, ScalarKind, ValueType};
use crate::tune::TuneValue;
use opencl3::context::Context;
use opencl3::kernel::Kernel;
use opencl3::memory::{Buffer, ClMem, CL_MEM_COPY_HOST_PTR, CL_MEM_READ_WRITE};
use std::ffi::c_void;

/// The buffers of a kernel's arguments, kept alive while the kernel may run.
pub struct ShapeArgs {
    _buffers: Vec<Buffer<u8>>,
}

/// Sets every argument of `kernel` from `values` (one per parameter of `sig`, as
/// [`crate::tune::TuneShape::evaluate`] returns them): pointers get a new zero-filled buffer
/// of that many elements, `__local` pointers that many elements of local memory, scalars
/// their value. Image and sampler parameters are refused (`CL_INVALID_ARG_VALUE`), and so is
/// a buffer larger than the device's `CL_DEVICE_MAX_MEM_ALLOC_SIZE` (`CL_INVALID_BUFFER_SIZE`).
pub fn set_shape_args(context: &Context, kernel: &Kernel, sig: &KernelSignature, values: &[TuneValue]) -> Result<ShapeArgs, ClError> {
    let mut buffers = Vec::new();
    let max_alloc = context
        .devices()
        .iter()
        .map(|&d| opencl3::device::Device::new(d).max_mem_alloc_size().unwrap_or(u64::MAX))
        .min()
        .unwrap_or(u64::MAX);
    for (i, (param, value)) in sig.params.iter().zip(values).enumerate() {
        let i = i as u32;
        let count = match value {
            TuneValue::Int(n) => usize::try_from(*n).unwrap_or(0),
            TuneValue::Float(_) => 0,
        };
        match &param.ty {
            ParamType::Pointer { space: AddressSpace::Local, elem, .. } => {
                // SAFETY: a __local argument takes a byte size and no pointer.
                unsafe { kernel.set_arg_local_buffer(i, count * elem.size()) }.map_err(ClError::api("clSetKernelArg"))?;
            }
            ParamType::Pointer { elem, .. } => {
                // Refused before any host memory is allocated: a size that overflows, or one
                // over the device's largest allocation.
                let bytes = count.checked_mul(elem.size()).ok_or(ClError::Api { call: "clCreateBuffer", code: opencl3::error_codes::CL_INVALID_BUFFER_SIZE })?.max(1);
                if bytes as u64 > max_alloc {
                    return Err(ClError::Api { call: "clCreateBuffer", code: opencl3::error_codes::CL_INVALID_BUFFER_SIZE });
                }
                let zeros = vec![0u8; bytes];
                // SAFETY: COPY_HOST_PTR copies `zeros.len()` bytes from a live vector during the call.
                let buf = unsafe { Buffer::<u8>::create(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, zeros.len(), zeros.as_ptr() as *mut c_void) }
                    .map_err(ClError::api("clCreateBuffer"))?;
                // SAFETY: the handle of a live buffer, kept alive in `ShapeArgs`.
                unsafe { kernel.set_arg(i, &buf.get()) }.map_err(ClError::api("clSetKernelArg"))?;
                buffers.push(buf);
            }
            ParamType::Value(t) => {
                let bytes = value_bytes(*t, *value);
                // SAFETY: `bytes` holds exactly the OpenCL size of the parameter's type.
                unsafe { opencl3::kernel::set_kernel_arg(kernel.get(), i, bytes.len(), bytes.as_ptr() as *const c_void) }
                    .map_err(|code| ClError::Api { call: "clSetKernelArg", code })?;
            }
            ParamType::Image { .. } | ParamType::Sampler => {
                return Err(ClError::Api { call: "clSetKernelArg", code: opencl3::error_codes::CL_INVALID_ARG_VALUE });
            }
        }
    }
    Ok(ShapeArgs { _buffers: buffers })
}

/// The bytes of `value` as an OpenCL value of type `t` (every vector component the same).
pub fn value_bytes(t: ValueType, value: TuneValue) -> Vec<u8> {
    use ScalarKind::*;
    let (i, f) = match value {
        TuneValue::Int(i) => (i, i as f64),
        TuneValue::Float(f) => (f as i64, f),
    };
    let one: Vec<u8> = match t.scalar {
        Char | UChar => vec![i as u8],
        Short | UShort => (i as u16).to_le_bytes().to_vec(),
        Half => F16::from_f32(f as f32).to_bits().to_le_bytes().to_vec(),
        Int | UInt => (i as u32).to_le_bytes().to_vec(),
        Float => (f as f32).to_le_bytes().to_vec(),
        Long | ULong => i.to_le_bytes().to_vec(),
        Double => f.to_le_bytes().to_vec(),
    };
    one.repeat(t.storage_width())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_the_opencl_size() {
        let v = |scalar, width| ValueType { scalar, width };
        assert_eq!(value_bytes(v(ScalarKind::Int, 1), TuneValue::Int(-2)), (-2i32).to_le_bytes());
        assert_eq!(value_bytes(v(ScalarKind::Float, 3), TuneValue::Float(0.5)).len(), 16);
        assert_eq!(value_bytes(v(ScalarKind::Double, 2), TuneValue::Int(3)), [3f64.to_le_bytes(), 3f64.to_le_bytes()].concat());
        assert_eq!(value_bytes(v(ScalarKind::Half, 1), TuneValue::Float(1.0)), [0x00, 0x3c]);
        assert_eq!(value_bytes(v(ScalarKind::UChar, 16), TuneValue::Int(7)), [7u8; 16]);
    }
}
