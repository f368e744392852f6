//! Writing then reading: contents, kernel records, known answers, keys, lookups,
//! determinism, merging, scale, compatibility with later minors.

use super::*;
use crate::format::{FormatError, KernelEntry, ALIGN, FORMAT_MAJOR, FORMAT_MINOR, HEADER_LEN, MAGIC};
use crate::hash::program_key_of_source;

#[test]
fn round_trip_programs_and_binaries() {
    let bytes = sample_bundle();
    assert_eq!(bytes.len() % ALIGN, 0);
    let b = Bundle::parse(&bytes).unwrap();
    let h = b.header();
    assert_eq!((h.magic, h.major, h.minor), (MAGIC, FORMAT_MAJOR, FORMAT_MINOR));
    assert_eq!((h.program_count, h.binary_count, h.tuning_count), (2, 4, 0));
    assert_eq!(b.len(), bytes.len());
    assert!(b.damage().is_empty());
    assert_eq!(b.info(), format!("clbake {}", env!("CARGO_PKG_VERSION")));

    let (add, p) = b.program("add").unwrap();
    assert_eq!(add, 0);
    assert_eq!((p.name, p.stem, p.variant, p.options), ("add", "add", "", "-cl-fast-relaxed-math"));
    assert_eq!(p.kernels.iter().map(KernelEntry::to_record).collect::<Vec<_>>(), add_kernels());
    assert_eq!(p.key(), program_key_of_source("add", "-cl-fast-relaxed-math", SRC_ADD));
    assert_eq!(p.source_hash, Hash128::of(SRC_ADD.as_bytes()));
    assert_eq!(p.source_len, SRC_ADD.len() as u64);
    assert_eq!(p.compressed_source().len() as u64, p.source_compressed_len);
    assert_eq!(p.source().unwrap(), SRC_ADD);
    let (relu, r) = b.program("relu").unwrap();
    assert_eq!(relu, 1);
    assert_eq!((r.stem, r.variant), ("relu", ""));
    assert_eq!(
        r.kernels.iter().map(|k| (k.name, k.origin)).collect::<Vec<_>>(),
        [("relu", SignatureOrigin::Unknown), ("relu6", SignatureOrigin::Unknown)]
    );
    assert_eq!(r.source().unwrap(), SRC_RELU);
    assert!(b.program("missing").is_none());

    for f in [1, 2, 3] {
        let e = b.find_binary(add, &fp(f).hash()).unwrap();
        assert_eq!(e.program, add);
        assert_eq!(e.program_key, p.key());
        assert_eq!(e.fingerprint().unwrap(), fp(f));
        assert_eq!(e.decompress().unwrap(), binary_bytes(add, f));
        assert_eq!(e.compressed().len() as u64, e.compressed_len);
        assert_eq!(e.checks().unwrap(), []);
    }
    assert!(b.find_binary(add, &fp(4).hash()).is_none());
    assert!(b.find_binary(relu, &fp(1).hash()).is_none());
    let e = b.find_binary(relu, &fp(2).hash()).unwrap();
    assert_eq!(e.decompress().unwrap(), binary_bytes(relu, 2));
    assert_eq!(e.checks().unwrap(), [relu_answer()]);
    assert!(b.find_binary(7, &fp(2).hash()).is_none());

    assert_eq!(b.binaries_of(add).count(), 3);
    assert!(b.binaries_of(add).all(|e| e.program == add));
    assert_eq!(b.binaries_of(relu).count(), 1);
    assert_eq!(b.binaries_of(9).count(), 0);
    assert_eq!(b.binaries().len(), 4);
}

#[test]
fn writes_are_deterministic_and_independent_of_binary_insertion_order() {
    assert_eq!(sample_bundle(), sample_bundle());
    let mut w = BundleWriter::new().with_level(3);
    let add = w.add_program(&add_spec());
    let relu = w.add_program(&relu_spec());
    w.add_binary(relu, &fp(2), &binary_bytes(relu, 2), &[relu_answer()]);
    for f in [3, 1, 2] {
        w.add_binary(add, &fp(f), &binary_bytes(add, f), &[]);
    }
    assert_eq!(w.to_bytes(), sample_bundle());
    assert_eq!(w.to_bytes(), w.to_bytes());
}

