// Calls that match the kernels' OpenCL signatures compile.
mod kernels {
    clbake::include_kernels!();
}

use clbake::launch::{Buffer, CommandQueue};
use kernels::{Dense, Gemm, Kernels};

#[allow(dead_code)]
fn calls(k: &Kernels, q: &CommandQueue, x: &Buffer<f32>, w: &Buffer<f32>, b: &Buffer<f32>, y: &mut Buffer<f32>) -> Result<(), clbake::LaunchError> {
    // dense(__global const float* x, __global const float* w, __global const float* bias,
    //       __global float* y, int N, int K, int M)
    k.dense(Dense::Relu).dense(q, [10, 4], None, x, w, b, y, 4, 64, 10)?;
    k.gemm(Gemm::T8).gemm_tiled(q, [16, 16], Some([8, 8]), x, w, y, 16, 16, 16)?;
    k.pool().max_pool2d(q, [4, 4, 8], None, x, y, 8, 8, 8, 2, 2, 4, 4)?;
    k.eltwise().eltwise_add(q, [1024], None, x, w, y, 1024)?;
    Ok(())
}

fn main() {}
