//! clbake against real public OpenCL kernel libraries (the corpus beside the repository; see
//! the crate docs). One binary, topic modules. Every test skips with a note on stderr when
//! the corpus is absent; `-- --nocapture` shows what each test checked.

// The helpers of the typed calls are unused when those are compiled out.
#[cfg_attr(not(has_corpus), allow(dead_code))]
mod common;

mod baseline;
mod options;

// Typed calls through `include_kernels!`: the bundles exist only when build.rs found the
// corpus.
#[cfg(has_corpus)]
mod acl;
#[cfg(has_corpus)]
mod ggml;
#[cfg(has_corpus)]
mod opencv;

#[cfg(not(has_corpus))]
#[test]
fn typed_calls_against_the_cpu() {
    eprintln!("typed_calls_against_the_cpu: skipped: build.rs found no kernel corpus, so no bundles were baked");
}
