use super::*;

fn one(src: &str, options: &str) -> KernelSignature {
    let all = parse_signatures(src, options);
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap().1.unwrap()
}

fn err(src: &str) -> String {
    let all = parse_signatures(src, "");
    all.into_iter().next().unwrap().1.unwrap_err().to_string()
}

fn v(scalar: ScalarKind, width: u8) -> ValueType {
    ValueType { scalar, width }
}

#[test]
fn address_spaces_const_and_scalars() {
    let s = one(
        "__kernel void k(__global const float* in, __global float *out, global float * const p, __constant int* lut,\n\
         __local float* tile, int n, unsigned int u, unsigned m, const uchar c, signed char sc, ulong big) { }",
        "",
    );
    let tys: Vec<&ParamType> = s.params.iter().map(|p| &p.ty).collect();
    use ParamType::*;
    use ScalarKind::*;
    assert_eq!(
        tys,
        [
            &Pointer { space: AddressSpace::Global, elem: v(Float, 1), is_const: true },
            &Pointer { space: AddressSpace::Global, elem: v(Float, 1), is_const: false },
            &Pointer { space: AddressSpace::Global, elem: v(Float, 1), is_const: false },
            &Pointer { space: AddressSpace::Constant, elem: v(Int, 1), is_const: true },
            &Pointer { space: AddressSpace::Local, elem: v(Float, 1), is_const: false },
            &Value(v(Int, 1)),
            &Value(v(UInt, 1)),
            &Value(v(UInt, 1)),
            &Value(v(UChar, 1)),
            &Value(v(Char, 1)),
            &Value(v(ULong, 1)),
        ]
    );
    let names: Vec<&str> = s.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["in", "out", "p", "lut", "tile", "n", "u", "m", "c", "sc", "big"]);
    assert_eq!(s.params[0].text, "__global const float* in");
    assert!(!s.params[0].ty.is_output() && s.params[1].ty.is_output() && !s.params[4].ty.is_output());
    assert!(s.text.starts_with("__kernel void k(__global const float* in, __global float *out,"), "{}", s.text);
    assert!(s.text.ends_with("ulong big)"), "{}", s.text);
}

#[test]
fn vectors_images_samplers() {
    let s = one(
        "kernel void k(__read_only image2d_t src, write_only image2d_t dst, image3d_t vol, read_write image1d_buffer_t b,\n\
         sampler_t smp, float4 a, int2 b2, uchar16 c, double3 d, __global half8* h) {}",
        "",
    );
    use ParamType::*;
    use ScalarKind::*;
    assert_eq!(s.params[0].ty, Image { kind: ImageKind::Image2d, access: AccessQualifier::ReadOnly });
    assert_eq!(s.params[1].ty, Image { kind: ImageKind::Image2d, access: AccessQualifier::WriteOnly });
    assert!(s.params[1].ty.is_output());
    assert_eq!(s.params[2].ty, Image { kind: ImageKind::Image3d, access: AccessQualifier::ReadOnly });
    assert_eq!(s.params[3].ty, Image { kind: ImageKind::Image1dBuffer, access: AccessQualifier::ReadWrite });
    assert_eq!(s.params[4].ty, Sampler);
    assert_eq!(s.params[5].ty, Value(v(Float, 4)));
    assert_eq!(s.params[6].ty, Value(v(Int, 2)));
    assert_eq!(s.params[7].ty, Value(v(UChar, 16)));
    assert_eq!(s.params[8].ty, Value(v(Double, 3)));
    assert_eq!(v(Double, 3).size(), 32);
    assert_eq!(v(Double, 3).cl_name(), "double3");
    assert_eq!(s.params[9].ty, Pointer { space: AddressSpace::Global, elem: v(Half, 8), is_const: false });
}

#[test]
fn attributes_before_between_and_after() {
    let src = "#define TILE 16\n\
        __attribute__((reqd_work_group_size(TILE, TILE, 1)))\n__kernel void a(__global float* x) {}\n\
        __kernel __attribute__((vec_type_hint(float4))) __attribute__((reqd_work_group_size(8,4,1))) void b(int n) {}\n\
        kernel void __attribute__((work_group_size_hint(64, 1, 1))) c(void) {}\n\
        __kernel void d(__global float* __attribute__((aligned(16))) x) __attribute__((noinline)) {}";
    let all = parse_signatures(src, "-DTILE=8");
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    let get = |i: usize| all[i].1.clone().unwrap();
    assert_eq!(get(0).reqd_work_group_size, Some([8, 8, 1]), "-D wins over #define");
    assert_eq!(get(0).attributes, ["reqd_work_group_size(TILE, TILE, 1)"]);
    assert!(get(0).text.starts_with("__attribute__((reqd_work_group_size(TILE, TILE, 1))) __kernel void a("));
    assert_eq!(get(1).reqd_work_group_size, Some([8, 4, 1]));
    assert_eq!(get(1).attributes.len(), 2);
    assert_eq!(get(2).params, []);
    assert_eq!(get(2).reqd_work_group_size, None);
    assert_eq!(get(3).params[0].name, "x");
    assert_eq!(get(3).attributes, ["noinline"]);
}

