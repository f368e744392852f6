/*
 * Depthwise 2-D convolution (one filter per channel, channel multiplier 1),
 * NCHW, zero padding, bias and a fused activation (ACT, see common.h).
 *
 *   in   [N, C, H, W]
 *   w    [C, 1, KH, KW]
 *   bias [C]
 *   out  [N, C, H_out, W_out],  H_out = (H + 2*pad - KH) / stride + 1
 *
 * Global size (W_out, H_out, N*C), any local size; out-of-range work-items
 * do nothing.
 */
// clbake:variant none -DACT=0
// clbake:variant relu -DACT=1
// clbake:variant relu6 -DACT=2
#include "common.h"

__kernel void depthwise_conv2d(__global const float* in,
                               __global const float* w,
                               __global const float* bias,
                               __global float* out,
                               int N, int C, int H, int W,
                               int KH, int KW, int stride, int pad,
                               int H_out, int W_out)
{
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int z = get_global_id(2);
    if (x >= W_out || y >= H_out || z >= N * C) return;

    const int c = z % C;
    const int iy0 = y * stride - pad;
    const int ix0 = x * stride - pad;
    const int ky0 = max(0, -iy0);
    const int ky1 = min(KH, H - iy0);
    const int kx0 = max(0, -ix0);
    const int kx1 = min(KW, W - ix0);

    /* z = n*C + c, so the input plane of (n, c) starts at z*H*W. */
    __global const float* in_c = in + (size_t)z * H * W;
    __global const float* w_c = w + c * KH * KW;
    float acc = bias[c];
    for (int ky = ky0; ky < ky1; ++ky) {
        const int row = (iy0 + ky) * W + ix0;
        for (int kx = kx0; kx < kx1; ++kx) {
            acc += in_c[row + kx] * w_c[ky * KW + kx];
        }
    }
    out[((size_t)z * H_out + y) * W_out + x] = apply_act(acc);
}
