// One file, two programs: each `clbake:variant` line becomes a program named
// reduce_<variant>, built with the options after the name (Program::ReduceSum and
// Program::ReduceMax in Rust).
// clbake:variant sum -DOP_SUM
// clbake:variant max -DOP_MAX
#include "ops.h"
// The launch src/main.rs makes: 32 groups of 64, over n = 100003 floats.
// clbake:launch reduce 2048/64 in=n partial=32 tmp=64 n=100003

// Each work-group folds a grid-stride slice of `in` into one value in partial[group].
// The local size must be a power of two; `tmp` holds one float per work-item.
__kernel void reduce(__global const float* in, __global float* partial, __local float* tmp, const int n) {
    const int lid = get_local_id(0);
    float acc = IDENTITY;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
        acc = COMBINE(acc, in[i]);
    }
    tmp[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) {
            tmp[lid] = COMBINE(tmp[lid], tmp[lid + s]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) {
        partial[get_group_id(0)] = tmp[0];
    }
}
