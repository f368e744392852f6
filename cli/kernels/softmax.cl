/*
 * Row-wise softmax of a [rows, cols] row-major matrix, numerically stable
 * (the row maximum is subtracted before exp).
 * Global size (rows) (or rounded up), any local size; one work-item per row.
 */
#include "common.h"

__kernel void softmax(__global const float* x,
                      __global float* y,
                      int rows, int cols)
{
    const int r = get_global_id(0);
    if (r >= rows) return;

    __global const float* xr = x + (size_t)r * cols;
    __global float* yr = y + (size_t)r * cols;

    float m = -INFINITY;
    for (int j = 0; j < cols; ++j) m = fmax(m, xr[j]);

    float s = 0.0f;
    for (int j = 0; j < cols; ++j) {
        const float e = exp(xr[j] - m);
        yr[j] = e;
        s += e;
    }
    const float inv = 1.0f / s;
    for (int j = 0; j < cols; ++j) yr[j] *= inv;
}