#[test]
fn defines_and_typedefs_resolve_types() {
    let src = "#ifndef T\n#define T float\n#endif\n#define REAL T\ntypedef unsigned int index_t;\ntypedef float4 vec;\n\
        __kernel void k(__global const REAL* x, __global T* y, index_t i, vec v) {}";
    let f = one(src, "");
    assert_eq!(f.params[0].ty, ParamType::Pointer { space: AddressSpace::Global, elem: v(ScalarKind::Float, 1), is_const: true });
    assert_eq!(f.params[2].ty, ParamType::Value(v(ScalarKind::UInt, 1)));
    assert_eq!(f.params[3].ty, ParamType::Value(v(ScalarKind::Float, 4)));
    let h = one(src, "-cl-fast-relaxed-math -DT=half -D ACT=1");
    assert_eq!(h.params[1].ty, ParamType::Pointer { space: AddressSpace::Global, elem: v(ScalarKind::Half, 1), is_const: false });
    // A self-referential define does not loop.
    let s = one("#define A B\n#define B A\n__kernel void k(int x) {}", "");
    assert_eq!(s.params.len(), 1);
}

#[test]
fn comments_prototypes_and_bodies() {
    let src = "/* __kernel void fake(int x) */\n// kernel void fake2(int)\n\
        __kernel void k(__global float* x, int n);\n\
        void helper(int kernel_count) { }\n\
        __kernel void k(__global float* data, int count) { if (count) { data[0] = 1; } }\n\
        #line 4 \"k.cl\"\n__kernel void j(int n) { }";
    let all = parse_signatures(src, "");
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["k", "j"]);
    let k = all[0].1.clone().unwrap();
    assert_eq!(k.params[0].name, "data", "the definition's names win over the prototype's");
}

#[test]
fn unsupported_signatures_name_the_problem() {
    assert!(err("__kernel void k(__global void* p) {}").contains("void*"));
    assert!(err("__kernel void k(float* p) {}").contains("__global"));
    assert!(err("__kernel void k(__global float** p) {}").contains("pointers to pointers"));
    assert!(err("__kernel void k(struct S s) {}").contains("struct"));
    assert!(err("__kernel void k(size_t n) {}").contains("size_t"));
    assert!(err("__kernel void k(mytype n) {}").contains("unknown type `mytype`"));
    assert!(err("__kernel void k(int a[4]) {}").contains("array"));
    assert!(err("__kernel void k(__global int n) {}").contains("address space"));
    assert!(err("__kernel int k(int n) {}").contains("return void"));
    assert!(err("__kernel void k(int) {}").contains("name"));
    let e = parse_signatures("__kernel void k(int n, __private float* p) {}", "").remove(0).1.unwrap_err();
    assert_eq!(e.kernel, "k");
    assert!(e.problem.starts_with("parameter 1 (`__private float* p`)"), "{}", e.problem);
}

#[test]
fn malformed_input_never_panics() {
    for src in [
        "__kernel", "__kernel void", "__kernel void k(", "__kernel void k(int n", "kernel void k)", "__attribute__((", ")) __kernel void k() {}",
        "__kernel __attribute__ void k() {}", "}}}} __kernel void k(int n) {}", "__kernel void k(,,) {}", "__kernel void (int n) {}",
        "#define", "#define X(", "__kernel void k(__global const * p) {}", "__kernel void k(unsigned long long x) {}",
    ] {
        let _ = parse_signatures(src, "-D -D= -DX");
    }
}

#[test]
fn the_shipped_kernel_library_parses_completely() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernels");
    let programs = crate::source::discover(&dir, &Default::default()).unwrap();
    for p in &programs {
        let sigs = parse_signatures(&p.source, &p.options);
        let names: Vec<&str> = sigs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, p.kernels, "{}", p.name);
        for (name, sig) in sigs {
            let sig = sig.unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(!sig.params.is_empty(), "{name}");
            if name == "gemm_tiled" {
                let tile: usize = p.options.trim_start_matches("-DTILE=").parse().unwrap();
                assert_eq!(sig.reqd_work_group_size, Some([tile, tile, 1]));
            }
        }
    }
}
