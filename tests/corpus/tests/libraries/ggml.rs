//! Typed calls of llama.cpp's ggml kernels (`scale.cl`, `relu.cl`, `clamp.cl`, `pad.cl`,
//! baked by build.rs) against the CPU. ggml kernels take `(global float * src0, ulong
//! offset0, global float * dst, ulong offsetd, ...)`, the offsets in bytes; `pad` takes its
//! tensors as `global void *`, which the typed method accepts as a buffer of any element
//! type.

use crate::common::{assert_close, assert_served_embedded, session, values};
use clbake::{Buffer, LoadOptions, ReadWrite};

mod kernels {
    clbake::include_kernels!("ggml");
}

/// Input and output placed at byte offsets inside their buffers, as ggml's tensors are.
const OFFSET0: usize = 4;
const OFFSETD: usize = 8;

fn kernels(s: &clbake::Session) -> kernels::Kernels {
    kernels::Kernels::with_options(s, &LoadOptions::default(), false).expect("the ggml bundle opens")
}

#[test]
fn ggml_scale_matches_the_cpu() {
    let s = session();
    let k = kernels(&s);
    let q = s.queue();
    let n = 1000;
    let x = values(n + OFFSET0, 1);
    let (scale, bias) = (2.5f32, -0.75f32);
    let mut src = Buffer::<f32, ReadWrite>::from_slice(&s, &x).unwrap();
    let mut dst = Buffer::<f32, ReadWrite>::new(&s, n + OFFSETD).unwrap();
    k.scale().kernel_scale_f32(q, [n], None, &mut src, (OFFSET0 * 4) as u64, &mut dst, (OFFSETD * 4) as u64, scale, bias).unwrap();
    let got = dst.read(q).unwrap();
    assert!(got[..OFFSETD].iter().all(|&v| v == 0.0), "kernel_scale_f32 wrote before offsetd");
    let want: Vec<f32> = x[OFFSET0..].iter().map(|v| v * scale + bias).collect();
    assert_close("kernel_scale_f32", &got[OFFSETD..], &want);

    // The float4 kernel: one work item per four floats.
    let n4 = n / 4;
    let x4: Vec<[f32; 4]> = x.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
    let mut src4 = Buffer::<[f32; 4], ReadWrite>::from_slice(&s, &x4).unwrap();
    let mut dst4 = Buffer::<[f32; 4], ReadWrite>::new(&s, n4).unwrap();
    k.scale().kernel_scale_f32_4(q, [n4], None, &mut src4, 16, &mut dst4, 0, scale, bias).unwrap();
    let got4: Vec<f32> = dst4.read(q).unwrap().into_iter().flatten().collect();
    let want4: Vec<f32> = x[4..4 + n4 * 4].iter().map(|v| v * scale + bias).collect();
    assert_close("kernel_scale_f32_4", &got4[..want4.len()], &want4);
    assert_served_embedded("ggml scale", kernels::BUNDLE.bytes(), &s, &k.report());
    eprintln!(
        "ggml: kernel_scale_f32 ({n} floats, byte offsets {}/{}) and kernel_scale_f32_4 ({n4} float4) match the CPU",
        OFFSET0 * 4,
        OFFSETD * 4
    );
}

#[test]
fn ggml_relu_and_clamp_match_the_cpu() {
    let s = session();
    let k = kernels(&s);
    let q = s.queue();
    let n = 777;
    let x: Vec<f32> = values(n + OFFSET0, 2).into_iter().map(|v| v * 4.0).collect();
    let mut src = Buffer::<f32, ReadWrite>::from_slice(&s, &x).unwrap();

    let mut dst = Buffer::<f32, ReadWrite>::new(&s, n + OFFSETD).unwrap();
    k.relu().kernel_relu(q, [n], None, &mut src, (OFFSET0 * 4) as u64, &mut dst, (OFFSETD * 4) as u64).unwrap();
    let want: Vec<f32> = x[OFFSET0..].iter().map(|v| v.max(0.0)).collect();
    assert_eq!(dst.read(q).unwrap()[OFFSETD..], want[..], "kernel_relu vs max(0, x)");

    let (lo, hi) = (-1.5f32, 2.25f32);
    let mut dst = Buffer::<f32, ReadWrite>::new(&s, n + OFFSETD).unwrap();
    k.clamp().kernel_clamp(q, [n], None, &mut src, (OFFSET0 * 4) as u64, &mut dst, (OFFSETD * 4) as u64, lo, hi).unwrap();
    let want: Vec<f32> = x[OFFSET0..].iter().map(|v| v.clamp(lo, hi)).collect();
    assert_eq!(dst.read(q).unwrap()[OFFSETD..], want[..], "kernel_clamp vs clamp(x, {lo}, {hi})");
    assert_served_embedded("ggml relu/clamp", kernels::BUNDLE.bytes(), &s, &k.report());
    eprintln!("ggml: kernel_relu and kernel_clamp ({n} floats, byte offsets) match the CPU exactly");
}

#[test]
fn ggml_pad_takes_void_pointers_as_buffers_of_any_element_type() {
    let s = session();
    let k = kernels(&s);
    let q = s.queue();
    // A 5x3 float tensor padded by 1 left, 2 right, 1 on top: 8x4, written at a byte offset.
    let (w, h) = (5usize, 3usize);
    let (lp0, rp0, lp1) = (1usize, 2usize, 1usize);
    let (ne0, ne1) = (w + lp0 + rp0, h + lp1);
    let x = values(w * h, 3);
    let mut src = Buffer::<f32, ReadWrite>::from_slice(&s, &x).unwrap();
    let mut dst = Buffer::<f32, ReadWrite>::new(&s, OFFSETD + ne0 * ne1).unwrap();
    let (i, u) = (|v: usize| v as i32, |v: usize| v as u64);
    k.pad()
        .kernel_pad(
            q,
            [ne0, ne1, 1],
            Some([ne0, 1, 1]),
            &mut src,
            0,
            &mut dst,
            u(OFFSETD * 4),
            i(w),
            i(h),
            1,
            1,
            4,
            u(4 * w),
            u(4 * w * h),
            u(4 * w * h),
            i(ne0),
            i(ne1),
            1,
            1,
            4,
            u(4 * ne0),
            u(4 * ne0 * ne1),
            u(4 * ne0 * ne1),
            i(lp0),
            i(rp0),
            i(lp1),
            0,
            0,
            0,
            0,
            0,
        )
        .unwrap();
    let got = dst.read(q).unwrap();
    let want: Vec<f32> = (0..ne1)
        .flat_map(|r| (0..ne0).map(move |c| (r, c)))
        .map(|(r, c)| if r >= lp1 && c >= lp0 && c < ne0 - rp0 { x[(r - lp1) * w + (c - lp0)] } else { 0.0 })
        .collect();
    assert_close("kernel_pad", &got[OFFSETD..], &want);
    assert_served_embedded("ggml pad", kernels::BUNDLE.bytes(), &s, &k.report());
    eprintln!("ggml: kernel_pad (void* tensors) pads a {w}x{h} tensor to {ne0}x{ne1} as the CPU does");
}
