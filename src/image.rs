//! Images and samplers for kernels that take `image2d_t` (and its 1D, array and 3D kinds)
//! and `sampler_t`, created from host pixels whose Rust type gives the channel format.

use crate::buffer::Access;
use crate::launch::{ArgDesc, KernelArg, Pending, Sealed};
use crate::{Error, Session};
use clbake_core::clc::ImageKind;
use opencl3::command_queue::CommandQueue;
use opencl3::memory::{
    ClMem, CL_FLOAT, CL_HALF_FLOAT, CL_MEM_COPY_HOST_PTR, CL_MEM_OBJECT_IMAGE1D, CL_MEM_OBJECT_IMAGE1D_ARRAY, CL_MEM_OBJECT_IMAGE2D,
    CL_MEM_OBJECT_IMAGE2D_ARRAY, CL_MEM_OBJECT_IMAGE3D, CL_R, CL_RG, CL_RGBA, CL_SIGNED_INT16, CL_SIGNED_INT32, CL_SIGNED_INT8,
    CL_UNORM_INT16, CL_UNORM_INT8, CL_UNSIGNED_INT16, CL_UNSIGNED_INT32, CL_UNSIGNED_INT8,
};
use opencl3::types::{cl_channel_order, cl_channel_type, cl_image_desc, cl_image_format, cl_mem_object_type, CL_BLOCKING};
use std::ffi::c_void;
use std::marker::PhantomData;

/// An 8-bit channel read as a float in [0, 1] (`CL_UNORM_INT8`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct Unorm8(pub u8);

/// A 16-bit channel read as a float in [0, 1] (`CL_UNORM_INT16`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct Unorm16(pub u16);

/// A pixel type: its channel order and type (see the table on [`Image`]). Sealed.
pub trait Pixel: Sealed + bytemuck::Pod + Send + Sync + 'static {
    /// Channel order (`CL_R`, `CL_RG`, `CL_RGBA`).
    const ORDER: cl_channel_order;
    /// Channel data type.
    const TYPE: cl_channel_type;
}

macro_rules! pixels {
    ($($t:ty => $ty:ident),*) => {$(
        impl Pixel for $t { const ORDER: cl_channel_order = CL_R; const TYPE: cl_channel_type = $ty; }
        impl Pixel for [$t; 2] { const ORDER: cl_channel_order = CL_RG; const TYPE: cl_channel_type = $ty; }
        impl Pixel for [$t; 4] { const ORDER: cl_channel_order = CL_RGBA; const TYPE: cl_channel_type = $ty; }
    )*};
}
pixels!(f32 => CL_FLOAT, half::f16 => CL_HALF_FLOAT, u8 => CL_UNSIGNED_INT8, u16 => CL_UNSIGNED_INT16, u32 => CL_UNSIGNED_INT32,
    i8 => CL_SIGNED_INT8, i16 => CL_SIGNED_INT16, i32 => CL_SIGNED_INT32, Unorm8 => CL_UNORM_INT8, Unorm16 => CL_UNORM_INT16);
impl Sealed for Unorm8 {}
impl Sealed for [Unorm8; 2] {}
impl Sealed for [Unorm8; 4] {}
impl Sealed for Unorm16 {}
impl Sealed for [Unorm16; 2] {}
impl Sealed for [Unorm16; 4] {}

/// Image dimensionality: [`D1`], [`D1Array`], [`D2`], [`D2Array`], [`D3`]. Sealed.
pub trait Dims: Sealed + Send + Sync + 'static {
    /// The extent: width, height, depth or layers as the kind has them.
    type Extent: Copy + std::fmt::Debug;
    /// The kernel parameter type it matches.
    const KIND: ImageKind;
    /// The memory object type.
    const MEM: cl_mem_object_type;
    /// (width, height, depth or layers), unused dimensions 1.
    fn full(e: Self::Extent) -> [usize; 3];
}

