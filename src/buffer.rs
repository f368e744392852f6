//! [`Buffer`]: device memory of elements of one OpenCL type, with what a kernel may do with
//! it in its type: a [`ReadOnly`] buffer cannot be passed where the kernel writes (a compile
//! error in a typed call, an [`Error::Argument`] in an untyped one).
//!
//! ```no_run
//! # fn main() -> Result<(), clbake::Error> {
//! use clbake::{Buffer, ReadOnly, ReadWrite, WriteOnly};
//! let session = clbake::Session::from_env()?;
//! let x: Buffer<f32, ReadOnly> = Buffer::from_slice(&session, &[1.0, 2.0, 3.0])?; // upload
//! let mut y: Buffer<[f32; 4], WriteOnly> = Buffer::new(&session, 1024)?;        // scratch, zeroed
//! let mut acc: Buffer<i32, ReadWrite> = Buffer::from_slice(&session, &[0; 16])?;  // in and out
//! acc.write_at(session.queue(), 8, &[1, 2, 3])?;                                  // part of it
//! let back: Vec<i32> = acc.read(session.queue())?;                                // all of it
//! let tail = y.read_range(session.queue(), 1000..1024)?;                          // or a range
//! # let _ = (x, back, tail); Ok(()) }
//! ```
//! Reads and writes are blocking: when they return, the host memory may be reused.

use crate::launch::{ArgDesc, KernelArg, Pending, Scalar, Sealed};
use crate::{Error, Session};
use opencl3::command_queue::CommandQueue;
use opencl3::memory::{ClMem, CL_MEM_COPY_HOST_PTR, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE, CL_MEM_WRITE_ONLY};
use opencl3::types::{cl_mem_flags, CL_BLOCKING};
use std::ffi::c_void;
use std::marker::PhantomData;
use std::ops::Range;

/// What kernels may do with a buffer or an image: [`ReadOnly`], [`WriteOnly`] or
/// [`ReadWrite`]. Sealed.
pub trait Access: Sealed + Send + Sync + 'static {
    /// The memory flags the object is created with.
    const FLAGS: cl_mem_flags;
    /// Kernels may read it.
    const READS: bool;
    /// Kernels may write it.
    const WRITES: bool;
}

/// Kernels only read the object (`CL_MEM_READ_ONLY`): inputs, weights.
#[derive(Clone, Copy, Debug)]
pub struct ReadOnly;
/// Kernels only write the object (`CL_MEM_WRITE_ONLY`): outputs.
#[derive(Clone, Copy, Debug)]
pub struct WriteOnly;
/// Kernels read and write the object (`CL_MEM_READ_WRITE`).
#[derive(Clone, Copy, Debug)]
pub struct ReadWrite;

impl Sealed for ReadOnly {}
impl Sealed for WriteOnly {}
impl Sealed for ReadWrite {}
impl Access for ReadOnly {
    const FLAGS: cl_mem_flags = CL_MEM_READ_ONLY;
    const READS: bool = true;
    const WRITES: bool = false;
}
impl Access for WriteOnly {
    const FLAGS: cl_mem_flags = CL_MEM_WRITE_ONLY;
    const READS: bool = false;
    const WRITES: bool = true;
}
impl Access for ReadWrite {
    const FLAGS: cl_mem_flags = CL_MEM_READ_WRITE;
    const READS: bool = true;
    const WRITES: bool = true;
}

/// Access that lets kernels read: what a `const` (or `__constant`) pointer parameter or a
/// `read_only` image takes.
#[diagnostic::on_unimplemented(
    message = "the kernel reads this argument, but it was created `{Self}`",
    label = "the kernel reads this: create it `ReadOnly` or `ReadWrite`",
    note = "the parameter is `const` (or `__constant`, or a `read_only` image) in the kernel's OpenCL signature"
)]
pub trait KernelReads: Access {}
impl KernelReads for ReadOnly {}
impl KernelReads for ReadWrite {}

/// Access that lets kernels write: what a non-`const` `__global` pointer parameter or a
/// `write_only` image takes.
#[diagnostic::on_unimplemented(
    message = "the kernel writes this argument, but it was created `{Self}`",
    label = "the kernel writes this: create it `WriteOnly` or `ReadWrite`",
    note = "the parameter is a non-`const` `__global` pointer (or a `write_only` image) in the kernel's OpenCL signature"
)]
pub trait KernelWrites: Access {}
impl KernelWrites for WriteOnly {}
impl KernelWrites for ReadWrite {}

/// A device buffer of `len` elements of `T`, which kernels may use as `A` says.
pub struct Buffer<T: Scalar, A: Access = ReadWrite> {
    mem: opencl3::memory::Buffer<T>,
    len: usize,
    _access: PhantomData<A>,
}

impl<T: Scalar, A: Access> std::fmt::Debug for Buffer<T, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buffer<{}, {}>[{}]", std::any::type_name::<T>(), std::any::type_name::<A>(), self.len)
    }
}

fn too_long(what: &str, offset: usize, n: usize, len: usize) -> Error {
    Error::Length(format!("{what} of {n} element(s) at offset {offset} does not fit a buffer of {len}"))
}

