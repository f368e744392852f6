//! Typed, zero-copy views of tensors embedded by [`include_model!`](crate::include_model).

use std::marker::PhantomData;

/// Element types a tensor may have. Sealed: only plain little-endian numbers with no
/// invalid bit patterns implement it.
pub trait Element: bytemuck::Pod + sealed::Sealed + 'static {
    /// The safetensors dtype name, e.g. `F32`.
    const DTYPE: &'static str;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! element {
    ($($t:ty => $name:literal),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t { const DTYPE: &'static str = $name; }
    )*};
}
element!(f32 => "F32", f64 => "F64", half::f16 => "F16", half::bf16 => "BF16", u8 => "U8", i8 => "I8", u16 => "U16", i16 => "I16", u32 => "U32", i32 => "I32", u64 => "U64", i64 => "I64");

/// Compile-time description of one tensor: name, shape and byte range in the file.
#[derive(Clone, Copy, Debug)]
pub struct TensorInfo<T: Element, const RANK: usize> {
    /// Tensor name in the safetensors file.
    pub name: &'static str,
    /// Shape.
    pub shape: [usize; RANK],
    /// First byte of the data in the file.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    _t: PhantomData<T>,
}

impl<T: Element, const RANK: usize> TensorInfo<T, RANK> {
    /// Describes a tensor (used by generated code).
    pub const fn new(name: &'static str, shape: [usize; RANK], start: usize, end: usize) -> Self {
        TensorInfo { name, shape, start, end, _t: PhantomData }
    }

    /// Number of elements.
    pub const fn len(&self) -> usize {
        let mut n = 1;
        let mut i = 0;
        while i < RANK {
            n *= self.shape[i];
            i += 1;
        }
        n
    }

    /// Whether the tensor has no element.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor's data inside `file` (the embedded file bytes), without copying.
    ///
    /// # Panics
    /// If `file` is not the file this info was generated from (range, length or alignment
    /// wrong) — the macro checked all three at compile time for the embedded bytes.
    pub fn view(&self, file: &'static [u8]) -> Tensor<'static, T, RANK> {
        let bytes = file
            .get(self.start..self.end)
            .unwrap_or_else(|| panic!("tensor {}: range {}..{} outside file", self.name, self.start, self.end));
        assert_eq!(bytes.len(), self.len() * std::mem::size_of::<T>(), "tensor {}: byte length does not match shape", self.name);
        let data: &[T] = bytemuck::try_cast_slice(bytes).unwrap_or_else(|e| panic!("tensor {}: {e}", self.name));
        Tensor { name: self.name, shape: self.shape, data }
    }
}

/// A borrowed tensor: typed data pointing straight into the executable's read-only bytes.
#[derive(Clone, Copy, Debug)]
pub struct Tensor<'a, T: Element, const RANK: usize> {
    /// Tensor name.
    pub name: &'static str,
    /// Shape.
    pub shape: [usize; RANK],
    /// The elements, row-major.
    pub data: &'a [T],
}

impl<T: Element, const RANK: usize> Tensor<'_, T, RANK> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}
