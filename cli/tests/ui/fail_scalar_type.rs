// int N is an i32: a usize or a float does not fit.
#![allow(dead_code)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::launch::{Buffer, CommandQueue};
use kernels::{Dense, Kernels};

fn calls(k: &Kernels, q: &CommandQueue, x: &Buffer<f32>, w: &Buffer<f32>, b: &Buffer<f32>, y: &mut Buffer<f32>, n: usize) {
    let _ = k.dense(Dense::None).dense(q, [10, 4], None, x, w, b, y, n, 64.0, 10);
}

fn main() {}
