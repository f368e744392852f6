// A kernel that the file does not define has no method.
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::{Buffer, Queue, ReadOnly, WriteOnly};
use kernels::Kernels;

fn calls(k: &Kernels, q: &Queue, x: &Buffer<f32, ReadOnly>, y: &mut Buffer<f32, WriteOnly>) {
    let _ = k.pool().min_pool2d(q, [4, 4, 8], None, x, y, 8, 8, 8, 2, 2, 4, 4);
}

fn main() {}
