// A buffer the host declared read-only (ReadOnly: CL_MEM_READ_ONLY) cannot be the output the kernel writes.
#![allow(dead_code, unused_imports)]
mod kernels {
    clbake::include_kernels!();
}

use clbake::{Buffer, Queue, ReadOnly, WriteOnly};
use kernels::{Dense, Kernels};

fn calls(k: &Kernels, q: &Queue, x: &Buffer<f32, ReadOnly>, w: &Buffer<f32, ReadOnly>, b: &Buffer<f32, ReadOnly>, y: &mut Buffer<f32, ReadOnly>) {
    let _ = k.dense(Dense::None).dense(q, [10, 4], None, x, w, b, y, 4, 64, 10);
}

fn main() {}
