// Images and samplers for the typed round-trip tests: a 2D copy through a sampler with a
// colour scale, and a write-only fill.

__kernel void scale_image(__read_only image2d_t src, __write_only image2d_t dst, sampler_t smp, float4 k) {
    int2 p = (int2)(get_global_id(0), get_global_id(1));
    write_imagef(dst, p, read_imagef(src, smp, p) * k);
}

__kernel void fill_image(__write_only image2d_t dst, float4 colour) {
    write_imagef(dst, (int2)(get_global_id(0), get_global_id(1)), colour);
}
