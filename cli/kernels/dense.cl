/*
 * Fully connected layer with bias and fused activation (ACT, see common.h):
 *   y[n, m] = act(bias[m] + sum_k x[n, k] * w[m, k])
 *
 *   x    [N, K]     (batch, in features)
 *   w    [M, K]     (out features, in features — PyTorch nn.Linear layout)
 *   bias [M]
 *   y    [N, M]
 *
 * Global size (M, N) (or rounded up), any local size: id 0 = m, 1 = n.
 */
// clbake:variant none -DACT=0
// clbake:variant relu -DACT=1
// clbake:tune dense 256,64 N=64 K=512 M=256 x=N*K w=M*K bias=M y=N*M
// The digits demo's classifier (src/cli/demo.rs, 450 images), warmed at bake time:
// clbake:launch dense 10,450 N=450 K=64 M=10 x=N*K w=M*K bias=M y=N*M
#include "common.h"

__kernel void dense(__global const float* x,
                    __global const float* w,
                    __global const float* bias,
                    __global float* y,
                    int N, int K, int M)
{
    const int m = get_global_id(0);
    const int n = get_global_id(1);
    if (m >= M || n >= N) return;

    __global const float* xr = x + (size_t)n * K;
    __global const float* wr = w + (size_t)m * K;
    float acc = 0.0f;
    for (int k = 0; k < K; ++k) {
        acc += xr[k] * wr[k];
    }
    y[(size_t)n * M + m] = apply_act(acc + bias[m]);
}
