//! Writing to stdout when the reader may go away.
//!
//! Rust starts every program with SIGPIPE ignored, so a write to a closed pipe returns
//! `BrokenPipe` and `println!` panics (`clbake inspect app | head` printed "failed printing
//! to stdout: Broken pipe"). A command-line filter should instead end quietly, as `cat`
//! does: the default action of SIGPIPE is restored at the start of `main`.

/// Restores the default action of SIGPIPE (terminate quietly); a no-op off Unix.
pub fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread is started; SIG_DFL is a
    // valid disposition for SIGPIPE and no Rust code relies on it being ignored (stdout
    // writes after this simply never see EPIPE).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