macro_rules! dims {
    ($($(#[$doc:meta])* $name:ident: $n:literal, $kind:ident, $mem:ident, |$e:ident| $full:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;
        impl Sealed for $name {}
        impl Dims for $name {
            type Extent = [usize; $n];
            const KIND: ImageKind = ImageKind::$kind;
            const MEM: cl_mem_object_type = $mem;
            fn full($e: [usize; $n]) -> [usize; 3] { $full }
        }
    )*};
}
dims! {
    /// `image1d_t`: extent `[width]`.
    D1: 1, Image1d, CL_MEM_OBJECT_IMAGE1D, |e| [e[0], 1, 1];
    /// `image1d_array_t`: extent `[width, layers]`.
    D1Array: 2, Image1dArray, CL_MEM_OBJECT_IMAGE1D_ARRAY, |e| [e[0], e[1], 1];
    /// `image2d_t`: extent `[width, height]`.
    D2: 2, Image2d, CL_MEM_OBJECT_IMAGE2D, |e| [e[0], e[1], 1];
    /// `image2d_array_t`: extent `[width, height, layers]`.
    D2Array: 3, Image2dArray, CL_MEM_OBJECT_IMAGE2D_ARRAY, |e| e;
    /// `image3d_t`: extent `[width, height, depth]`.
    D3: 3, Image3d, CL_MEM_OBJECT_IMAGE3D, |e| e;
}

/// An image of dimensionality `D` that kernels may use as `A` says. Its pixel format is
/// fixed when it is created, from the Rust pixel type, and checked on every read and write:
///
/// | pixel type | channel order | channel type | kernel reads it with |
/// | --- | --- | --- | --- |
/// | `f32`, `[f32; 2]`, `[f32; 4]` | R, RG, RGBA | `CL_FLOAT` | `read_imagef` |
/// | `half::f16` (and arrays) | R, RG, RGBA | `CL_HALF_FLOAT` | `read_imagef` / `read_imageh` |
/// | [`Unorm8`], [`Unorm16`] (and arrays) | R, RG, RGBA | `CL_UNORM_INT8/16` | `read_imagef` (values in [0, 1]) |
/// | `u8`, `u16`, `u32` (and arrays) | R, RG, RGBA | `CL_UNSIGNED_INT8/16/32` | `read_imageui` |
/// | `i8`, `i16`, `i32` (and arrays) | R, RG, RGBA | `CL_SIGNED_INT8/16/32` | `read_imagei` |
///
/// ```no_run
/// # fn main() -> Result<(), clbake::Error> {
/// use clbake::{Addressing, Filter, Image2d, ReadOnly, Sampler, WriteOnly};
/// let session = clbake::Session::from_env()?;
/// let pixels = vec![[0.5f32; 4]; 64 * 48];
/// let src: Image2d<ReadOnly> = Image2d::from_pixels(&session, [64, 48], &pixels)?;
/// let dst: Image2d<WriteOnly> = Image2d::new::<[f32; 4]>(&session, [64, 48])?;
/// let sampler = Sampler::new(&session, false, Addressing::ClampToEdge, Filter::Nearest)?;
/// // ... a typed call: k.blur().blur(session.queue(), [64, 48], None, &src, &mut dst, &sampler)?
/// let back: Vec<[f32; 4]> = dst.read(session.queue())?;
/// # let _ = (src, sampler, back); Ok(()) }
/// ```
pub struct Image<D: Dims, A: Access> {
    mem: opencl3::memory::Image,
    extent: [usize; 3],
    format: (cl_channel_order, cl_channel_type),
    _kind: PhantomData<(D, A)>,
}

/// An `image1d_t`.
pub type Image1d<A> = Image<D1, A>;
/// An `image1d_array_t`.
pub type Image1dArray<A> = Image<D1Array, A>;
/// An `image2d_t`.
pub type Image2d<A> = Image<D2, A>;
/// An `image2d_array_t`.
pub type Image2dArray<A> = Image<D2Array, A>;
/// An `image3d_t`.
pub type Image3d<A> = Image<D3, A>;

impl<D: Dims, A: Access> std::fmt::Debug for Image<D, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:?}", D::KIND.cl_name(), self.extent)
    }
}