#[test]
fn empty_bundle() {
    let bytes = BundleWriter::new().with_info("").to_bytes();
    assert_eq!(bytes.len(), (HEADER_LEN + 4).next_multiple_of(ALIGN));
    let b = Bundle::parse(&bytes).unwrap();
    assert!(b.programs().is_empty() && b.binaries().is_empty() && b.tunings().is_empty() && b.damage().is_empty());
    assert_eq!(b.info(), "");
    let bytes = BundleWriter::new().to_bytes();
    assert!(Bundle::parse(&bytes).unwrap().info().starts_with("clbake "));
}

#[test]
fn empty_source_and_empty_binary() {
    let mut w = BundleWriter::new();
    let p = w.add_program(&ProgramSpec::simple("", "", &[], ""));
    w.add_binary(p, &fp(0), b"", &[]);
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.programs()[0].source().unwrap(), "");
    assert_eq!(b.binaries()[0].decompress().unwrap(), b"");
}

#[test]
fn add_program_dedupes_by_name_and_add_binary_replaces() {
    let mut w = sample_writer();
    assert_eq!(w.add_program(&add_spec()), 0);
    // Names are unique in a bundle: another spec under a known name is the first program.
    assert_eq!(w.add_program(&ProgramSpec { options: "-DVARIANT", ..add_spec() }), 0);
    assert_eq!(w.add_program(&ProgramSpec { name: "add_v", variant: "v", options: "-DVARIANT", ..add_spec() }), 2);
    w.add_binary(0, &fp(1), b"replaced", &[]);
    assert_eq!((w.program_count(), w.binary_count()), (3, 4));
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.find_binary(0, &fp(1).hash()).unwrap().decompress().unwrap(), b"replaced");
    assert_eq!(b.programs()[0].options, "-cl-fast-relaxed-math");
    let v = &b.programs()[2];
    assert_eq!((v.name, v.stem, v.variant, v.options), ("add_v", "add", "v", "-DVARIANT"));
    assert_ne!(b.programs()[0].key(), v.key());
    assert_eq!(w.program_key(2), Some(v.key()));
    assert_eq!(w.program_key(3), None);
}

