//! Small safe helpers for moving host slices to and from device buffers.

use clbake_core::cl::ClError;
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::memory::{Buffer, CL_MEM_COPY_HOST_PTR, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::types::CL_BLOCKING;
use std::ffi::c_void;

/// A read-only device buffer initialised from `data` — for embedded weights, straight from
/// the executable's bytes with no heap copy on the host.
pub fn upload<T: crate::Element>(context: &Context, data: &[T]) -> Result<Buffer<T>, ClError> {
    if data.is_empty() {
        return Err(ClError::Api { call: "clCreateBuffer", code: opencl3::error_codes::CL_INVALID_BUFFER_SIZE });
    }
    // SAFETY: CL_MEM_COPY_HOST_PTR copies `data.len()` elements during the call; the pointer
    // is valid for that many and the driver does not write through it.
    unsafe { Buffer::<T>::create(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, data.len(), data.as_ptr() as *mut c_void) }
        .map_err(ClError::api("clCreateBuffer"))
}

/// An uninitialised read-write device buffer of `len` elements.
pub fn scratch<T: crate::Element>(context: &Context, len: usize) -> Result<Buffer<T>, ClError> {
    // SAFETY: no host pointer is passed.
    unsafe { Buffer::<T>::create(context, CL_MEM_READ_WRITE, len.max(1), std::ptr::null_mut()) }.map_err(ClError::api("clCreateBuffer"))
}

/// Blocking read of a whole buffer into `out` (which must hold exactly the buffer's length).
pub fn download<T: crate::Element>(queue: &CommandQueue, buffer: &Buffer<T>, out: &mut [T]) -> Result<(), ClError> {
    // SAFETY: blocking read into a live, exclusively borrowed slice; OpenCL checks the size
    // against the buffer and fails with CL_INVALID_VALUE rather than overrun.
    unsafe { queue.enqueue_read_buffer(buffer, CL_BLOCKING, 0, out, &[]) }.map(drop).map_err(ClError::api("clEnqueueReadBuffer"))
}
