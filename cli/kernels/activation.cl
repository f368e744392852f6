/*
 * Element-wise activations, y[i] = f(x[i]) for i < n.
 * Global size (n) or more (rounded up), any local size. In-place (x == y) is fine.
 */
#include "common.h"

__kernel void relu(__global const float* x, __global float* y, int n)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = act_relu(x[i]);
}

/* min(max(x, 0), 6) */
__kernel void relu6(__global const float* x, __global float* y, int n)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = act_relu6(x[i]);
}

/* 1 / (1 + exp(-x)) */
__kernel void sigmoid_act(__global const float* x, __global float* y, int n)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = act_sigmoid(x[i]);
}

__kernel void tanh_act(__global const float* x, __global float* y, int n)
{
    const int i = get_global_id(0);
    if (i < n) y[i] = act_tanh(x[i]);
}
