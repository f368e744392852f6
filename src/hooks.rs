//! Fault-injection hooks for clbake's own tests, compiled only with the `test-hooks` feature
//! (clbake-cli's tests turn it on through a dev-dependency; an application never has it, so
//! no environment variable can make its process abort).

use std::path::Path;

/// `CLBAKE_TEST_ABORT_AFTER_SENTINEL=embedded|cache|source|parallel|any`: aborts the process,
/// as a driver crash would, right after a crash sentinel of that kind is written.
#[cfg(feature = "test-hooks")]
pub(crate) fn abort_after_sentinel(kind: &str, path: &Path) {
    let var = clbake_core::env::TEST_ABORT_AFTER_SENTINEL;
    if std::env::var(var).is_ok_and(|v| v == kind || v == "any" || v == "1") {
        eprintln!("clbake: {var}: aborting after writing {}", path.display());
        std::process::abort();
    }
}

/// Without the `test-hooks` feature: nothing.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn abort_after_sentinel(_kind: &str, _path: &Path) {}

/// The value of test-hook variable `var`, only with the `test-hooks` feature.
#[doc(hidden)]
pub fn test_hook(var: &'static str) -> Option<String> {
    if cfg!(feature = "test-hooks") {
        std::env::var(var).ok()
    } else {
        None
    }
}
