// Kernels of every parameter kind a typed method can name, for the typed round-trip tests
// (cli/tests/it/typed.rs). Plain OpenCL C 1.2: `half` only as storage (vload_half /
// vstore_half), which needs no cl_khr_fp16.
// clbake:launch scale_half 64 x=64 y=64 a=2.0 n=64

__kernel void scale_half(__global const half* x, __global half* y, float a, int n) {
    int i = get_global_id(0);
    if (i < n) vstore_half(a * vload_half(i, x), i, y);
}

__kernel void axpy4(__global const float4* x, __global float4* y, float4 a, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = a * x[i] + y[i];
}

__kernel void invert_rgba(__global const uchar4* x, __global uchar4* y, uchar4 mask, int n) {
    int i = get_global_id(0);
    if (i < n) y[i] = (uchar4)(255) - x[i] ^ mask;
}

__kernel void sum_local(__global const int* x, __global int* sums, __local int* tmp, uint n) {
    uint g = get_global_id(0), l = get_local_id(0);
    tmp[l] = g < n ? x[g] : 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (l == 0) {
        int s = 0;
        for (uint i = 0; i < get_local_size(0); i++) s += tmp[i];
        sums[get_group_id(0)] = s;
    }
}

__kernel void double_bytes(__global const uchar* x, __global ushort* y, long n) {
    long i = get_global_id(0);
    if (i < n) y[i] = (ushort)x[i] * 2;
}
