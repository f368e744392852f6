//! Whole-library keep-going bakes against the corpus baseline (PoCL, `clcheck`, options
//! `-I<library> -cl-kernel-arg-info`): what compiles there bakes here, with a binary that
//! loads; what fails there is reported here once, with the same first error; every kernel
//! of a compiled program gets a typed method.

use crate::common::{bake_lock, corpus_or_skip, error_message, read_baseline, session, Outcome};
use clbake::core::bake::{Progress, Step};
use clbake::core::build::{BuildSummary, Builder};
use clbake::core::format::{Bundle, ProgramEntry, SignatureOrigin};
use clbake::{AnyProgram, Embedded, KernelSet, LoadOptions, LoadPath};
use std::path::Path;
use std::time::Instant;

/// Programs whose binary PoCL 3.1 does not produce in reasonable time: asking for it
/// (`clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)`, where PoCL compiles every kernel's
/// work-group function) ran for over 20 minutes without an end, while the program builds
/// in about a second. They are compile-checked (built, the driver's signatures read) in a
/// bake that captures no binary, and are not loaded.
const COMPILE_CHECK_ONLY: &[(&str, &str)] = &[("opencv", "objdetect/objdetect_hog")];

/// A bake of a whole library, the way the baseline compiled it.
struct LibraryBake {
    /// The bake with binaries.
    summary: BuildSummary,
    bytes: Vec<u8>,
    /// The bake of the [`COMPILE_CHECK_ONLY`] programs of the library, without binaries.
    checked: Option<(BuildSummary, Vec<u8>)>,
    seconds: f64,
}

/// The builder for `dir` as the baseline compiled it: the library as include directory,
/// `defines` for every program, for the host device, keeping going.
fn builder(dir: &Path, lib: &str, defines: &[(&str, &str)]) -> Builder {
    let mut b = Builder::new(dir).with_include_dir(dir).with_name(lib).keep_going(true).with_bake_mode("host").with_precompiled_dir(None);
    for (name, value) in defines {
        b = b.with_define(name, value);
    }
    b
}

/// Bakes every `.cl` file of `corpus/lib` (the [`COMPILE_CHECK_ONLY`] ones without binary).
fn bake_library(corpus: &Path, lib: &str, defines: &[(&str, &str)]) -> LibraryBake {
    let dir = corpus.join(lib);
    let slow: Vec<&str> = COMPILE_CHECK_ONLY.iter().filter(|(l, _)| *l == lib).map(|(_, p)| *p).collect();
    let mut main = builder(&dir, lib, defines);
    for p in &slow {
        main = main.exclude(&format!("{p}.cl"));
    }
    let tmp = tempfile::tempdir().expect("a temporary directory");
    // Compiles that take long are worth a line while the bake runs.
    let progress = |p: Progress<'_>| {
        if let Step::Compiled(c) = p.step {
            if c.elapsed.as_secs() >= 10 {
                eprintln!("{lib}: slow compile: {}", p.line());
            }
        }
    };
    let bake = |b: &Builder, name: &str, cross: bool| {
        let summary = b
            .bake_to(&tmp.path().join(name), cross, None, &progress)
            .unwrap_or_else(|e| panic!("{lib}: the keep-going bake itself failed: {e}"));
        let bytes =
            std::fs::read(&summary.bundle).unwrap_or_else(|e| panic!("{lib}: cannot read the bundle {}: {e}", summary.bundle.display()));
        (summary, bytes)
    };
    let _serial = bake_lock();
    let start = Instant::now();
    let (summary, bytes) = bake(&main, "library.clbk", false);
    let checked = (!slow.is_empty()).then(|| {
        let only = slow.iter().fold(builder(&dir, lib, defines), |b, p| b.only(&format!("{p}.cl")));
        // `cross`: compile and read the driver's signatures, capture no binary.
        bake(&only, "checked.clbk", true)
    });
    LibraryBake { summary, bytes, checked, seconds: start.elapsed().as_secs_f64() }
}

