// axpy4 takes float4 (`[f32; 4]`) buffers: another vector width is refused.
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!("test_kernels");
}

use clbake::{Buffer, Queue, ReadOnly, ReadWrite, WriteOnly};
use kernels::Kernels;

fn calls(k: &Kernels, q: &Queue, x: &Buffer<[f32; 2], ReadOnly>, y: &mut Buffer<[f32; 4], ReadWrite>) {
    let _ = k.types().axpy4(q, [16], None, x, y, [1.0; 4], 16);
}

fn main() {}
