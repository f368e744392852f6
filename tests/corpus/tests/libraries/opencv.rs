//! Typed calls of OpenCV imgproc kernels (baked by build.rs with per-program options)
//! against the CPU: `threshold` (`-D THRESH_BINARY -D T=uchar -D T1=uchar`, so `thresh` is a
//! `u8`) and the 3x3 box filter (`-D BORDER_REFLECT_101 -D NORMALIZE`, which adds `alpha`).
//! Images are OpenCV `UMat`s: bytes with a row step and an offset.

use crate::common::{assert_served_embedded, bytes, session};
use clbake::{Buffer, LoadOptions, ReadOnly, ReadWrite};

mod kernels {
    clbake::include_kernels!("opencv");
}

fn kernels(s: &clbake::Session) -> kernels::Kernels {
    kernels::Kernels::with_options(s, &LoadOptions::default(), false).expect("the opencv bundle opens")
}

#[test]
fn opencv_threshold_matches_the_cpu() {
    let s = session();
    let k = kernels(&s);
    let q = s.queue();
    let (rows, cols) = (7usize, 13usize);
    let (src_step, src_offset, dst_step, dst_offset) = (16usize, 3usize, 20usize, 5usize);
    let src = bytes(src_offset + rows * src_step, 3);
    let (thresh, max_val) = (100u8, 200u8);
    let fill = 7u8;
    let dsrc = Buffer::<u8, ReadOnly>::from_slice(&s, &src).unwrap();
    let mut ddst = Buffer::<u8, ReadWrite>::from_slice(&s, &vec![fill; dst_offset + rows * dst_step]).unwrap();
    let i = |v: usize| v as i32;
    k.imgproc_threshold()
        .threshold(
            q,
            [cols, rows],
            None,
            &dsrc,
            i(src_step),
            i(src_offset),
            &mut ddst,
            i(dst_step),
            i(dst_offset),
            i(rows),
            i(cols),
            thresh,
            max_val,
            0,
        )
        .unwrap();
    let mut want = vec![fill; dst_offset + rows * dst_step];
    for y in 0..rows {
        for x in 0..cols {
            want[dst_offset + y * dst_step + x] = if src[src_offset + y * src_step + x] > thresh { max_val } else { 0 };
        }
    }
    assert_eq!(ddst.read(q).unwrap(), want, "threshold (THRESH_BINARY) vs the CPU, padding between rows untouched");
    assert_served_embedded("opencv threshold", kernels::BUNDLE.bytes(), &s, &k.report());
    eprintln!("opencv: imgproc/threshold on a {cols}x{rows} image (steps {src_step}/{dst_step}, offsets {src_offset}/{dst_offset}) matches the CPU");
}

/// `i` reflected into `0..n` as `BORDER_REFLECT_101` does (`-1` is `1`, `n` is `n - 2`).
fn reflect101(i: isize, n: usize) -> usize {
    let n = n as isize;
    (if i < 0 {
        -i
    } else if i >= n {
        2 * n - 2 - i
    } else {
        i
    }) as usize
}

#[test]
fn opencv_box_filter_matches_the_cpu() {
    let s = session();
    let k = kernels(&s);
    let q = s.queue();
    // The kernel works on blocks of 16 columns and 2 rows of an 8-bit single-channel image;
    // steps are in bytes and must be multiples of 4 (it loads `uint`s).
    let (rows, cols, src_step, dst_step) = (8usize, 32usize, 48usize, 40usize);
    let src = bytes(rows * src_step, 4);
    let words = |b: &[u8]| b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect::<Vec<u32>>();
    let dsrc = Buffer::<u32, ReadOnly>::from_slice(&s, &words(&src)).unwrap();
    let mut ddst = Buffer::<u32, ReadWrite>::new(&s, rows * dst_step / 4).unwrap();
    let alpha = 1.0f32 / 9.0;
    let i = |v: usize| v as i32;
    k.imgproc_box_filter3x3()
        .box_filter3x3_8_uc1_cols16_rows2(
            q,
            [cols / 16, rows / 2],
            None,
            &dsrc,
            i(src_step),
            &mut ddst,
            i(dst_step),
            i(rows),
            i(cols),
            alpha,
        )
        .unwrap();
    let got: Vec<u8> = ddst.read(q).unwrap().into_iter().flat_map(u32::to_le_bytes).collect();
    for y in 0..rows {
        for x in 0..cols {
            let mut sum = 0u32;
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    sum += u32::from(src[reflect101(y as isize + dy, rows) * src_step + reflect101(x as isize + dx, cols)]);
                }
            }
            let want = (sum as f32 * alpha).round_ties_even().clamp(0.0, 255.0) as u8;
            let at = y * dst_step + x;
            assert_eq!(got[at], want, "box filter at row {y}, column {x}: 3x3 sum {sum} times 1/9");
        }
    }
    assert_served_embedded("opencv box filter", kernels::BUNDLE.bytes(), &s, &k.report());
    eprintln!("opencv: imgproc/boxFilter3x3 (BORDER_REFLECT_101, NORMALIZE) on a {cols}x{rows} image matches the CPU exactly");
}