/// What a library bake gave, in the numbers the baseline has.
#[derive(Debug, Default)]
struct Counts {
    programs: usize,
    /// Programs with a binary for this device.
    baked: usize,
    /// Programs with kernels and a binary (all loaded from it).
    with_kernels: usize,
    /// Programs compiled without capturing a binary ([`COMPILE_CHECK_ONLY`]).
    checked_only: usize,
    /// Programs reported as failed.
    failed: usize,
    /// Programs that compiled (not failed).
    compiled: usize,
    /// Kernels the driver reported for the compiled programs, and how many of them get a
    /// typed method.
    kernels: usize,
    typed: usize,
    /// The kernels without a typed method, as `program: kernel`.
    untyped: Vec<String>,
    /// Kernels a compiled program lists that the driver did not report (`program: kernel`),
    /// kept untyped from clbake's reader.
    not_driver: Vec<String>,
}

/// Counts the kernels of compiled program `p` and checks that each has the driver's
/// signature.
fn count_kernels(lib: &str, p: &ProgramEntry<'_>, c: &mut Counts) {
    for k in &p.kernels {
        if k.origin != SignatureOrigin::Driver {
            // Kept from clbake's reader: never typed, so never a wrong method.
            assert_eq!(
                k.origin,
                SignatureOrigin::Unknown,
                "{lib}: kernel `{}` of compiled program `{}` has the reader's signature, not the driver's",
                k.name,
                p.name
            );
            eprintln!("{lib}: kernel `{}` of compiled program `{}` is not on this device, kept untyped: {}", k.name, p.name, k.note);
            c.not_driver.push(format!("{}: {}", p.name, k.name));
            continue;
        }
        c.kernels += 1;
        match k.to_record().why_untyped() {
            None => c.typed += 1,
            Some((param, why)) => {
                eprintln!("{lib}: kernel `{}` of `{}` gets no typed method: parameter {param:?}: {why}", k.name, p.name);
                c.untyped.push(format!("{}: {}", p.name, k.name));
            }
        }
    }
}

/// How often `program` is reported as failed in `summary` (at most once).
fn failures_of(lib: &str, summary: &BuildSummary, program: &str) -> usize {
    let n = summary.report.failures.iter().filter(|f| f.program == program).count();
    assert!(n <= 1, "{lib}: program `{program}` is reported as failed {n} times");
    n
}

