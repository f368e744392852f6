//! Kernel arguments made from a declared launch shape (`// clbake:tune`, `// clbake:launch`):
//! buffers of the declared element counts filled with deterministic values, `__local` sizes
//! and scalar values. The bake and the runtime's known-answer replay fill them alike, so a
//! launch computes the same outputs in both.

use super::ClError;
use crate::clc::directives::TuneValue;
use crate::clc::{AddressSpace, ParamInfo, ParamType, ScalarKind, ValueType};
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::kernel::Kernel;
use opencl3::memory::{Buffer, ClMem, CL_MEM_COPY_HOST_PTR, CL_MEM_READ_WRITE};
use opencl3::types::CL_BLOCKING;
use std::ffi::c_void;

/// The buffers of a kernel's arguments, kept alive while the kernel may run, with what is
/// needed to read the outputs back.
pub struct ShapeArgs {
    buffers: Vec<(u32, Buffer<u8>, bool)>,
}

impl ShapeArgs {
    /// Reads back every buffer the kernel may write (non-`const` `__global` pointers), as
    /// (parameter index, bytes), in parameter order. Blocking.
    pub fn outputs(&self, queue: &CommandQueue) -> Result<Vec<(u32, Vec<u8>)>, ClError> {
        let mut out = Vec::new();
        for (param, buf, written) in &self.buffers {
            if !written {
                continue;
            }
            let len = buf.size().map_err(ClError::api("clGetMemObjectInfo"))?;
            let mut bytes = vec![0u8; len];
            // SAFETY: a blocking read of `len` bytes (the buffer's size) into a live vector
            // of that length.
            unsafe { queue.enqueue_read_buffer(buf, CL_BLOCKING, 0, &mut bytes, &[]) }.map_err(ClError::api("clEnqueueReadBuffer"))?;
            out.push((*param, bytes));
        }
        Ok(out)
    }
}

/// The deterministic contents of buffer parameter `param` of a launch filled with `seed`:
/// floating-point elements pseudo-random in [-4, 4) (so that activations such as relu6 are
/// exercised), integer elements zero (index buffers stay in bounds).
pub fn fill(elem: ValueType, count: usize, seed: u64, param: u32) -> Vec<u8> {
    let bytes = count.saturating_mul(elem.size());
    if !elem.scalar.is_float() {
        return vec![0u8; bytes];
    }
    let mut x = seed ^ (u64::from(param) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        // xorshift64*, values in [-4, 4) on a grid of 1/1024 (exact in every float width).
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 51; // 13 bits
        (v as f64 - 4096.0) / 1024.0
    };
    let lanes = count.saturating_mul(elem.storage_width());
    let mut out = Vec::with_capacity(bytes);
    for _ in 0..lanes {
        let v = next();
        match elem.scalar {
            ScalarKind::Half => out.extend_from_slice(&half::f16::from_f64(v).to_le_bytes()),
            ScalarKind::Double => out.extend_from_slice(&v.to_le_bytes()),
            _ => out.extend_from_slice(&(v as f32).to_le_bytes()),
        }
    }
    out
}

