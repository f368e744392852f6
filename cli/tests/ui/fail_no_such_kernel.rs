// A kernel that the file does not define has no method.
#![allow(dead_code)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::launch::{Buffer, CommandQueue};
use kernels::Kernels;

fn calls(k: &Kernels, q: &CommandQueue, x: &Buffer<f32>, y: &mut Buffer<f32>) {
    let _ = k.pool().min_pool2d(q, [4, 4, 8], None, x, y, 8, 8, 8, 2, 2, 4, 4);
}

fn main() {}