/// Counts what `bake` holds and checks what holds for every library: each failed program
/// is reported once and has no binary, each compiled one has a binary (except the
/// [`COMPILE_CHECK_ONLY`] ones), each kernel of a compiled program has the driver's
/// signature, and the programs with kernels load from their embedded binary.
fn check_bake(lib: &str, bake: &LibraryBake) -> Counts {
    let bundle = Bundle::parse(&bake.bytes).unwrap_or_else(|e| panic!("{lib}: the bundle does not parse: {e}"));
    let s = session();
    let fp = s.device().fingerprint.hash();
    let mut c = Counts { programs: bundle.programs().len(), ..Counts::default() };
    let mut expect_embedded = Vec::new();
    for (id, p) in bundle.programs().iter().enumerate() {
        let failed = failures_of(lib, &bake.summary, p.name);
        let binary = bundle.find_binary(id as u32, &fp).is_some();
        assert_eq!(binary, failed == 0, "{lib}: program `{}`: failed {failed} time(s), has a binary: {binary}", p.name);
        c.failed += failed;
        if !binary {
            continue;
        }
        c.compiled += 1;
        c.baked += 1;
        count_kernels(lib, p, &mut c);
        if p.kernels.iter().any(|k| k.origin == SignatureOrigin::Driver) {
            c.with_kernels += 1;
            expect_embedded.push(id);
        }
    }
    assert_eq!(bake.summary.report.failures.len(), c.failed, "{lib}: failures of programs not in the bundle");
    if let Some((summary, bytes)) = &bake.checked {
        let checked = Bundle::parse(bytes).unwrap_or_else(|e| panic!("{lib}: the compile-check bundle does not parse: {e}"));
        assert!(checked.binaries().is_empty(), "{lib}: a bake without capture holds binaries");
        for p in checked.programs() {
            let failed = failures_of(lib, summary, p.name);
            c.programs += 1;
            c.failed += failed;
            if failed == 0 {
                c.compiled += 1;
                c.checked_only += 1;
                count_kernels(lib, p, &mut c);
            }
        }
    }

    // An eager load creates every program now: the baked ones with kernels from their
    // binaries; the failed ones from source, where they fail alone, with their error.
    let set = KernelSet::<AnyProgram>::load_eager(&s, &Embedded::from_vec(bake.bytes.clone()), &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{lib}: the bundle does not open: {e}"));
    let loaded = set.report();
    assert_eq!(loaded.programs.len(), bundle.programs().len(), "{lib}: programs in the eager load report");
    for f in &bake.summary.report.failures {
        let p = loaded.programs.iter().find(|p| p.name == f.program).expect("every program is in the report");
        assert!(p.error.is_some(), "{lib}: program `{}` failed to bake but loaded from {} without an error", f.program, p.path);
    }
    for &id in &expect_embedded {
        let name = bundle.programs()[id].name;
        let p = loaded
            .programs
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{lib}: program `{name}` is missing from the load report"));
        assert_eq!(
            p.path,
            LoadPath::Embedded,
            "{lib}: program `{name}` came from {} instead of its embedded binary: {:?} {:?}",
            p.path,
            p.misses,
            p.error
        );
    }
    c
}

/// Prints the numbers quoted in reports, with `--nocapture`.
fn print_counts(lib: &str, c: &Counts, seconds: f64) {
    eprintln!(
        "{lib}: {} programs: {} compiled ({} with a binary, {} of them with kernels, all loaded from it; {} compile-checked without binary), {} failed; kernels typed {}/{}{}; bake {seconds:.1} s",
        c.programs,
        c.compiled,
        c.baked,
        c.with_kernels,
        c.checked_only,
        c.failed,
        c.typed,
        c.kernels,
        if c.not_driver.is_empty() { String::new() } else { format!(" (+{} kept untyped, not on this device)", c.not_driver.len()) }
    );
}

/// Kernels (`program: kernel`) known to differ from what the baseline expects.
#[derive(Default)]
struct Known<'a> {
    /// Kernels that get no typed method.
    untyped: &'a [&'a str],
    /// Kernels a compiled program lists although the driver did not report them.
    not_driver: &'a [&'a str],
}

/// Checks a library bake file by file against `baseline/<lib>.inc-arginfo.txt`.
fn matches_baseline(corpus: &Path, lib: &str, known: Known<'_>) {
    let baseline = read_baseline(corpus, lib);
    let bake = bake_library(corpus, lib, &[]);
    let c = check_bake(lib, &bake);
    print_counts(lib, &c, bake.seconds);
    let bundle = Bundle::parse(&bake.bytes).expect("parsed above");
    let checked = bake.checked.as_ref().map(|(s, b)| (s, Bundle::parse(b).expect("parsed above")));
    assert_eq!(c.programs, baseline.len(), "{lib}: programs in the bundles vs files in the baseline");
    let mut differ = Vec::new();
    for entry in &baseline {
        let name = entry.program.as_str();
        let (p, failure) = match (bundle.program(name), &checked) {
            (Some((_, p)), _) => (p, bake.summary.report.failures.iter().find(|f| f.program == name)),
            (None, Some((s, b))) => (
                b.program(name).map(|(_, p)| p).unwrap_or_else(|| panic!("{lib}: `{name}` is in no bundle")),
                s.report.failures.iter().find(|f| f.program == name),
            ),
            (None, None) => panic!("{lib}: `{name}` (in the baseline) is not in the bundle"),
        };
        match (&entry.outcome, failure) {
            // check_bake asserted the binary of every compiled program.
            (Outcome::Ok { kernels }, None) => {
                let driver = p.kernels.iter().filter(|k| k.origin == SignatureOrigin::Driver).count();
                assert_eq!(driver, *kernels, "{lib}: `{name}`: kernels the driver reported vs the baseline");
            }
            (Outcome::Ok { .. }, Some(f)) => panic!("{lib}: `{name}` compiled in the baseline but failed here:\n{f}"),
            (Outcome::Fail { error }, None) => panic!("{lib}: `{name}` failed in the baseline ({error}) but is not reported as failed"),
            (Outcome::Fail { error }, Some(f)) => {
                if error_message(error) != error_message(f.first_error()) {
                    differ.push(format!("  {name}: baseline `{error}`, clbake `{}`", f.first_error()));
                }
            }
        }
    }
    assert!(differ.is_empty(), "{lib}: {} failure(s) with another first error than the baseline's:\n{}", differ.len(), differ.join("\n"));
    let ok = baseline.iter().filter(|e| matches!(e.outcome, Outcome::Ok { .. })).count();
    let kernels: usize = baseline.iter().map(|e| if let Outcome::Ok { kernels } = e.outcome { kernels } else { 0 }).sum();
    assert_eq!((c.compiled, c.failed), (ok, baseline.len() - ok), "{lib}: (compiled, failed) vs the baseline's (OK, FAIL)");
    assert_eq!(c.kernels, kernels, "{lib}: kernels of the compiled programs vs the baseline's kernels in OK files");
    assert_eq!(c.not_driver, known.not_driver, "{lib}: kernels of compiled programs that the driver did not report");
    assert_eq!(c.untyped, known.untyped, "{lib}: kernels without a typed method");
    assert_eq!(c.typed + known.untyped.len(), c.kernels, "{lib}: typed kernels + known untyped ones vs kernels");
    eprintln!("{lib}: every OK file of the baseline compiled with its kernel count, every FAIL file reported once with the baseline's first error");
}