impl<D: Dims, A: Access> Image<D, A> {
    fn create<P: Pixel>(session: &Session, extent: D::Extent, data: Option<&[P]>) -> Result<Self, Error> {
        let full = D::full(extent);
        let count = full
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .filter(|&n| n > 0)
            .ok_or_else(|| Error::Length(format!("image extent {extent:?} is empty or too large")))?;
        let zeros;
        let init: &[P] = match data {
            Some(d) if d.len() == count => d,
            Some(d) => return Err(Error::Length(format!("{} pixel(s) for an image of {extent:?} ({count} pixels)", d.len()))),
            None => {
                zeros = vec![P::zeroed(); count];
                &zeros
            }
        };
        let format = cl_image_format { image_channel_order: P::ORDER, image_channel_data_type: P::TYPE };
        // SAFETY: an all-zero image descriptor is valid (integers and a null buffer handle);
        // the fields below describe the image, no pitches (the host data is packed).
        let mut desc: cl_image_desc = unsafe { std::mem::zeroed() };
        desc.image_type = D::MEM;
        desc.image_width = full[0];
        match D::KIND {
            ImageKind::Image1dArray => desc.image_array_size = full[1],
            ImageKind::Image2dArray => {
                desc.image_height = full[1];
                desc.image_array_size = full[2];
            }
            _ => {
                desc.image_height = full[1];
                desc.image_depth = full[2];
            }
        }
        // SAFETY: `format` and `desc` live through the call; COPY_HOST_PTR copies `count`
        // packed pixels from `init`, which holds exactly that many.
        let mem = unsafe {
            opencl3::memory::Image::create(session.context(), A::FLAGS | CL_MEM_COPY_HOST_PTR, &format, &desc, init.as_ptr() as *mut c_void)
        }
        .map_err(|e| match e.0 {
            opencl3::error_codes::CL_IMAGE_FORMAT_NOT_SUPPORTED => {
                Error::Length(format!("the device does not support images of {} pixels", std::any::type_name::<P>()))
            }
            code => Error::Api { call: "clCreateImage", code },
        })?;
        Ok(Image { mem, extent: full, format: (P::ORDER, P::TYPE), _kind: PhantomData })
    }

    /// An image of `extent` holding `pixels` (packed, row by row).
    pub fn from_pixels<P: Pixel>(session: &Session, extent: D::Extent, pixels: &[P]) -> Result<Self, Error> {
        Self::create(session, extent, Some(pixels))
    }

    /// An image of `extent` with pixels of type `P`, all zero.
    pub fn new<P: Pixel>(session: &Session, extent: D::Extent) -> Result<Self, Error> {
        Self::create::<P>(session, extent, None)
    }

    /// (width, height, depth or layers), unused dimensions 1.
    pub fn extent(&self) -> [usize; 3] {
        self.extent
    }

    fn check_format<P: Pixel>(&self) -> Result<usize, Error> {
        if (P::ORDER, P::TYPE) != self.format {
            return Err(Error::Length(format!(
                "the image holds other pixels than {}: read and write it with the pixel type it was created with",
                std::any::type_name::<P>()
            )));
        }
        Ok(self.extent.iter().product())
    }

    /// Reads every pixel (blocking).
    pub fn read<P: Pixel>(&self, queue: &CommandQueue) -> Result<Vec<P>, Error> {
        let n = self.check_format::<P>()?;
        let mut out = vec![P::zeroed(); n];
        let origin = [0usize; 3];
        // SAFETY: a blocking read of the whole image (region = extent, packed) into a live
        // vector of exactly that many pixels of the image's own format.
        unsafe {
            queue.enqueue_read_image(
                &self.mem,
                CL_BLOCKING,
                origin.as_ptr(),
                self.extent.as_ptr(),
                0,
                0,
                out.as_mut_ptr() as *mut c_void,
                &[],
            )
        }
        .map_err(Error::api("clEnqueueReadImage"))?;
        Ok(out)
    }

    /// Replaces every pixel (blocking).
    pub fn write<P: Pixel>(&mut self, queue: &CommandQueue, pixels: &[P]) -> Result<(), Error> {
        let n = self.check_format::<P>()?;
        if pixels.len() != n {
            return Err(Error::Length(format!("{} pixel(s) for an image of {n}", pixels.len())));
        }
        let origin = [0usize; 3];
        // SAFETY: a blocking write of the whole image from a live slice of exactly that many
        // pixels of the image's format.
        unsafe {
            queue.enqueue_write_image(
                &mut self.mem,
                CL_BLOCKING,
                origin.as_ptr(),
                self.extent.as_ptr(),
                0,
                0,
                pixels.as_ptr() as *mut c_void,
                &[],
            )
        }
        .map_err(Error::api("clEnqueueWriteImage"))?;
        Ok(())
    }
}

