//! OpenCV files that fail without options (their kernels need the `-D` defines OpenCV's C++
//! builds per call) bake with per-program options, and their kernels get typed methods.

use crate::common::{bake_lock, corpus_or_skip, read_baseline, session, Outcome};
use clbake::core::build::Builder;
use clbake::core::format::{Bundle, SignatureOrigin};

/// Files of the baseline's FAIL list, with option sets in the style of the corpus README
/// (what OpenCV passes for 8-bit single-channel images), and the kernels each then has.
const WITH_OPTIONS: &[(&str, &str, usize)] = &[
    ("imgproc/threshold", "-D THRESH_BINARY -D T=uchar -D T1=uchar -D STRIDE_SIZE=1", 1),
    ("core/flip", "-D T=uchar -D T1=uchar -D cn=1 -D PIX_PER_WI_Y=4", 3),
    (
        "core/convert",
        "-D srcT=uchar -D dstT=float -D WT=float -D srcT1=uchar -D dstT1=float -D cn=1 -D convertToWT=convert_float -D convertToDT=convert_float -D rowsPerWI=4",
        1,
    ),
    ("core/transpose", "-D T=uchar -D T1=uchar -D cn=1 -D TILE_DIM=32 -D BLOCK_ROWS=8 -D rowsPerWI=4", 1),
    ("imgproc/medianFilter", "-D T=uchar -D T1=uchar -D cn=1", 2),
    ("core/lut", "-D dcn=1 -D lcn=1 -D srcT=uchar -D dstT=uchar", 1),
];

#[test]
fn opencv_files_that_need_defines_bake_with_program_options() {
    let Some(corpus) = corpus_or_skip("opencv_files_that_need_defines_bake_with_program_options") else {
        return;
    };
    let baseline = read_baseline(&corpus, "opencv");
    for (name, _, _) in WITH_OPTIONS {
        let entry = baseline.iter().find(|e| e.program == *name).unwrap_or_else(|| panic!("`{name}` is not in the opencv baseline"));
        assert!(
            matches!(entry.outcome, Outcome::Fail { .. }),
            "`{name}` should be a file that fails without options, the baseline says {:?}",
            entry.outcome
        );
    }

    let dir = corpus.join("opencv");
    let mut b = Builder::new(&dir).with_name("opencv-options").keep_going(true).with_bake_mode("host").with_precompiled_dir(None);
    for (name, options, _) in WITH_OPTIONS {
        b = b.only(&format!("{name}.cl")).with_program_options(name, options);
    }
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let summary = {
        let _serial = bake_lock();
        b.bake_to(&tmp.path().join("opencv-options.clbk"), false, None, &|_| {}).unwrap_or_else(|e| panic!("the bake itself failed: {e}"))
    };
    let failures: Vec<String> = summary.report.failures.iter().map(|f| f.to_string()).collect();
    assert!(failures.is_empty(), "with their options these files should compile:\n{}", failures.join(""));

    let bytes = std::fs::read(&summary.bundle).expect("the bundle was written");
    let bundle = Bundle::parse(&bytes).expect("the bundle parses");
    let fp = session().device().fingerprint.hash();
    assert_eq!(bundle.programs().len(), WITH_OPTIONS.len(), "programs in the bundle");
    for (name, options, kernels) in WITH_OPTIONS {
        let (id, p) = bundle.program(name).unwrap_or_else(|| panic!("`{name}` is not in the bundle"));
        assert_eq!(p.options, *options, "`{name}`: the options the bundle records");
        assert!(bundle.find_binary(id, &fp).is_some(), "`{name}` compiled with `{options}` but has no binary for this device");
        assert_eq!(
            p.kernels.len(),
            *kernels,
            "`{name}`: kernels with `{options}`: {:?}",
            p.kernels.iter().map(|k| k.name).collect::<Vec<_>>()
        );
        for k in &p.kernels {
            assert_eq!(k.origin, SignatureOrigin::Driver, "`{name}`: kernel `{}` should have the driver's signature", k.name);
            assert_eq!(k.to_record().why_untyped(), None, "`{name}`: kernel `{}` should get a typed method", k.name);
        }
        eprintln!("opencv {name}: FAIL without options, baked with `{options}`: {} kernel(s), all typed", p.kernels.len());
    }
}