#[test]
fn opencv_bakes_as_the_baseline_compiles() {
    let Some(corpus) = corpus_or_skip("opencv_bakes_as_the_baseline_compiles") else {
        return;
    };
    // core/intel_gemm.cl declares its kernels under `#if defined(cl_intel_subgroups)`: the
    // driver here builds none, and the bundle keeps the reader's five as device-dependent
    // (`SignatureOrigin::Unknown`, no typed method) for a device that has the extension.
    let not_driver = [
        "core/intel_gemm: intelblas_gemm_buffer_NN_sp",
        "core/intel_gemm: intelblas_gemm_buffer_NN",
        "core/intel_gemm: intelblas_gemm_buffer_NT",
        "core/intel_gemm: intelblas_gemm_buffer_TN",
        "core/intel_gemm: intelblas_gemm_buffer_TT",
    ];
    matches_baseline(&corpus, "opencv", Known { not_driver: &not_driver, ..Known::default() });
}

#[test]
fn ggml_bakes_as_the_baseline_compiles() {
    let Some(corpus) = corpus_or_skip("ggml_bakes_as_the_baseline_compiles") else {
        return;
    };
    // Five kernels take `global void *` tensors with a byte offset (conv2d, pad, tsembd,
    // upscale): they get typed methods taking a buffer of any element type. 39/39.
    matches_baseline(&corpus, "llama.cpp", Known::default());
}

/// ACL's baseline file is without defines; with `DATA_TYPE=float VEC_SIZE=4
/// VEC_SIZE_LEFTOVER=0` the corpus README gives 92 OK / 21 FAIL, 13 files with 40 kernels.
#[test]
fn computelibrary_with_defines_bakes_as_the_readme_says() {
    let Some(corpus) = corpus_or_skip("computelibrary_with_defines_bakes_as_the_readme_says") else {
        return;
    };
    let lib = "computelibrary";
    let bake = bake_library(&corpus, lib, &[("DATA_TYPE", "float"), ("VEC_SIZE", "4"), ("VEC_SIZE_LEFTOVER", "0")]);
    let c = check_bake(lib, &bake);
    print_counts(lib, &c, bake.seconds);
    assert_eq!(c.programs, 113, "{lib}: programs in the bundle");
    assert_eq!((c.compiled, c.failed), (92, 21), "{lib}: (compiled, failed) vs the README's 92 OK / 21 FAIL");
    assert_eq!((c.with_kernels, c.kernels), (13, 40), "{lib}: (baked programs with kernels, kernels) vs the README's 13 files, 40 kernels");
    assert_eq!((c.typed, c.untyped.len()), (40, 0), "{lib}: typed kernels, untyped ones: {:?}", c.untyped);
    assert!(c.not_driver.is_empty(), "{lib}: kernels of compiled programs that the driver did not report: {:?}", c.not_driver);
}
