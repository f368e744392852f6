//! The values a launch takes: scalars and vectors by value, `__local` sizes, and (in their
//! own modules) buffers, images and samplers — each able to say what it is, so the launch
//! can check it against the kernel's parameter, and to set itself on the kernel.

use clbake_core::clc::{ImageKind, ScalarKind, ValueType};
use opencl3::kernel::Kernel;
use std::ffi::c_void;
use std::marker::PhantomData;

/// Seals the traits of this module: only clbake's types implement them.
pub trait Sealed {}

/// What an argument is, for checking it against a parameter.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgDesc {
    /// A scalar or vector by value.
    Value(ValueType),
    /// A buffer of elements of type `elem`; which accesses its memory flags allow the kernel.
    Buffer { elem: ValueType, reads: bool, writes: bool },
    /// A `__local` array of elements of `elem_size` bytes.
    Local { elem_size: usize },
    /// An image of this kind; which accesses its memory flags allow the kernel.
    Image { kind: ImageKind, reads: bool, writes: bool },
    /// A sampler.
    Sampler,
}

/// An argument ready to be set, once the kernel's lock is held.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub enum Pending {
    /// `clSetKernelArg` with these bytes (a value, or a memory object's handle).
    Bytes(Vec<u8>),
    /// A `__local` argument of this many bytes.
    Local(usize),
}

impl Pending {
    /// Sets argument `index` of `kernel`; returns the OpenCL error code on failure.
    pub(crate) fn set(&self, kernel: &Kernel, index: u32) -> Result<(), i32> {
        match self {
            // SAFETY: `bytes` holds exactly the argument (a checked value of the parameter's
            // size, or the handle of a memory object or sampler the launch borrows until it is
            // enqueued); clSetKernelArg copies it during the call.
            Pending::Bytes(bytes) => unsafe {
                opencl3::kernel::set_kernel_arg(kernel.get(), index, bytes.len(), bytes.as_ptr() as *const c_void)
            },
            // SAFETY: a __local argument is set with a size and a NULL pointer, as the spec asks.
            Pending::Local(size) => unsafe { opencl3::kernel::set_kernel_arg(kernel.get(), index, *size, std::ptr::null()) },
        }
    }

    /// The argument for a memory object handle (buffer, image) or sampler.
    pub(crate) fn handle<H: Copy>(h: H) -> Pending {
        let size = std::mem::size_of::<H>();
        let ptr = &h as *const H as *const u8;
        // SAFETY: reads the `size` bytes of the plain handle value `h` (a pointer-sized
        // OpenCL object id) while it lives.
        Pending::Bytes(unsafe { std::slice::from_raw_parts(ptr, size) }.to_vec())
    }
}

/// Anything [`Launch::arg`](super::Launch::arg) accepts; see the [table](super).
pub trait KernelArg: Sealed {
    /// What the argument is.
    #[doc(hidden)]
    fn desc(&self) -> ArgDesc;
    /// The argument, ready to be set.
    #[doc(hidden)]
    fn pending(&self) -> Pending;
}

/// The values kernels take, by value or as buffer elements: OpenCL's scalars (`char` to
/// `double`, `half` as [`half::f16`]) and their vectors as arrays (`float4` is `[f32; 4]`,
/// `float3` is `[f32; 4]` as OpenCL stores it). Sealed, [`bytemuck::Pod`]: no padding, every
/// bit pattern valid, so the bytes handed to OpenCL are exactly the value.
pub trait Scalar: Sealed + bytemuck::Pod + Send + Sync + 'static {
    /// The OpenCL type (storage width: `float3` counts 4 components).
    const TYPE: ValueType;
}

macro_rules! scalars {
    ($($t:ty => $k:ident),*) => {$(
        impl Sealed for $t {}
        impl Scalar for $t { const TYPE: ValueType = ValueType { scalar: ScalarKind::$k, width: 1 }; }
        impl Sealed for [$t; 2] {}
        impl Scalar for [$t; 2] { const TYPE: ValueType = ValueType { scalar: ScalarKind::$k, width: 2 }; }
        impl Sealed for [$t; 4] {}
        impl Scalar for [$t; 4] { const TYPE: ValueType = ValueType { scalar: ScalarKind::$k, width: 4 }; }
        impl Sealed for [$t; 8] {}
        impl Scalar for [$t; 8] { const TYPE: ValueType = ValueType { scalar: ScalarKind::$k, width: 8 }; }
        impl Sealed for [$t; 16] {}
        impl Scalar for [$t; 16] { const TYPE: ValueType = ValueType { scalar: ScalarKind::$k, width: 16 }; }
    )*};
}
scalars!(i8 => Char, u8 => UChar, i16 => Short, u16 => UShort, i32 => Int, u32 => UInt, i64 => Long, u64 => ULong, half::f16 => Half, f32 => Float, f64 => Double);

impl<S: Scalar> KernelArg for S {
    fn desc(&self) -> ArgDesc {
        ArgDesc::Value(S::TYPE)
    }
    fn pending(&self) -> Pending {
        Pending::Bytes(bytemuck::bytes_of(self).to_vec())
    }
}

/// A `__local` array argument: only its length (in elements of `T`) is passed; each
/// work-group gets its own uninitialised copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Local<T> {
    len: usize,
    _elem: PhantomData<fn() -> T>,
}

impl<T> Local<T> {
    /// `len` elements of `T` of work-group memory.
    pub const fn new(len: usize) -> Self {
        Local { len, _elem: PhantomData }
    }

    /// Length in elements.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is 0 (which drivers refuse).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Size in bytes.
    pub const fn bytes(&self) -> usize {
        self.len * std::mem::size_of::<T>()
    }
}

impl<T> Sealed for Local<T> {}
impl<T: Scalar> KernelArg for Local<T> {
    fn desc(&self) -> ArgDesc {
        ArgDesc::Local { elem_size: std::mem::size_of::<T>() }
    }
    fn pending(&self) -> Pending {
        Pending::Local(self.bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_sizes_and_scalar_bytes() {
        let l = Local::<f32>::new(256);
        assert_eq!((l.len(), l.bytes(), l.is_empty()), (256, 1024, false));
        assert!(Local::<[f32; 4]>::new(0).is_empty());
        match 1.5f32.pending() {
            Pending::Bytes(b) => assert_eq!(b, 1.5f32.to_le_bytes()),
            other => panic!("{other:?}"),
        }
        assert_eq!([1u8, 2, 3, 4].desc(), ArgDesc::Value(ValueType { scalar: ScalarKind::UChar, width: 4 }));
        assert_eq!(half::f16::from_f32(1.0).desc(), ArgDesc::Value(ValueType { scalar: ScalarKind::Half, width: 1 }));
    }
}
