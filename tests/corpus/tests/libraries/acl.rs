//! Typed calls of Arm Compute Library kernels (baked by build.rs with `DATA_TYPE=float
//! VEC_SIZE=4 VEC_SIZE_LEFTOVER=0`) against the CPU. Their parameters come from
//! `TENSOR3D_DECLARATION(name)` in helpers.h: `name_ptr` (`__global uchar*`), then
//! `stride_x, step_x, stride_y, step_y, stride_z, step_z` and
//! `offset_first_element_in_bytes`, all `uint` and in bytes, as ACL's
//! `ICLKernel::add_3D_tensor_argument` sets them.

use crate::common::{assert_served_embedded, session, values};
use clbake::{Buffer, LoadOptions, ReadWrite};

mod kernels {
    clbake::include_kernels!("acl");
}

/// Elements each work item handles along x (`-DVEC_SIZE=4`).
const VEC_SIZE: usize = 4;

/// A 3D float tensor in a byte buffer, with ACL's layout parameters.
#[derive(Clone, Copy, Debug)]
struct Tensor3 {
    /// Elements along x, y, z.
    shape: [usize; 3],
    /// Bytes between neighbours along x, y, z.
    strides: [usize; 3],
    /// Byte offset of element (0, 0, 0).
    offset: usize,
}

impl Tensor3 {
    /// A tensor with `pad_x` unused floats after each row and `pad_z` unused bytes after
    /// each plane, starting `offset` bytes into its buffer.
    fn padded(shape: [usize; 3], pad_x: usize, pad_z: usize, offset: usize) -> Self {
        let sy = (shape[0] + pad_x) * 4;
        Tensor3 { shape, strides: [4, sy, sy * shape[1] + pad_z], offset }
    }

    fn bytes(&self) -> usize {
        self.offset + self.strides[2] * self.shape[2]
    }

    fn at(&self, x: usize, y: usize, z: usize) -> usize {
        self.offset + x * self.strides[0] + y * self.strides[1] + z * self.strides[2]
    }

    /// `(stride_x, step_x, stride_y, step_y, stride_z, step_z, offset)`: each step is the
    /// stride times the elements a work item covers (`VEC_SIZE` along x, one along y, z).
    fn args(&self) -> (u32, u32, u32, u32, u32, u32, u32) {
        let u = |v: usize| u32::try_from(v).expect("fits a uint");
        let [sx, sy, sz] = self.strides;
        (u(sx), u(sx * VEC_SIZE), u(sy), u(sy), u(sz), u(sz), u(self.offset))
    }

    /// The work items: one per `VEC_SIZE` elements along x.
    fn global(&self) -> [usize; 3] {
        [self.shape[0] / VEC_SIZE, self.shape[1], self.shape[2]]
    }

    /// `data` (x fastest) laid out in a buffer filled with `fill` elsewhere.
    fn store(&self, data: &[f32], fill: f32) -> Vec<u8> {
        let mut out: Vec<u8> = std::iter::repeat_n(fill.to_le_bytes(), self.bytes() / 4 + 1).flatten().take(self.bytes()).collect();
        let mut it = data.iter();
        for z in 0..self.shape[2] {
            for y in 0..self.shape[1] {
                for x in 0..self.shape[0] {
                    let at = self.at(x, y, z);
                    out[at..at + 4].copy_from_slice(&it.next().expect("enough elements").to_le_bytes());
                }
            }
        }
        out
    }

    /// The elements (x fastest) of a buffer laid out as this tensor.
    fn load(&self, bytes: &[u8]) -> Vec<f32> {
        let mut out = Vec::new();
        for z in 0..self.shape[2] {
            for y in 0..self.shape[1] {
                for x in 0..self.shape[0] {
                    let at = self.at(x, y, z);
                    out.push(f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]));
                }
            }
        }
        out
    }
}

fn kernels(s: &clbake::Session) -> kernels::Kernels {
    kernels::Kernels::with_options(s, &LoadOptions::default(), false).expect("the acl bundle opens")
}

/// Runs an elementwise kernel through `launch` (given the kernels, the queue, the input and
/// output layouts and buffers) on a padded input starting 16 bytes in and a dense output,
/// and checks every element against `reference`.
fn check_elementwise(
    what: &str,
    seed: u32,
    reference: fn(f32) -> f32,
    launch: impl FnOnce(&kernels::Kernels, &clbake::Queue, &Tensor3, &Tensor3, &mut Buffer<u8, ReadWrite>, &mut Buffer<u8, ReadWrite>),
) {
    let s = session();
    let k = kernels(&s);
    let q = s.queue();
    let shape = [8, 3, 2];
    let (tin, tout) = (Tensor3::padded(shape, 4, 32, 16), Tensor3::padded(shape, 0, 0, 0));
    let n = tin.shape.iter().product();
    let x: Vec<f32> = values(n, seed).into_iter().map(|v| v * 10.0).collect();
    let mut din = Buffer::<u8, ReadWrite>::from_slice(&s, &tin.store(&x, f32::NAN)).unwrap();
    let mut dout = Buffer::<u8, ReadWrite>::new(&s, tout.bytes()).unwrap();
    launch(&k, q, &tin, &tout, &mut din, &mut dout);
    let want: Vec<f32> = x.iter().map(|&v| reference(v)).collect();
    assert_eq!(tout.load(&dout.read(q).unwrap()), want, "{what} vs the CPU");
    assert_served_embedded(what, kernels::BUNDLE.bytes(), &s, &k.report());
    eprintln!("acl: {what} on a {:?} tensor with padded strides {:?} and offset {} matches the CPU", tin.shape, tin.strides, tin.offset);
}

#[test]
fn acl_activation_layer_matches_the_cpu() {
    // -DACT=lu_brelu -DA_VAL=6.0f -DB_VAL=-1.0f: min(max(x, B), A).
    check_elementwise(
        "common/activation_layer (lu_brelu, a=6, b=-1)",
        5,
        |v| v.clamp(-1.0, 6.0),
        |k, q, tin, tout, din, dout| {
            let (a0, a1, a2, a3, a4, a5, a6) = tin.args();
            let (b0, b1, b2, b3, b4, b5, b6) = tout.args();
            k.common_activation_layer()
                .activation_layer(q, tin.global(), None, din, a0, a1, a2, a3, a4, a5, a6, dout, b0, b1, b2, b3, b4, b5, b6)
                .unwrap();
        },
    );
}

#[test]
fn acl_floor_layer_matches_the_cpu() {
    check_elementwise("common/floor", 6, f32::floor, |k, q, tin, tout, din, dout| {
        let (a0, a1, a2, a3, a4, a5, a6) = tin.args();
        let (b0, b1, b2, b3, b4, b5, b6) = tout.args();
        k.common_floor().floor_layer(q, tin.global(), None, din, a0, a1, a2, a3, a4, a5, a6, dout, b0, b1, b2, b3, b4, b5, b6).unwrap();
    });
}
