// scale_half reads `half` (clbake::Half): a buffer of f32 is refused, as is an f32 vector factor for a float4.
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!("test_kernels");
}

use clbake::{Buffer, Queue, ReadOnly, ReadWrite, WriteOnly};
use kernels::Kernels;

fn calls(k: &Kernels, q: &Queue, x: &Buffer<f32, ReadOnly>, y: &mut Buffer<clbake::Half, WriteOnly>, x4: &Buffer<[f32; 4], ReadOnly>, y4: &mut Buffer<[f32; 4], ReadWrite>) {
    let _ = k.types().scale_half(q, [64], None, x, y, 2.0, 64);
    let _ = k.types().axpy4(q, [16], None, x4, y4, 1.0f32, 16);
}

fn main() {}
