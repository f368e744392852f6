// int N is an i32: a usize or a float does not fit.
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::{Buffer, Queue, ReadOnly, WriteOnly};
use kernels::{Dense, Kernels};

fn calls(k: &Kernels, q: &Queue, x: &Buffer<f32, ReadOnly>, w: &Buffer<f32, ReadOnly>, b: &Buffer<f32, ReadOnly>, y: &mut Buffer<f32, WriteOnly>, n: usize) {
    let _ = k.dense(Dense::None).dense(q, [10, 4], None, x, w, b, y, n, 64.0, 10);
}

fn main() {}
