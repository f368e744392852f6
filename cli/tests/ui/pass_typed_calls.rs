// Calls that match the kernels' OpenCL signatures compile: buffers of every access, vector
// and half elements, local memory, images and samplers, 1- to 3-dimensional work sizes.
mod kernels {
    clbake::include_kernels!();
}
mod test_kernels {
    clbake::include_kernels!("test_kernels");
}

use clbake::{Buffer, Half, Image2d, Local, Queue, ReadOnly, ReadWrite, Sampler, WriteOnly};
use kernels::{Dense, Gemm, Kernels};

#[allow(dead_code, clippy::too_many_arguments)]
fn calls(k: &Kernels, q: &Queue, x: &Buffer<f32, ReadOnly>, w: &Buffer<f32, ReadWrite>, b: &Buffer<f32, ReadOnly>, y: &mut Buffer<f32, WriteOnly>, rw: &mut Buffer<f32, ReadWrite>) -> Result<(), clbake::Error> {
    // dense(__global const float* x, __global const float* w, __global const float* bias,
    //       __global float* y, int N, int K, int M)
    k.dense(Dense::Relu).dense(q, [10, 4], None, x, w, b, y, 4, 64, 10)?;
    k.gemm(Gemm::T8).gemm_tiled(q, [16, 16], Some([8, 8]), x, w, rw, 16, 16, 16)?;
    k.pool().max_pool2d(q, [4, 4, 8], None, x, y, 8, 8, 8, 2, 2, 4, 4)?;
    k.eltwise().eltwise_add(q, [1024], None, x, w, y, 1024)?;
    Ok(())
}

#[allow(dead_code, clippy::too_many_arguments)]
fn typed(
    k: &test_kernels::Kernels,
    q: &Queue,
    h: &Buffer<Half, ReadOnly>,
    h_out: &mut Buffer<Half, WriteOnly>,
    v: &Buffer<[f32; 4], ReadOnly>,
    v_out: &mut Buffer<[f32; 4], ReadWrite>,
    ints: &Buffer<i32, ReadOnly>,
    sums: &mut Buffer<i32, WriteOnly>,
    src: &Image2d<ReadOnly>,
    dst: &mut Image2d<WriteOnly>,
    smp: &Sampler,
) -> Result<(), clbake::Error> {
    k.types().scale_half(q, [64], None, h, h_out, 2.0, 64)?;
    k.types().axpy4(q, [16], None, v, v_out, [1.0, 2.0, 3.0, 4.0], 16)?;
    k.types().sum_local(q, [64], Some([16]), ints, sums, Local::new(16), 64)?;
    k.images().scale_image(q, [8, 8], None, src, dst, smp, [0.5; 4])?;
    k.images().fill_image(q, [8, 8], None, dst, [1.0; 4])?;
    Ok(())
}

fn main() {}
