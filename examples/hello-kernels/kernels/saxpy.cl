// out = a * x + y, one work-item per element. The global size may be rounded up to a
// multiple of the work-group size: work-items past n return without writing.
// The launch src/main.rs makes (n = 100003, 64 work-items per group), run at bake time so the
// binary already holds the code the driver compiles for it:
// clbake:launch saxpy 100032/64 a=2.5 x=n y=n out=n n=100003
__kernel void saxpy(const float a, __global const float* x, __global const float* y, __global float* out, const int n) {
    const int i = get_global_id(0);
    if (i < n) {
        out[i] = a * x[i] + y[i];
    }
}
