/*
 * Element-wise arithmetic. Global size (total / n) or more, any local size.
 */
// clbake:tune eltwise_add 1048576 n=1048576 a=n b=n y=n
#include "common.h"

/*
 * Per-channel bias on an NCHW tensor: y[i] = x[i] + bias[(i / spatial) % C],
 * spatial = H*W, total = N*C*H*W.
 */
__kernel void bias_add(__global const float* x,
                       __global const float* bias,
                       __global float* y,
                       int C, int spatial, int total)
{
    const int i = get_global_id(0);
    if (i < total) y[i] = x[i] + bias[(i / spatial) % C];
}

/* y[i] = a[i] + b[i] */
__kernel void eltwise_add(__global const float* a,
                          __global const float* b,
                          __global float* y,
                          int n)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = a[i] + b[i];
}

/* y[i] = a[i] * b[i] */
__kernel void eltwise_mul(__global const float* a,
                          __global const float* b,
                          __global float* y,
                          int n)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = a[i] * b[i];
}
