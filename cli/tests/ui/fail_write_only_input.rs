// A write-only buffer cannot be an input the kernel reads (__global const float* x).
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::{Buffer, Queue, ReadOnly, WriteOnly};
use kernels::{Dense, Kernels};

fn calls(k: &Kernels, q: &Queue, x: &Buffer<f32, WriteOnly>, w: &Buffer<f32, ReadOnly>, b: &Buffer<f32, ReadOnly>, y: &mut Buffer<f32, WriteOnly>) {
    let _ = k.dense(Dense::None).dense(q, [10, 4], None, x, w, b, y, 4, 64, 10);
}

fn main() {}
