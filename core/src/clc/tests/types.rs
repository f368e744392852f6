//! `classify`: from reader and driver parameter descriptions to typed parameters.
use crate::clc::{
    classify, read, AccessQualifier as Acc, AddressQualifier as Addr, AddressSpace, ImageKind, ParamInfo, ParamType, ScalarKind,
    TypeQualifiers as Q, ValueType,
};

fn info(type_name: &str, address: Addr, access: Acc, quals: Q) -> ParamInfo {
    ParamInfo { name: "p".into(), address, access, type_name: type_name.into(), type_qualifiers: quals }
}

fn v(scalar: ScalarKind, width: u8) -> ValueType {
    ValueType { scalar, width }
}

#[test]
fn reader_output_classifies() {
    let r = read(
        "kernel void k(global const float* a, global float* b, constant int* c, local float4* l, int n, uchar16 u, double3 d,\n\
         read_only image2d_t i, write_only image3d_t o, sampler_t s, global half8* h) {}",
        "",
    );
    let k = r.kernels[0].1.as_ref().unwrap();
    let tys: Vec<ParamType> = k.params.iter().map(|p| classify(p).unwrap()).collect();
    use ParamType::*;
    use ScalarKind::*;
    assert_eq!(
        tys,
        [
            Pointer { space: AddressSpace::Global, elem: v(Float, 1), is_const: true, any_elem: false },
            Pointer { space: AddressSpace::Global, elem: v(Float, 1), is_const: false, any_elem: false },
            Pointer { space: AddressSpace::Constant, elem: v(Int, 1), is_const: true, any_elem: false },
            Pointer { space: AddressSpace::Local, elem: v(Float, 4), is_const: false, any_elem: false },
            Value(v(Int, 1)),
            Value(v(UChar, 16)),
            Value(v(Double, 3)),
            Image { kind: ImageKind::Image2d, access: Acc::ReadOnly },
            Image { kind: ImageKind::Image3d, access: Acc::WriteOnly },
            Sampler,
            Pointer { space: AddressSpace::Global, elem: v(Half, 8), is_const: false, any_elem: false },
        ]
    );
    let outputs: Vec<bool> = tys.iter().map(ParamType::is_output).collect();
    assert_eq!(outputs, [false, true, false, false, false, false, false, false, true, false, true]);
    assert_eq!(v(Double, 3).size(), 32);
    assert_eq!(v(Float, 3).storage_width(), 4);
    assert_eq!(v(UChar, 16).cl_name(), "uchar16");
}

#[test]
fn driver_spellings_classify() {
    let none = Q::NONE;
    let cases = [
        (info("unsigned int*", Addr::Global, Acc::None, none), "uint*"),
        (info("float *", Addr::Global, Acc::None, Q::CONST), "float*"),
        (info("unsigned char", Addr::Private, Acc::None, none), "uchar"),
        (info("signed char", Addr::Private, Acc::None, none), "char"),
        (info("unsigned", Addr::Private, Acc::None, none), "uint"),
        (info("__read_only image2d_t", Addr::Global, Acc::ReadOnly, none), "image2d_t"),
        (info("image1d_buffer_t", Addr::Global, Acc::None, none), "image1d_buffer_t"),
        (info("ulong", Addr::Private, Acc::None, Q::CONST), "ulong"),
    ];
    for (p, want) in cases {
        let got = classify(&p).unwrap_or_else(|e| panic!("{}: {e}", p.type_name));
        let name = match got {
            ParamType::Pointer { elem, .. } => format!("{}*", elem.cl_name()),
            ParamType::Value(t) => t.cl_name(),
            ParamType::Image { kind, .. } => kind.cl_name().to_string(),
            ParamType::Sampler => "sampler_t".into(),
        };
        assert_eq!(name, want);
    }
}

#[test]
fn void_pointers_take_buffers_of_any_element_type() {
    let p = classify(&info("void*", Addr::Global, Acc::None, Q::CONST)).unwrap();
    assert_eq!(p, ParamType::Pointer { space: AddressSpace::Global, elem: v(ScalarKind::UChar, 1), is_const: true, any_elem: true });
    assert_eq!(p.rust_type().unwrap(), "&::clbake::Buffer<impl ::clbake::Scalar, impl ::clbake::KernelReads>");
    let out = classify(&info("void*", Addr::Global, Acc::None, Q::NONE)).unwrap();
    assert!(out.is_output());
    let local = classify(&info("void*", Addr::Local, Acc::None, Q::NONE)).unwrap();
    assert_eq!(local.rust_type().unwrap(), "::clbake::Local<u8>");
}

