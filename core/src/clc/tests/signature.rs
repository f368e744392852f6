//! Kernel signatures.
use super::{err, one, pairs, sig};
use crate::clc::{kernel_names, read, resolve_type_name, AccessQualifier as Acc, AddressQualifier as Addr, TypeQualifiers as Q};
use std::collections::BTreeMap;

#[test]
fn macro_types_and_option_overrides() {
    let src = "#ifndef T\n#define T float\n#endif\n__kernel void k(__global T* x, T s) {}";
    assert_eq!(sig(&one(src, "")), pairs(&[("float*", "x"), ("float", "s")]));
    assert_eq!(sig(&one(src, "-D T=half")), pairs(&[("half*", "x"), ("half", "s")]));
    assert_eq!(sig(&one("kernel void k(global T* x) {}", "-DT=uint4")), pairs(&[("uint4*", "x")]));
}

#[test]
fn function_like_macros_make_several_parameters() {
    let src = "#define TENSOR3D(name) __global uchar* name##_ptr, uint name##_stride_x, uint name##_offset\n\
               kernel void k(TENSOR3D(src), TENSOR3D(dst)) {}";
    let k = one(src, "");
    assert_eq!(
        sig(&k),
        pairs(&[
            ("uchar*", "src_ptr"),
            ("uint", "src_stride_x"),
            ("uint", "src_offset"),
            ("uchar*", "dst_ptr"),
            ("uint", "dst_stride_x"),
            ("uint", "dst_offset")
        ])
    );
    assert_eq!((k.params[0].address, k.params[1].address), (Addr::Global, Addr::Private));
    // Variadic and nested macros, and a kernel name made by pasting.
    let src = "#define PARAMS(...) __VA_ARGS__\n#define VEC(t, n) t##n\n#define NAME_(s) copy_##s\n#define NAME(s) NAME_(s)\n\
               kernel void NAME(VEC(float, 4))(PARAMS(global VEC(float, 4)* a, int n)) {}";
    let k = one(src, "");
    assert_eq!(k.name, "copy_float4");
    assert_eq!(sig(&k), pairs(&[("float4*", "a"), ("int", "n")]));
}

#[test]
fn ifdef_inside_the_parameter_list() {
    let src = "kernel void k(global float* x,\n#ifdef USE_X\n  int x_stride,\n#endif\n  int n) {}";
    assert_eq!(sig(&one(src, "-DUSE_X")), pairs(&[("float*", "x"), ("int", "x_stride"), ("int", "n")]));
    assert_eq!(sig(&one(src, "")), pairs(&[("float*", "x"), ("int", "n")]));
    // The same with a device-dependent condition: no signature, and why.
    let src = "kernel void k(global float* x,\n#ifdef cl_khr_fp16\n  int x_stride,\n#endif\n  int n) {}";
    let e = err(src, "");
    assert_eq!(e, "parameter 2 (`x_stride`) depends on `cl_khr_fp16`, which depends on the device");
}

#[test]
fn device_dependent_types_and_kernels_are_errors() {
    let src = "#if defined(cl_khr_fp16)\n#define REAL half\n#else\n#define REAL float\n#endif\nkernel void k(global REAL* x, int n) {}";
    let e = err(src, "");
    assert!(e.contains("parameter 1 (`x`)") && e.contains("cl_khr_fp16"), "{e}");
    let src = "kernel void a(int n) {}\n#ifdef cl_intel_subgroups\nkernel void sub(global float* x) {}\n#endif\n";
    let r = read(src, "");
    assert_eq!(kernel_names(src, ""), ["a", "sub"]);
    assert!(r.kernels[0].1.is_ok());
    assert_eq!(r.kernels[1].1, Err("declared under a conditional that depends on the device (`cl_intel_subgroups`)".into()));
    // The else arm of a device-dependent conditional is uncertain too.
    let src = "#ifdef cl_intel_subgroups\n#else\nkernel void plain(int n) {}\n#endif\n";
    assert!(err(src, "").contains("cl_intel_subgroups"));
    // A kernel whose typedef depends on the device.
    let src = "#ifdef cl_khr_fp64\ntypedef double real;\n#else\ntypedef float real;\n#endif\nkernel void k(global real* x) {}";
    assert!(err(src, "").contains("cl_khr_fp64"));
    // A device-dependent macro that expands to nothing inside the list.
    let src = "#ifdef cl_khr_fp16\n#define EXTRA , global half* h\n#endif\n#ifndef EXTRA\n#define EXTRA\n#endif\nkernel void k(global float* x EXTRA) {}";
    assert!(err(src, "").contains("parameter 1 (`x`) depends on `cl_khr_fp16`"));
}