#[test]
fn a_repeated_program_name_is_corrupted() {
    let mut w = BundleWriter::new();
    w.add_program(&ProgramSpec::simple("aa", "", &[], ""));
    w.add_program(&ProgramSpec::simple("ab", "", &[], ""));
    let mut bytes = w.to_bytes();
    let at = field_at(&bytes, program_records(&bytes)[1], b"ab");
    bytes[at + 1] = b'a';
    reseal(&mut bytes);
    match Bundle::parse(&bytes) {
        Err(FormatError::Corrupted { what: "program table", detail }) => assert!(detail.contains("repeats the name"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn kernel_records_round_trip() {
    use AccessQualifier as Acc;
    use AddressQualifier as Addr;
    let q = |bits: &[TypeQualifiers]| TypeQualifiers(bits.iter().map(|t| t.0).fold(0, |a, b| a | b));
    let kernels = vec![
        KernelRecord::unknown("opaque", "the declaration depends on cl_khr_fp16"),
        KernelRecord {
            name: "read".into(),
            origin: SignatureOrigin::Reader,
            note: String::new(),
            reqd_work_group_size: Some([8, 4, 2]),
            params: vec![
                param("src", Addr::Constant, Acc::None, "float4*", TypeQualifiers::CONST),
                param("tmp", Addr::Local, Acc::None, "uchar*", TypeQualifiers::VOLATILE),
            ],
        },
        KernelRecord {
            name: "images".into(),
            origin: SignatureOrigin::Driver,
            note: "reqd size (1, 1, 1) is kept".into(),
            reqd_work_group_size: Some([1, 1, 1]),
            params: vec![
                param("in", Addr::Global, Acc::ReadOnly, "image2d_t", TypeQualifiers::NONE),
                param("out", Addr::Global, Acc::WriteOnly, "image2d_t", TypeQualifiers::NONE),
                param("io", Addr::Global, Acc::ReadWrite, "image3d_t", TypeQualifiers::NONE),
                param("p", Addr::Global, Acc::ReadOnly, "int", TypeQualifiers::PIPE),
                param(
                    "x",
                    Addr::Global,
                    Acc::None,
                    "float*",
                    q(&[TypeQualifiers::CONST, TypeQualifiers::RESTRICT, TypeQualifiers::VOLATILE]),
                ),
                param("n", Addr::Private, Acc::None, "uint", TypeQualifiers::CONST),
                param("", Addr::Private, Acc::None, "struct S", TypeQualifiers::NONE),
                param("élan", Addr::Private, Acc::None, "half", TypeQualifiers::NONE),
            ],
        },
        KernelRecord {
            name: "none".into(),
            origin: SignatureOrigin::Driver,
            note: String::new(),
            reqd_work_group_size: None,
            params: vec![],
        },
    ];
    let spec = ProgramSpec {
        name: "ops/img_fast",
        stem: "ops/img",
        variant: "fast",
        options: "-DFAST",
        source: "kernel void none() {}",
        kernels: kernels.clone(),
    };
    let mut w = BundleWriter::new();
    w.add_program(&spec);
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    let p = &b.programs()[0];
    assert_eq!((p.name, p.stem, p.variant, p.options), ("ops/img_fast", "ops/img", "fast", "-DFAST"));
    assert_eq!(p.kernels.iter().map(KernelEntry::to_record).collect::<Vec<_>>(), kernels);
    let (i, k) = p.kernel("images").unwrap();
    assert_eq!((i, k.origin, k.note, k.reqd_work_group_size), (2, SignatureOrigin::Driver, "reqd size (1, 1, 1) is kept", Some([1, 1, 1])));
    assert_eq!(k.params.iter().map(|p| p.info()).collect::<Vec<_>>(), kernels[2].params);
    assert_eq!((k.params[3].name, k.params[3].type_qualifiers), ("p", TypeQualifiers::PIPE));
    let (_, opaque) = p.kernel("opaque").unwrap();
    assert_eq!((opaque.origin, opaque.note, opaque.params.len()), (SignatureOrigin::Unknown, "the declaration depends on cl_khr_fp16", 0));
    assert_eq!(p.kernel("read").unwrap().1.reqd_work_group_size, Some([8, 4, 2]));
    assert_eq!(p.kernel("none").unwrap().1.reqd_work_group_size, None);
    assert!(p.kernel("missing").is_none());
}

#[test]
fn kernel_records_do_not_change_the_key() {
    let src = "kernel void k(global int* a) { a[0] = 1; }";
    let mut w = BundleWriter::new();
    let plain = w.add_program(&ProgramSpec::simple("k", "", &["k"], src));
    let mut v = BundleWriter::new();
    let typed = v.add_program(&ProgramSpec { kernels: add_kernels(), ..ProgramSpec::simple("k", "", &["k"], src) });
    assert_eq!(w.program_key(plain), v.program_key(typed));
}

#[test]
fn set_kernels_keeps_the_key_and_the_binaries() {
    let mut w = sample_writer();
    let key = w.program_key(1).unwrap();
    let driver = vec![
        KernelRecord {
            name: "relu".into(),
            origin: SignatureOrigin::Driver,
            note: String::new(),
            reqd_work_group_size: None,
            params: add_kernels()[0].params[..1].to_vec(),
        },
        KernelRecord {
            name: "relu6".into(),
            origin: SignatureOrigin::Driver,
            note: String::new(),
            reqd_work_group_size: Some([64, 1, 1]),
            params: add_kernels()[0].params[..1].to_vec(),
        },
    ];
    w.set_kernels(1, driver.clone());
    w.set_kernels(9, Vec::new()); // an unknown index: nothing happens
    assert_eq!(w.program_key(1), Some(key));
    w.add_tuning(1, fp(2).hash(), launch("relu6", &[64], Some(&[64]), 10));
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    assert!(b.damage().is_empty());
    let p = &b.programs()[1];
    assert_eq!(p.key(), key);
    assert_eq!(p.kernels.iter().map(KernelEntry::to_record).collect::<Vec<_>>(), driver);
    // The binary added before still belongs to the program, with its known answer.
    let e = b.find_binary(1, &fp(2).hash()).unwrap();
    assert_eq!((e.program_key, e.decompress().unwrap(), e.checks().unwrap()), (key, binary_bytes(1, 2), vec![relu_answer()]));
    assert_eq!(b.tunings_for(1, &fp(2).hash())[0].program_key, key);
    // Everything else is as in the sample.
    let sample = sample_bundle();
    let s = Bundle::parse(&sample).unwrap();
    assert_eq!(b.programs()[0], s.programs()[0]);
    assert_eq!(b.binaries(), s.binaries());
}

#[test]
fn keys_come_from_tokens_not_from_comments_or_layout() {
    let base = "kernel void k(global int* a) { a[0] = 1; }";
    let commented = "// k: sets the first element\nkernel  void k(global int *a)\n{\n    a[0] = 1; /* one */\n}\n";
    let other_token = "kernel void k(global int* a) { a[0] = 2; }";
    let key = |name: &str, options: &str, src: &str| program_key_of_source(name, options, src);
    assert_eq!(key("k", "", base), key("k", "", commented));
    assert_ne!(key("k", "", base), key("k", "", other_token));
    assert_ne!(key("k", "", base), key("k", "-DX", base), "options count");
    assert_ne!(key("k", "", base), key("k2", "", base), "the name counts");
    assert_ne!(key("k", "", base), key("k", "", &format!("// clbake:launch k 64\n{base}")), "clbake directives count");

    // A binary baked from the first text serves the commented one, which is stored as written.
    let mut a = BundleWriter::new();
    let pa = a.add_program(&ProgramSpec::simple("k", "", &["k"], base));
    a.add_binary(pa, &fp(1), b"binary", &[]);
    let a_bytes = a.to_bytes();
    let a = Bundle::parse(&a_bytes).unwrap();
    let mut w = BundleWriter::new();
    let p = w.add_program(&ProgramSpec::simple("k", "", &["k"], commented));
    w.add_binary_entry(p, &a.binaries()[0]).unwrap();
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    let (_, prog) = b.program("k").unwrap();
    assert_eq!((prog.key(), prog.source().unwrap().as_str()), (a.programs()[0].key(), commented));
    assert_ne!(prog.source_hash, a.programs()[0].source_hash);
    assert_eq!(b.find_binary(0, &fp(1).hash()).unwrap().decompress().unwrap(), b"binary");
    // A token change makes the binary stale.
    let mut w = BundleWriter::new();
    let p = w.add_program(&ProgramSpec::simple("k", "", &["k"], other_token));
    assert!(matches!(w.add_binary_entry(p, &a.binaries()[0]), Err(FormatError::Outdated { .. })));
}

#[test]
fn known_answers_round_trip() {
    let answers = vec![
        KnownAnswer {
            kernel: "add".into(),
            global: vec![1024, 2, 3],
            local: Some(vec![64, 2, 1]),
            args: vec![ArgValue::Int(1024), ArgValue::Int(-7), ArgValue::Float(0.125), ArgValue::Float(f64::MAX), ArgValue::Int(i64::MIN)],
            tolerance: 1e-4,
            seed: u64::MAX,
            outputs: vec![
                OutputDigest { param: 0, bytes: 4096, hash: Hash128::of(b"a"), samples: (0..=255).collect() },
                OutputDigest { param: 4, bytes: 0, hash: Hash128::default(), samples: Vec::new() },
            ],
        },
        KnownAnswer { kernel: "add".into(), global: vec![7], local: None, args: Vec::new(), tolerance: 0.0, seed: 0, outputs: Vec::new() },
        KnownAnswer { kernel: "unrelated name".into(), ..relu_answer() },
    ];
    let mut w = BundleWriter::new().with_level(1);
    let p = w.add_program(&add_spec());
    w.add_binary(p, &fp(1), b"with answers", &answers);
    w.add_binary(p, &fp(2), b"without", &[]);
    let bytes = w.to_bytes();
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.find_binary(p, &fp(1).hash()).unwrap().checks().unwrap(), answers);
    assert_eq!(b.find_binary(p, &fp(2).hash()).unwrap().checks().unwrap(), []);
    assert_eq!(b.find_binary(p, &fp(1).hash()).unwrap().decompress().unwrap(), b"with answers");
}

#[test]
fn merging_entries_keeps_compressed_bytes_and_known_answers() {
    let src = sample_bundle();
    let a = Bundle::parse(&src).unwrap();
    // The new writer has the programs in another order.
    let mut w = BundleWriter::new().with_level(1);
    let relu = w.add_program(&relu_spec());
    let add = w.add_program(&add_spec());
    for e in a.binaries() {
        let to = if e.program == 0 { add } else { relu };
        w.add_binary_entry(to, e).unwrap();
    }
    let merged = w.to_bytes();
    let b = Bundle::parse(&merged).unwrap();
    for e in a.binaries() {
        let to = if e.program == 0 { add } else { relu };
        let m = b.find_binary(to, &e.fingerprint_hash).unwrap();
        assert_eq!(m.compressed(), e.compressed());
        assert_eq!((m.checksum, m.uncompressed_len), (e.checksum, e.uncompressed_len));
        assert_eq!(m.fingerprint().unwrap(), e.fingerprint().unwrap());
        assert_eq!(m.checks().unwrap(), e.checks().unwrap());
        assert_eq!(m.decompress().unwrap(), e.decompress().unwrap());
    }
    assert_eq!(b.find_binary(relu, &fp(2).hash()).unwrap().checks().unwrap(), [relu_answer()]);
}

#[test]
fn merging_refuses_a_damaged_entry() {
    let mut src = sample_bundle();
    let b = Bundle::parse(&src).unwrap();
    let e = &b.binaries()[0];
    let at = (b.header().payload_offset + e.payload_offset) as usize + e.compressed().len() / 2;
    src[at] ^= 0xff;
    let b = Bundle::parse(&src).unwrap();
    let mut w = BundleWriter::new();
    w.add_program(&add_spec());
    let err = w.add_binary_entry(0, &b.binaries()[0]).unwrap_err();
    assert!(matches!(err, FormatError::ChecksumMismatch { .. } | FormatError::Decompress { .. }), "{err:?}");
}

#[test]
fn ten_thousand_binaries_parse_and_look_up_fast() {
    let mut w = BundleWriter::new().with_level(1);
    let p = w.add_program(&ProgramSpec::simple("p", "", &["k"], "kernel void k() {}"));
    let q = w.add_program(&ProgramSpec::simple("q", "", &["k"], "kernel void k() { }"));
    let n = 10_000u32;
    for i in 0..n {
        let prog = if i % 2 == 0 { p } else { q };
        w.add_binary(prog, &fp(i), &i.to_le_bytes().repeat(8), &[]);
    }
    let bytes = w.to_bytes();
    let start = std::time::Instant::now();
    let b = Bundle::parse(&bytes).unwrap();
    let parsed = start.elapsed();
    assert_eq!(b.binaries().len(), n as usize);
    let start = std::time::Instant::now();
    for i in 0..n {
        let prog = if i % 2 == 0 { p } else { q };
        let e = b.find_binary(prog, &fp(i).hash()).unwrap();
        assert_eq!(e.uncompressed_len, 32);
    }
    let looked_up = start.elapsed();
    assert_eq!(b.binaries_of(q).count(), (n / 2) as usize);
    eprintln!("{n} binaries, {} bytes: parse {parsed:?}, {n} lookups {looked_up:?}", bytes.len());
    // Generous bounds for unoptimized builds on a slow machine.
    assert!(parsed.as_secs_f64() < 2.0, "parse took {parsed:?}");
    assert_eq!(b.find_binary(p, &fp(5000).hash()).unwrap().decompress().unwrap(), 5000u32.to_le_bytes().repeat(8));
}

#[test]
fn trailing_bytes_after_a_bundle_are_not_part_of_it() {
    let mut bytes = sample_bundle();
    let len = bytes.len();
    bytes.extend_from_slice(&[0xAB; 40]);
    let b = Bundle::parse(&bytes).unwrap();
    assert_eq!(b.len(), len);
    assert_eq!(b.as_bytes(), &bytes[..len]);
}

/// `bytes` with `extra` inserted at `at`, every region from `at` on moved, the total
/// length grown to stay aligned, and the header (`edit`ed) resealed.
fn insert(bytes: &[u8], at: usize, extra: &[u8], edit: impl FnOnce(&mut Header)) -> Vec<u8> {
    let h = Header::decode(bytes).unwrap();
    let n = extra.len() as u64;
    let moved = |off: u64| if off >= at as u64 { off + n } else { off };
    let mut h2 = Header {
        info_offset: moved(h.info_offset),
        program_table_offset: moved(h.program_table_offset),
        binary_table_offset: moved(h.binary_table_offset),
        tuning_table_offset: moved(h.tuning_table_offset),
        payload_offset: moved(h.payload_offset),
        total_len: (h.total_len + n).next_multiple_of(ALIGN as u64),
        ..h.clone()
    };
    edit(&mut h2);
    let mut v = bytes[..at].to_vec();
    v.extend_from_slice(extra);
    v.extend_from_slice(&bytes[at..]);
    v.resize(h2.total_len as usize, 0);
    v[..HEADER_LEN].copy_from_slice(&h2.encode());
    reseal(&mut v);
    v
}

#[test]
fn higher_minor_with_longer_records_is_accepted() {
    // Simulates a writer of the next minor: the minor is higher and records have an extra
    // trailing field.
    let next_minor = FORMAT_MINOR + 1;
    let mut bytes = tuned_bundle();
    bytes[10..12].copy_from_slice(&next_minor.to_le_bytes());
    reseal(&mut bytes);
    assert!(Bundle::parse(&bytes).unwrap().damage().is_empty());

    // The current minor is strict about unknown trailing bytes inside a record; the next is not.
    let bytes = tuned_bundle();
    let extend = |bytes: &[u8], rec: usize, table: fn(&mut Header) -> &mut u64| {
        let body_len = u32::from_le_bytes(bytes[rec..rec + 4].try_into().unwrap());
        let mut v = insert(bytes, rec + 4 + body_len as usize, &[9, 9, 9, 9], |h| *table(h) += 4);
        put_u32(&mut v, rec, body_len + 4);
        reseal(&mut v);
        v
    };
    let program = extend(&bytes, *program_records(&bytes).last().unwrap(), |h| &mut h.program_table_len);
    assert!(matches!(Bundle::parse(&program), Err(FormatError::Corrupted { what: "program record", .. })));
    let binary = extend(&bytes, binary_records(&bytes)[0], |h| &mut h.binary_table_len);
    assert!(damage_of(&binary, Table::Binaries).starts_with("corrupted binary record"));
    let tuning = extend(&bytes, tuning_records(&bytes)[0], |h| &mut h.tuning_table_len);
    assert!(damage_of(&tuning, Table::Tuning).starts_with("corrupted tuning record"));

    let good = Bundle::parse(&bytes).unwrap();
    for mut v in [program, binary, tuning] {
        v[10..12].copy_from_slice(&next_minor.to_le_bytes());
        reseal(&mut v);
        let b = Bundle::parse(&v).unwrap();
        assert!(b.damage().is_empty(), "{:?}", b.damage());
        assert_eq!(b.programs().iter().map(|p| p.source().unwrap()).collect::<Vec<_>>(), [SRC_ADD, SRC_RELU]);
        assert_eq!(b.programs()[0].kernels, good.programs()[0].kernels);
        assert_eq!(b.find_binary(0, &fp(1).hash()).unwrap().decompress().unwrap(), binary_bytes(0, 1));
        assert_eq!(b.find_binary(1, &fp(2).hash()).unwrap().checks().unwrap(), [relu_answer()]);
        assert_eq!(b.tunings(), good.tunings());
    }
}

#[test]
fn higher_minor_with_a_longer_header_is_accepted() {
    let bytes = tuned_bundle();
    let mut v = insert(&bytes, HEADER_LEN, &[7; 16], |h| {
        h.header_size += 16;
        h.minor = FORMAT_MINOR + 1;
    });
    let b = Bundle::parse(&v).unwrap();
    assert_eq!(b.header().header_size, HEADER_LEN as u32 + 16);
    assert!(b.damage().is_empty());
    assert_eq!(b.program("relu").unwrap().1.source().unwrap(), SRC_RELU);
    assert_eq!(b.tunings().len(), 5);
    // The header's new bytes are part of the core.
    v[HEADER_LEN] ^= 1;
    assert!(matches!(Bundle::parse(&v), Err(FormatError::ChecksumMismatch { what: "header and program table", .. })));
}