#[test]
fn unsupported_types_say_why() {
    for (p, want) in [
        (info("struct foo*", Addr::Global, Acc::None, Q::NONE), "`struct foo*`: struct types are not supported by clbake's typed calls"),
        (info("void", Addr::Private, Acc::None, Q::NONE), "`void` is not a value type"),
        (info("size_t", Addr::Private, Acc::None, Q::NONE), "`size_t` cannot be a kernel argument type"),
        (info("bool", Addr::Private, Acc::None, Q::NONE), "`bool` cannot be a kernel argument type"),
        (info("real*", Addr::Global, Acc::None, Q::NONE), "unknown type `real`"),
        (info("float*", Addr::Private, Acc::None, Q::NONE), "`__private` pointers"),
        (info("float**", Addr::Global, Acc::None, Q::NONE), "pointers to pointers"),
        (info("int", Addr::Private, Acc::ReadOnly, Q::PIPE), "pipes are not supported"),
        (info("float", Addr::Global, Acc::None, Q::NONE), "private address space"),
        (info("image2d_msaa_t", Addr::Global, Acc::ReadOnly, Q::NONE), "not supported"),
        (info("", Addr::Private, Acc::None, Q::NONE), "no type"),
    ] {
        let e = classify(&p).unwrap_err();
        assert!(e.contains(want), "{}: {e}", p.type_name);
    }
}

#[test]
fn cl_enum_values_round_trip() {
    for a in [Addr::Global, Addr::Local, Addr::Constant, Addr::Private] {
        assert_eq!(Addr::from_cl(a.to_cl()), Some(a));
    }
    for a in [Acc::None, Acc::ReadOnly, Acc::WriteOnly, Acc::ReadWrite] {
        assert_eq!(Acc::from_cl(a.to_cl()), Some(a));
    }
    assert_eq!((Addr::Global.to_cl(), Addr::Private.to_cl(), Acc::None.to_cl(), Acc::ReadOnly.to_cl()), (0x119B, 0x119E, 0x11A3, 0x11A0));
    assert_eq!(Addr::from_cl(0), None);
    assert!(Q(3).contains(Q::CONST) && Q(3).contains(Q::RESTRICT) && !Q(3).contains(Q::VOLATILE));
}

#[test]
fn rust_types_of_parameters() {
    use crate::clc::{short_rust_type, AddressSpace, ImageKind, ParamType};
    assert_eq!(v(ScalarKind::Float, 1).rust_type(), "f32");
    assert_eq!(v(ScalarKind::Float, 3).rust_type(), "[f32; 4]", "float3 is stored as 4");
    assert_eq!(v(ScalarKind::UChar, 16).rust_type(), "[u8; 16]");
    assert_eq!(v(ScalarKind::Half, 2).rust_type(), "[::clbake::Half; 2]");
    let ptr = |space, is_const| ParamType::Pointer { space, elem: v(ScalarKind::Int, 1), is_const, any_elem: false };
    let t = |p: ParamType| short_rust_type(&p.rust_type().unwrap());
    assert_eq!(t(ptr(AddressSpace::Global, true)), "&Buffer<i32, impl KernelReads>");
    assert_eq!(t(ptr(AddressSpace::Global, false)), "&mut Buffer<i32, impl KernelWrites>");
    assert_eq!(t(ptr(AddressSpace::Constant, false)), "&Buffer<i32, impl KernelReads>", "__constant is read-only");
    assert_eq!(t(ptr(AddressSpace::Local, false)), "Local<i32>");
    let img = |kind, access| ParamType::Image { kind, access };
    assert_eq!(t(img(ImageKind::Image2d, Acc::ReadOnly)), "&Image2d<impl KernelReads>");
    assert_eq!(t(img(ImageKind::Image3d, Acc::WriteOnly)), "&mut Image3d<impl KernelWrites>");
    assert_eq!(t(img(ImageKind::Image2d, Acc::ReadWrite)), "&mut Image2d<ReadWrite>");
    assert_eq!(t(ParamType::Sampler), "&Sampler");
    assert_eq!(img(ImageKind::Image1dBuffer, Acc::ReadOnly).rust_type(), None);
}