#[test]
fn device_dependent_attributes_other_than_the_size_are_fine() {
    let src = "#ifdef cl_intel_required_subgroup_size\n#define INTEL_GPU 1\n#define REQD_SUBGROUP_SIZE_16 __attribute__((intel_reqd_sub_group_size(16)))\n\
               #elif defined(cl_qcom_reqd_sub_group_size)\n#define ADRENO_GPU 1\n#define REQD_SUBGROUP_SIZE_64 __attribute__((qcom_reqd_sub_group_size(\"half\")))\n#endif\n\
               #ifdef INTEL_GPU\nREQD_SUBGROUP_SIZE_16\n#elif defined (ADRENO_GPU)\nREQD_SUBGROUP_SIZE_64\n#endif\n\
               kernel void kernel_add(global char* src0, ulong offset0) {}";
    let k = one(src, "");
    assert_eq!(sig(&k), pairs(&[("char*", "src0"), ("ulong", "offset0")]));
    let src = "#ifdef cl_intel_subgroups\n__attribute__((reqd_work_group_size(16, 1, 1)))\n#endif\nkernel void k(int n) {}";
    assert!(err(src, "").contains("reqd_work_group_size depends on `cl_intel_subgroups`"));
    // A macro redefined under a device-dependent conditional hides its other definition.
    let src = "#define ATTR __attribute__((reqd_work_group_size(64, 1, 1)))\n#ifdef cl_intel_subgroups\n#undef ATTR\n#define ATTR __attribute__((intel_reqd_sub_group_size(16)))\n#endif\nATTR kernel void k(int n) {}";
    assert!(err(src, "").contains("cl_intel_subgroups"), "{:?}", read(src, ""));
}

#[test]
fn every_parameter_kind() {
    let k = one(
        "kernel void k(__global const float* restrict a, global float* const b, __constant int* c, __local float4* l,\n\
         __private const int n, const uint m, volatile global int* v, global float* __restrict r, unsigned char u, unsigned w,\n\
         signed char sc, long int li, unsigned short int us, float const __global* restrict g) {}",
        "",
    );
    let got: Vec<(&str, &str, Addr, Acc, u32)> =
        k.params.iter().map(|p| (p.name.as_str(), p.type_name.as_str(), p.address, p.access, p.type_qualifiers.0)).collect();
    let (c, r, v) = (Q::CONST.0, Q::RESTRICT.0, Q::VOLATILE.0);
    assert_eq!(
        got,
        [
            ("a", "float*", Addr::Global, Acc::None, c | r),
            ("b", "float*", Addr::Global, Acc::None, 0),
            ("c", "int*", Addr::Constant, Acc::None, c),
            ("l", "float4*", Addr::Local, Acc::None, 0),
            ("n", "int", Addr::Private, Acc::None, c),
            ("m", "uint", Addr::Private, Acc::None, c),
            ("v", "int*", Addr::Global, Acc::None, v),
            ("r", "float*", Addr::Global, Acc::None, r),
            ("u", "uchar", Addr::Private, Acc::None, 0),
            ("w", "uint", Addr::Private, Acc::None, 0),
            ("sc", "char", Addr::Private, Acc::None, 0),
            ("li", "long", Addr::Private, Acc::None, 0),
            ("us", "ushort", Addr::Private, Acc::None, 0),
            ("g", "float*", Addr::Global, Acc::None, c | r),
        ]
    );
}

#[test]
fn images_and_samplers() {
    let k = one(
        "kernel void k(__read_only image2d_t src, write_only image2d_t dst, image3d_t vol, read_write image1d_buffer_t b, sampler_t s) {}",
        "",
    );
    let got: Vec<(&str, Addr, Acc)> = k.params.iter().map(|p| (p.type_name.as_str(), p.address, p.access)).collect();
    assert_eq!(
        got,
        [
            ("image2d_t", Addr::Global, Acc::ReadOnly),
            ("image2d_t", Addr::Global, Acc::WriteOnly),
            ("image3d_t", Addr::Global, Acc::ReadOnly),
            ("image1d_buffer_t", Addr::Global, Acc::ReadWrite),
            ("sampler_t", Addr::Private, Acc::None),
        ]
    );
}

#[test]
fn parse_problems_name_the_parameter() {
    for (src, want) in [
        ("kernel void k(__private float* p) {}", "parameter 1 (`p`): `__private` pointers cannot be kernel arguments"),
        (
            "kernel void k(int n, float* p) {}",
            "parameter 2 (`p`): a pointer parameter must point to `__global`, `__constant` or `__local` memory",
        ),
        ("kernel void k(global float** p) {}", "pointers to pointers"),
        ("kernel void k(global float p[4]) {}", "array parameters"),
        ("kernel void k(global DATA_TYPE* p) {}", "parameter 1 (`p`): unknown type name `DATA_TYPE`"),
        ("kernel void k(global int* p, T n) {}", "parameter 2 (`n`): unknown type name `T`"),
        ("kernel void k(restrict int n) {}", "`restrict` applies to pointers"),
        ("kernel void k(global int n) {}", "by-value"),
        ("kernel void k(read_only int n) {}", "access qualifiers"),
        ("kernel int k(int n) {}", "kernels must return `void` (found `int`)"),
        ("kernel void k(long long n) {}", "not an OpenCL C type"),
        ("kernel void k(int n, float4*);", "parameter 2: a pointer parameter must point"),
        ("kernel void k(int n, global float4**);", "parameter 2: pointers to pointers"),
        ("kernel void k(unsigned float n) {}", "not an OpenCL C type"),
    ] {
        assert!(err(src, "").contains(want), "{src}: {}", err(src, ""));
    }
}