impl<T: Scalar, A: Access> Buffer<T, A> {
    fn create(session: &Session, len: usize, data: Option<&[T]>) -> Result<Self, Error> {
        if len == 0 {
            return Err(Error::Length("a buffer needs at least one element".into()));
        }
        let bytes = len.checked_mul(std::mem::size_of::<T>()).ok_or_else(|| Error::Length(format!("{len} elements overflow")))?;
        let max = session.device().device().max_mem_alloc_size().unwrap_or(u64::MAX);
        if bytes as u64 > max {
            return Err(Error::Length(format!("{bytes} bytes is more than the device's largest buffer ({max} bytes)")));
        }
        let zeros;
        let init: &[T] = match data {
            Some(d) => d,
            None => {
                zeros = vec![T::zeroed(); len];
                &zeros
            }
        };
        // SAFETY: CL_MEM_COPY_HOST_PTR copies `len` elements from `init`, which holds exactly
        // `len` during the call; the driver does not write through the pointer.
        let mem = unsafe {
            opencl3::memory::Buffer::<T>::create(session.context(), A::FLAGS | CL_MEM_COPY_HOST_PTR, len, init.as_ptr() as *mut c_void)
        }
        .map_err(Error::api("clCreateBuffer"))?;
        Ok(Buffer { mem, len, _access: PhantomData })
    }

    /// A buffer holding a copy of `data`.
    pub fn from_slice(session: &Session, data: &[T]) -> Result<Self, Error> {
        Self::create(session, data.len(), Some(data))
    }

    /// A buffer of `len` zeroed elements.
    pub fn new(session: &Session, len: usize) -> Result<Self, Error> {
        Self::create(session, len, None)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer has no element (never: a buffer has at least one).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Replaces the whole contents with `data` (exactly [`len`](Self::len) elements).
    pub fn write(&mut self, queue: &CommandQueue, data: &[T]) -> Result<(), Error> {
        if data.len() != self.len {
            return Err(Error::Length(format!("writing {} element(s) into a buffer of {}: use write_at for a part", data.len(), self.len)));
        }
        self.write_at(queue, 0, data)
    }

    /// Writes `data` at element `offset`.
    pub fn write_at(&mut self, queue: &CommandQueue, offset: usize, data: &[T]) -> Result<(), Error> {
        if offset.checked_add(data.len()).is_none_or(|end| end > self.len) || data.is_empty() {
            return Err(too_long("a write", offset, data.len(), self.len));
        }
        let at = offset * std::mem::size_of::<T>();
        // SAFETY: a blocking write of `data.len()` elements from a live slice into the range
        // [offset, offset + len) of the buffer, checked to lie inside it above.
        unsafe { queue.enqueue_write_buffer(&mut self.mem, CL_BLOCKING, at, data, &[]) }.map_err(Error::api("clEnqueueWriteBuffer"))?;
        Ok(())
    }

    /// Reads the whole buffer.
    pub fn read(&self, queue: &CommandQueue) -> Result<Vec<T>, Error> {
        self.read_range(queue, 0..self.len)
    }

    /// Reads elements `range`.
    pub fn read_range(&self, queue: &CommandQueue, range: Range<usize>) -> Result<Vec<T>, Error> {
        let mut out = vec![T::zeroed(); range.end.saturating_sub(range.start)];
        self.read_into(queue, range.start, &mut out)?;
        Ok(out)
    }

    /// Reads `out.len()` elements starting at element `offset` into `out`.
    pub fn read_into(&self, queue: &CommandQueue, offset: usize, out: &mut [T]) -> Result<(), Error> {
        if offset.checked_add(out.len()).is_none_or(|end| end > self.len) || out.is_empty() {
            return Err(too_long("a read", offset, out.len(), self.len));
        }
        let at = offset * std::mem::size_of::<T>();
        // SAFETY: a blocking read of `out.len()` elements into a live, exclusively borrowed
        // slice, from a range checked to lie inside the buffer above.
        unsafe { queue.enqueue_read_buffer(&self.mem, CL_BLOCKING, at, out, &[]) }.map_err(Error::api("clEnqueueReadBuffer"))?;
        Ok(())
    }

    /// The OpenCL buffer (for code that uses `opencl3` directly).
    pub fn as_opencl(&self) -> &opencl3::memory::Buffer<T> {
        &self.mem
    }
}

impl<T: Scalar, A: Access> Sealed for &Buffer<T, A> {}
impl<T: Scalar, A: Access> KernelArg for &Buffer<T, A> {
    fn desc(&self) -> ArgDesc {
        ArgDesc::Buffer { elem: T::TYPE, reads: A::READS, writes: A::WRITES }
    }
    fn pending(&self) -> Pending {
        Pending::handle(self.mem.get())
    }
}

impl<T: Scalar, A: Access> Sealed for &mut Buffer<T, A> {}
impl<T: Scalar, A: Access> KernelArg for &mut Buffer<T, A> {
    fn desc(&self) -> ArgDesc {
        ArgDesc::Buffer { elem: T::TYPE, reads: A::READS, writes: A::WRITES }
    }
    fn pending(&self) -> Pending {
        Pending::handle(self.mem.get())
    }
}
