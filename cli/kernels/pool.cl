/*
 * 2-D pooling over K x K windows, no padding, NCHW with N and C folded into
 * NC planes.
 *
 *   in  [NC, H, W]
 *   out [NC, H_out, W_out],  H_out = (H - K) / stride + 1
 *
 * Global size (W_out, H_out, NC), any local size; out-of-range work-items do
 * nothing.
 */
// clbake:tune max_pool2d 32,32,64 NC=64 H=64 W=64 K=2 stride=2 H_out=32 W_out=32 in=NC*H*W out=NC*H_out*W_out
// The digits demo's two poolings (src/cli/demo.rs, 450 images), warmed at bake time:
// clbake:launch max_pool2d 4,4,3600 NC=3600 H=8 W=8 K=2 stride=2 H_out=4 W_out=4 in=NC*H*W out=NC*H_out*W_out
// clbake:launch max_pool2d 2,2,7200 NC=7200 H=4 W=4 K=2 stride=2 H_out=2 W_out=2 in=NC*H*W out=NC*H_out*W_out
#include "common.h"

__kernel void max_pool2d(__global const float* in,
                         __global float* out,
                         int NC, int H, int W, int K, int stride,
                         int H_out, int W_out)
{
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int z = get_global_id(2);
    if (x >= W_out || y >= H_out || z >= NC) return;

    __global const float* p = in + ((size_t)z * H + y * stride) * W + x * stride;
    float m = -INFINITY;
    for (int ky = 0; ky < K; ++ky) {
        for (int kx = 0; kx < K; ++kx) {
            m = fmax(m, p[ky * W + kx]);
        }
    }
    out[((size_t)z * H_out + y) * W_out + x] = m;
}

/* Average over the K*K window (the divisor is always K*K). */
__kernel void avg_pool2d(__global const float* in,
                         __global float* out,
                         int NC, int H, int W, int K, int stride,
                         int H_out, int W_out)
{
    const int x = get_global_id(0);
    const int y = get_global_id(1);
    const int z = get_global_id(2);
    if (x >= W_out || y >= H_out || z >= NC) return;

    __global const float* p = in + ((size_t)z * H + y * stride) * W + x * stride;
    float s = 0.0f;
    for (int ky = 0; ky < K; ++ky) {
        for (int kx = 0; kx < K; ++kx) {
            s += p[ky * W + kx];
        }
    }
    out[((size_t)z * H_out + y) * W_out + x] = s / (float)(K * K);
}
