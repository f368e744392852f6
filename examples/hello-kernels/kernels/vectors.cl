// Vector and half-precision types: a float4 kernel (`float4` is `[f32; 4]` in Rust) and a
// kernel over half values (`half` is `clbake::Half`, the `half` crate's f16). Loading and
// storing half with vload_half / vstore_half needs no cl_khr_fp16 extension.
// clbake:launch scale4 25024/64 x=n y=n k=2.0 n=25000
// clbake:launch to_half 100032/64 x=n y=n n=100003

__kernel void scale4(__global const float4* x, __global float4* y, const float4 k, const int n) {
    const int i = get_global_id(0);
    if (i < n) {
        y[i] = k * x[i];
    }
}

__kernel void to_half(__global const float* x, __global half* y, const int n) {
    const int i = get_global_id(0);
    if (i < n) {
        vstore_half(x[i], i, y);
    }
}