impl<D: Dims, A: Access> Sealed for &Image<D, A> {}
impl<D: Dims, A: Access> KernelArg for &Image<D, A> {
    fn desc(&self) -> ArgDesc {
        ArgDesc::Image { kind: D::KIND, reads: A::READS, writes: A::WRITES }
    }
    fn pending(&self) -> Pending {
        Pending::handle(self.mem.get())
    }
}
impl<D: Dims, A: Access> Sealed for &mut Image<D, A> {}
impl<D: Dims, A: Access> KernelArg for &mut Image<D, A> {
    fn desc(&self) -> ArgDesc {
        ArgDesc::Image { kind: D::KIND, reads: A::READS, writes: A::WRITES }
    }
    fn pending(&self) -> Pending {
        Pending::handle(self.mem.get())
    }
}

/// What a sampler does with coordinates outside the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addressing {
    /// Out-of-range coordinates are undefined (fastest).
    None,
    /// Clamped to the edge pixels.
    ClampToEdge,
    /// Clamped to the border colour.
    Clamp,
    /// Wrapped around (normalized coordinates only).
    Repeat,
    /// Mirrored (normalized coordinates only).
    MirroredRepeat,
}

/// How a sampler filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// The nearest pixel.
    Nearest,
    /// Bilinear (trilinear in 3D) interpolation.
    Linear,
}

/// A `sampler_t` argument, from its three properties.
#[derive(Debug)]
pub struct Sampler {
    inner: opencl3::memory::Sampler,
}

impl Sampler {
    /// A sampler with normalized (`true`: in [0, 1)) or pixel coordinates.
    pub fn new(session: &Session, normalized: bool, addressing: Addressing, filter: Filter) -> Result<Self, Error> {
        use opencl3::memory::{
            CL_ADDRESS_CLAMP, CL_ADDRESS_CLAMP_TO_EDGE, CL_ADDRESS_MIRRORED_REPEAT, CL_ADDRESS_NONE, CL_ADDRESS_REPEAT, CL_FILTER_LINEAR,
            CL_FILTER_NEAREST,
        };
        let a = match addressing {
            Addressing::None => CL_ADDRESS_NONE,
            Addressing::ClampToEdge => CL_ADDRESS_CLAMP_TO_EDGE,
            Addressing::Clamp => CL_ADDRESS_CLAMP,
            Addressing::Repeat => CL_ADDRESS_REPEAT,
            Addressing::MirroredRepeat => CL_ADDRESS_MIRRORED_REPEAT,
        };
        let f = match filter {
            Filter::Nearest => CL_FILTER_NEAREST,
            Filter::Linear => CL_FILTER_LINEAR,
        };
        #[allow(deprecated)] // clCreateSampler: the OpenCL 1.2 call, for 1.2 drivers
        let inner =
            opencl3::memory::Sampler::create(session.context(), u32::from(normalized), a, f).map_err(Error::api("clCreateSampler"))?;
        Ok(Sampler { inner })
    }
}

impl Sealed for &Sampler {}
impl KernelArg for &Sampler {
    fn desc(&self) -> ArgDesc {
        ArgDesc::Sampler
    }
    fn pending(&self) -> Pending {
        Pending::handle(self.inner.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_formats() {
        assert_eq!(([0u8; 4].len(), <[Unorm8; 4]>::ORDER, <[Unorm8; 4]>::TYPE), (4, CL_RGBA, CL_UNORM_INT8));
        assert_eq!((<f32>::ORDER, <f32>::TYPE), (CL_R, CL_FLOAT));
        assert_eq!((<[u16; 2]>::ORDER, <[u16; 2]>::TYPE), (CL_RG, CL_UNSIGNED_INT16));
        assert_eq!(D2Array::full([4, 3, 2]), [4, 3, 2]);
        assert_eq!(D1::full([7]), [7, 1, 1]);
    }
}
