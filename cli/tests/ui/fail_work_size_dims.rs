// Global and local work sizes must have the same number of dimensions.
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::{Buffer, Queue, ReadOnly, WriteOnly};
use kernels::{Dense, Kernels};

fn calls(k: &Kernels, q: &Queue, x: &Buffer<f32, ReadOnly>, w: &Buffer<f32, ReadOnly>, b: &Buffer<f32, ReadOnly>, y: &mut Buffer<f32, WriteOnly>) {
    let _ = k.dense(Dense::None).dense(q, [10, 4], Some([2, 2, 1]), x, w, b, y, 4, 64, 10);
}

fn main() {}
