// Global and local work sizes must have the same number of dimensions.
#![allow(dead_code)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::launch::{Buffer, CommandQueue};
use kernels::{Dense, Kernels};

fn calls(k: &Kernels, q: &CommandQueue, x: &Buffer<f32>, w: &Buffer<f32>, b: &Buffer<f32>, y: &mut Buffer<f32>) {
    let _ = k.dense(Dense::None).dense(q, [10, 4], Some([2, 2, 1]), x, w, b, y, 4, 64, 10);
}

fn main() {}
