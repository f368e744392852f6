// out = a * x + y, one work-item per element. The global size may be rounded up to a
// multiple of the work-group size: work-items past n return without writing.
__kernel void saxpy(const float a, __global const float* x, __global const float* y, __global float* out, const int n) {
    const int i = get_global_id(0);
    if (i < n) {
        out[i] = a * x[i] + y[i];
    }
}