/// Sets every argument of `kernel` from `values` (one per parameter, as
/// [`TuneShape::evaluate`](crate::clc::directives::TuneShape::evaluate) returns them):
/// pointers get a new buffer of that many elements filled by [`fill`] with `seed`, `__local`
/// pointers that many elements of local memory, scalars their value. Image and sampler
/// parameters are refused (`CL_INVALID_ARG_VALUE`), and so is a buffer larger than the
/// device's `CL_DEVICE_MAX_MEM_ALLOC_SIZE` (`CL_INVALID_BUFFER_SIZE`), before anything is
/// allocated.
pub fn set_shape_args(
    context: &Context,
    kernel: &Kernel,
    params: &[ParamInfo],
    values: &[TuneValue],
    seed: u64,
) -> Result<ShapeArgs, ClError> {
    let mut buffers = Vec::new();
    let max_alloc = context
        .devices()
        .iter()
        .map(|&d| opencl3::device::Device::new(d).max_mem_alloc_size().unwrap_or(u64::MAX))
        .min()
        .unwrap_or(u64::MAX);
    let invalid = |code| ClError::Api { call: "clSetKernelArg", code };
    for (i, (param, value)) in params.iter().zip(values).enumerate() {
        let i = i as u32;
        let count = match value {
            TuneValue::Int(n) => usize::try_from(*n).unwrap_or(0),
            TuneValue::Float(_) => 0,
        };
        let ty = crate::clc::classify(param).map_err(|_| invalid(opencl3::error_codes::CL_INVALID_ARG_VALUE))?;
        match ty {
            ParamType::Pointer { space: AddressSpace::Local, elem, .. } => {
                // SAFETY: a __local argument takes a byte size and no pointer.
                unsafe { kernel.set_arg_local_buffer(i, count * elem.size()) }.map_err(ClError::api("clSetKernelArg"))?;
            }
            ParamType::Pointer { elem, is_const, .. } => {
                let too_big = || ClError::Api { call: "clCreateBuffer", code: opencl3::error_codes::CL_INVALID_BUFFER_SIZE };
                let bytes = count.checked_mul(elem.size()).ok_or_else(too_big)?.max(1);
                if bytes as u64 > max_alloc {
                    return Err(too_big());
                }
                let mut data = fill(elem, count, seed, i);
                data.resize(bytes, 0);
                // SAFETY: COPY_HOST_PTR copies `data.len()` bytes from a live vector during the call.
                let buf = unsafe {
                    Buffer::<u8>::create(context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, data.len(), data.as_mut_ptr() as *mut c_void)
                }
                .map_err(ClError::api("clCreateBuffer"))?;
                // SAFETY: the handle of a live buffer, kept alive in `ShapeArgs`.
                unsafe { kernel.set_arg(i, &buf.get()) }.map_err(ClError::api("clSetKernelArg"))?;
                buffers.push((i, buf, !is_const));
            }
            ParamType::Value(t) => {
                let bytes = value_bytes(t, *value);
                // SAFETY: `bytes` holds exactly the OpenCL size of the parameter's type.
                unsafe { opencl3::kernel::set_kernel_arg(kernel.get(), i, bytes.len(), bytes.as_ptr() as *const c_void) }
                    .map_err(invalid)?;
            }
            ParamType::Image { .. } | ParamType::Sampler => return Err(invalid(opencl3::error_codes::CL_INVALID_ARG_VALUE)),
        }
    }
    Ok(ShapeArgs { buffers })
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
        Half => half::f16::from_f64(f).to_le_bytes().to_vec(),
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

    fn v(scalar: ScalarKind, width: u8) -> ValueType {
        ValueType { scalar, width }
    }

    #[test]
    fn values_have_the_opencl_size() {
        assert_eq!(value_bytes(v(ScalarKind::Int, 1), TuneValue::Int(-2)), (-2i32).to_le_bytes());
        assert_eq!(value_bytes(v(ScalarKind::Float, 3), TuneValue::Float(0.5)).len(), 16);
        assert_eq!(value_bytes(v(ScalarKind::Double, 2), TuneValue::Int(3)), [3f64.to_le_bytes(), 3f64.to_le_bytes()].concat());
        assert_eq!(value_bytes(v(ScalarKind::Half, 1), TuneValue::Float(1.0)), [0x00, 0x3c]);
        assert_eq!(value_bytes(v(ScalarKind::UChar, 16), TuneValue::Int(7)), [7u8; 16]);
    }

    #[test]
    fn fills_are_deterministic_distinct_per_parameter_and_zero_for_integers() {
        let f = v(ScalarKind::Float, 1);
        let a = fill(f, 1000, 7, 0);
        assert_eq!(a, fill(f, 1000, 7, 0));
        assert_ne!(a, fill(f, 1000, 7, 1));
        assert_ne!(a, fill(f, 1000, 8, 0));
        let floats: Vec<f32> = a.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        assert!(floats.iter().all(|x| (-4.0..4.0).contains(x)));
        assert!(floats.iter().any(|&x| x > 3.0) && floats.iter().any(|&x| x < -3.0), "the range is used");
        assert_eq!(fill(v(ScalarKind::Int, 4), 3, 7, 0), vec![0u8; 48]);
        assert_eq!(fill(v(ScalarKind::Half, 1), 5, 1, 0).len(), 10);
        assert_eq!(fill(v(ScalarKind::Float, 3), 2, 1, 0).len(), 32, "float3 is stored as float4");
    }
}
