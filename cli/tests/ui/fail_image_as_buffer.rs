// An image parameter takes an Image, not a Buffer.
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!("test_kernels");
}

use clbake::{Buffer, Queue, ReadOnly, ReadWrite, WriteOnly};
use kernels::Kernels;

fn calls(k: &Kernels, q: &Queue, dst: &mut Buffer<[f32; 4], WriteOnly>) {
    let _ = k.images().fill_image(q, [8, 8], None, dst, [1.0; 4]);
}

fn main() {}
