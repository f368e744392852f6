/*
 * clbake kernel library — shared header.
 *
 * Included by every top-level program in kernels/ with `#include "common.h"`
 * (resolved by clbake's include expander, or by `-I kernels` at build time).
 * Plain OpenCL C 1.2: no extensions, no half precision.
 *
 * Compile-time knobs (all have defaults, so every kernel also builds with no
 * options at all):
 *   ACT   fused activation applied by apply_act():
 *         0 none, 1 relu, 2 relu6, 3 sigmoid, 4 tanh        (default 0)
 *   TILE  edge of the square __local tiles used by gemm_tiled (default 16)
 *
 * Layout conventions: float32 tensors, NCHW, batch outermost, contiguous.
 */
#ifndef CLBAKE_COMMON_H
#define CLBAKE_COMMON_H

#define CLBAKE_ACT_NONE 0
#define CLBAKE_ACT_RELU 1
#define CLBAKE_ACT_RELU6 2
#define CLBAKE_ACT_SIGMOID 3
#define CLBAKE_ACT_TANH 4

#ifndef ACT
#define ACT CLBAKE_ACT_NONE
#endif

#if ACT < 0 || ACT > 4
#error "ACT must be 0 (none), 1 (relu), 2 (relu6), 3 (sigmoid) or 4 (tanh)"
#endif

#ifndef TILE
#define TILE 16
#endif

/* Individual activations, usable whatever ACT is. */
float act_relu(float x) { return fmax(x, 0.0f); }
float act_relu6(float x) { return fmin(fmax(x, 0.0f), 6.0f); }
float act_sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }
float act_tanh(float x) { return tanh(x); }

/* The activation selected at compile time by ACT. */
float apply_act(float x)
{
#if ACT == CLBAKE_ACT_RELU
    return act_relu(x);
#elif ACT == CLBAKE_ACT_RELU6
    return act_relu6(x);
#elif ACT == CLBAKE_ACT_SIGMOID
    return act_sigmoid(x);
#elif ACT == CLBAKE_ACT_TANH
    return act_tanh(x);
#else
    return x;
#endif
}

#endif /* CLBAKE_COMMON_H */
