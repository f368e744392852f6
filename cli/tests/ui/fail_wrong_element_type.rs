// A buffer of i32 where the kernel reads float*.
#![allow(dead_code)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::launch::{Buffer, CommandQueue};
use kernels::{Dense, Kernels};

fn calls(k: &Kernels, q: &CommandQueue, x: &Buffer<i32>, w: &Buffer<f32>, b: &Buffer<f32>, y: &mut Buffer<f32>) {
    let _ = k.dense(Dense::None).dense(q, [10, 4], None, x, w, b, y, 4, 64, 10);
}

fn main() {}