#[test]
fn prototypes_definitions_and_duplicates() {
    let src = "kernel void k(global float*, int);\nkernel void other(void) {}\nkernel void k(global float* x, int n) { }\nkernel void k(global float* y, int m);";
    let r = read(src, "");
    assert_eq!(kernel_names(src, ""), ["k", "other"]);
    let k = r.kernels[0].1.as_ref().unwrap();
    assert_eq!(sig(k), pairs(&[("float*", "x"), ("int", "n")]));
    assert_eq!(r.kernels[1].1.as_ref().map(|k| k.params.len()), Ok(0));
    let src = "kernel void k(global float* x);\nkernel void k(global int* x) {}";
    assert_eq!(err(src, ""), "kernel declared twice with different parameters");
    // Not kernels: functions, a kernel keyword in a body, strings.
    let src = "void helper(global float* x) { }\nconstant char* s = \"kernel void fake(int a)\";\nkernel void real(int n) { int y = 0; }";
    assert_eq!(kernel_names(src, ""), ["real"]);
}

#[test]
fn reqd_work_group_size_and_attributes() {
    let src = "__attribute__((reqd_work_group_size(TILE, TILE, 1))) kernel void k(int n) {}";
    assert_eq!(one(src, "-DTILE=8").reqd_work_group_size, Some([8, 8, 1]));
    assert!(err(src, "").contains("`TILE` is not defined"));
    let src = "kernel __attribute__((vec_type_hint(float4))) __attribute__((reqd_work_group_size(4*4, 2, 1u))) void k(int n) {}";
    assert_eq!(one(src, "").reqd_work_group_size, Some([16, 2, 1]));
    let src = "kernel void __attribute__((reqd_work_group_size(64, 1, 1))) k(int n) {}";
    assert_eq!(one(src, "").reqd_work_group_size, Some([64, 1, 1]));
    let src = "kernel void k(int n) __attribute__((reqd_work_group_size(32, 1, 1))) {}";
    assert_eq!(one(src, "").reqd_work_group_size, Some([32, 1, 1]));
    let src = "void __kernel __attribute__((reqd_work_group_size(1, 2, 3))) k(int n) {}";
    assert_eq!(one(src, "").reqd_work_group_size, Some([1, 2, 3]));
    assert!(err("__attribute__((reqd_work_group_size(0, 1, 1))) kernel void k() {}", "").contains("positive"));
    assert!(err("__attribute__((reqd_work_group_size(1, 1))) kernel void k() {}", "").contains("3 values"));
    assert_eq!(one("kernel void k() {}", "").reqd_work_group_size, None);
}

#[test]
fn typedefs_resolve() {
    let src = "typedef float real;\ntypedef real4_base real_alias_bad;\ntypedef unsigned int u32;\ntypedef float4 vec;\ntypedef struct { float x; } Point;\n\
               typedef const float cfloat;\nkernel void k(global const real* x, u32 n, global vec* v, global cfloat* c, global Point* p) {}";
    let r = read(src, "");
    let k = r.kernels[0].1.as_ref();
    assert!(k.is_ok(), "{r:?}");
    let k = k.unwrap();
    assert_eq!(sig(k), pairs(&[("float*", "x"), ("uint", "n"), ("float4*", "v"), ("float*", "c"), ("struct Point*", "p")]));
    assert!(k.params[3].type_qualifiers.contains(Q::CONST));
    let want: BTreeMap<String, String> =
        [("real", "float"), ("u32", "uint"), ("vec", "float4"), ("Point", "struct Point"), ("cfloat", "float")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(r.typedefs, want);
    assert_eq!(resolve_type_name("real*", &r.typedefs), "float*");
    assert_eq!(resolve_type_name("real", &r.typedefs), "float");
    assert_eq!(resolve_type_name("float*", &r.typedefs), "float*");
    assert_eq!(resolve_type_name("other*", &r.typedefs), "other*");
    let e = err("typedef global float* gptr;\nkernel void k(gptr p) {}", "");
    assert!(e.contains("typedef `gptr` hides a pointer"), "{e}");
}

#[test]
fn errors_of_the_program_are_reported_with_kernels() {
    let src = "#line 1 \"blur.cl\"\n#ifndef BORDER\n#error \"No extrapolation method\"\n#endif\nkernel void k(int n) {}";
    let r = read(src, "");
    assert_eq!(r.errors, ["blur.cl:2: #error \"No extrapolation method\""]);
    assert!(read(src, "-DBORDER").errors.is_empty());
    assert_eq!(r.kernels.len(), 1);
}
