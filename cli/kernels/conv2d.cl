/*
 * 2-D convolution (cross-correlation), NCHW, zero padding, bias and a fused
 * activation (ACT, see common.h).
 *
 *   in   [N, C_in, H, W]
 *   w    [C_out, C_in, KH, KW]
 *   bias [C_out]
 *   out  [N, C_out, H_out, W_out],  H_out = (H + 2*pad - KH) / stride + 1
 *
 * Global size (W_out, H_out, N*C_out), any local size; work-items outside the
 * output (global size rounded up) do nothing.
 */
// clbake:variant none -DACT=0
// clbake:variant relu -DACT=1
// clbake:variant relu6 -DACT=2
// clbake:tune conv2d_3x3 64,64,16 N=1 C_in=8 H=64 W=64 C_out=16 stride=1 pad=1 H_out=64 W_out=64 in=N*C_in*H*W w=C_out*C_in*9 bias=C_out out=N*C_out*H_out*W_out
// The digits demo's two convolutions (src/cli/demo.rs, 450 images), warmed at bake time:
// clbake:launch conv2d_3x3 8,8,3600 N=450 C_in=1 H=8 W=8 C_out=8 stride=1 pad=1 H_out=8 W_out=8 in=N*C_in*H*W w=C_out*C_in*9 bias=C_out out=N*C_out*H_out*W_out
// clbake:launch conv2d_3x3 4,4,7200 N=450 C_in=8 H=4 W=4 C_out=16 stride=1 pad=1 H_out=4 W_out=4 in=N*C_in*H*W w=C_out*C_in*9 bias=C_out out=N*C_out*H_out*W_out
#include "common.h"

__kernel void conv2d(__global const float* in,
                     __global const float* w,
                     __global const float* bias,
                     __global float* out,
                     int N, int C_in, int H, int W, int C_out,
                     int KH, int KW, int stride, int pad,
                     int H_out, int W_out)
{
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int z = get_global_id(2);
    if (x >= W_out || y >= H_out || z >= N * C_out) return;

    const int n = z / C_out;
    const int co = z - n * C_out;
    const int iy0 = y * stride - pad;
    const int ix0 = x * stride - pad;

    /* Clip the window to the input once instead of testing every tap. */
    const int ky0 = max(0, -iy0);
    const int ky1 = min(KH, H - iy0);
    const int kx0 = max(0, -ix0);
    const int kx1 = min(KW, W - ix0);

    float acc = bias[co];
    __global const float* in_n = in + (size_t)n * C_in * H * W;
    __global const float* w_co = w + (size_t)co * C_in * KH * KW;
    for (int ci = 0; ci < C_in; ++ci) {
        __global const float* in_c = in_n + (size_t)ci * H * W;
        __global const float* w_c = w_co + ci * KH * KW;
        for (int ky = ky0; ky < ky1; ++ky) {
            const int row = (iy0 + ky) * W + ix0;
            for (int kx = kx0; kx < kx1; ++kx) {
                acc += in_c[row + kx] * w_c[ky * KW + kx];
            }
        }
    }
    out[((size_t)z * H_out + y) * W_out + x] = apply_act(acc);
}

/* One 3x3 tap; the bounds test folds away on interior pixels. */
#define CONV3_TAP(ky, kx)                                                     \
    if (rv##ky && cv##kx)                                                     \
        acc += in_c[(iy0 + ky) * W + ix0 + kx] * w_c[ky * 3 + kx];

/*
 * conv2d specialised for 3x3 kernels (KH = KW = 3), fully unrolled.
 * Same layout and global size as conv2d; w is [C_out, C_in, 3, 3].
 */
__kernel void conv2d_3x3(__global const float* in,
                         __global const float* w,
                         __global const float* bias,
                         __global float* out,
                         int N, int C_in, int H, int W, int C_out,
                         int stride, int pad,
                         int H_out, int W_out)
{
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int z = get_global_id(2);
    if (x >= W_out || y >= H_out || z >= N * C_out) return;

    const int n = z / C_out;
    const int co = z - n * C_out;
    const int iy0 = y * stride - pad;
    const int ix0 = x * stride - pad;

    const bool rv0 = iy0 >= 0 && iy0 < H;
    const bool rv1 = iy0 + 1 >= 0 && iy0 + 1 < H;
    const bool rv2 = iy0 + 2 >= 0 && iy0 + 2 < H;
    const bool cv0 = ix0 >= 0 && ix0 < W;
    const bool cv1 = ix0 + 1 >= 0 && ix0 + 1 < W;
    const bool cv2 = ix0 + 2 >= 0 && ix0 + 2 < W;

    float acc = bias[co];
    __global const float* in_n = in + (size_t)n * C_in * H * W;
    __global const float* w_co = w + (size_t)co * C_in * 9;
    for (int ci = 0; ci < C_in; ++ci) {
        __global const float* in_c = in_n + (size_t)ci * H * W;
        __global const float* w_c = w_co + ci * 9;
        CONV3_TAP(0, 0) CONV3_TAP(0, 1) CONV3_TAP(0, 2)
        CONV3_TAP(1, 0) CONV3_TAP(1, 1) CONV3_TAP(1, 2)
        CONV3_TAP(2, 0) CONV3_TAP(2, 1) CONV3_TAP(2, 2)
    }
    out[((size_t)z * H_out + y) * W_out + x] = apply_act(acc);
}
