// A variant of another kernel file does not select a dense program.
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::{Buffer, Queue, ReadOnly, WriteOnly};
use kernels::{Gemm, Kernels};

fn calls(k: &Kernels, q: &Queue, x: &Buffer<f32, ReadOnly>, w: &Buffer<f32, ReadOnly>, b: &Buffer<f32, ReadOnly>, y: &mut Buffer<f32, WriteOnly>) {
    let _ = k.dense(Gemm::T8).dense(q, [10, 4], None, x, w, b, y, 4, 64, 10);
}

fn main() {}
