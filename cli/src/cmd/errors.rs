//! How a failed command is reported: one line naming the cause and the fix, then details.
//!
//! The libraries' errors already carry the cause (and, for a missing runtime or device, the
//! fix); this module adds the fix where only the tool knows it — a kernel that does not
//! compile, a damaged bundle — and keeps a driver's multi-line build log below that line.

use clbake::core::cl::ClError;
use clbake::core::format::FormatError;
use clbake::Error;

/// The OpenCL error in `e`'s chain.
fn cl_error(e: &anyhow::Error) -> Option<&ClError> {
    e.chain().find_map(|c| {
        c.downcast_ref::<ClError>().or_else(|| match c.downcast_ref::<Error>() {
            Some(Error::OpenCl(cl)) => Some(&**cl),
            _ => None,
        })
    })
}

/// The bundle-format error in `e`'s chain, if any.
fn format_error(e: &anyhow::Error) -> Option<&FormatError> {
    e.chain().find_map(|c| {
        c.downcast_ref::<FormatError>().or_else(|| match c.downcast_ref::<Error>() {
            Some(Error::Bundle(f)) | Some(Error::Source { source: f, .. }) => Some(f),
            _ => None,
        })
    })
}

/// The fix for a damaged or foreign bundle.
pub fn bundle_fix(e: &FormatError) -> &'static str {
    match e {
        FormatError::UnsupportedVersion { .. } => "bake it again with this clbake (`clbake bake`, or the app's --clbake-bake)",
        FormatError::BadMagic { .. } => "pass a .clbk file written by `clbake bake` or an executable built with `include_kernels!`",
        _ => "the file is damaged or cut short: copy it again, or re-bake it with `clbake bake`",
    }
}

/// The causes of `e`, outermost first, joined with `: `; a cause whose text the level above
/// already shows is left out, so no cause is printed twice.
fn chain_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let t = cause.to_string();
        if !out.contains(&t) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&t);
        }
    }
    out
}

/// The text printed on stderr for a failed command.
pub fn render(e: &anyhow::Error) -> String {
    if let Some(Error::Build { program, device, options, log }) = e.chain().find_map(|c| c.downcast_ref::<Error>()) {
        let opts = if options.is_empty() { String::new() } else { format!(" with options `{options}`") };
        return format!("error: kernel compile error: program `{program}` does not compile for {device}{opts}; fix the source at the lines the driver's log names:\n{}", log.trim_end());
    }
    if let Some(ClError::Build { program, file, options, device, log }) = cl_error(e) {
        let what = match file {
            Some(f) => format!("{} (program `{program}`)", f.display()),
            None => format!("program `{program}`"),
        };
        let opts = if options.is_empty() { String::new() } else { format!(" with options `{options}`") };
        return format!(
            "error: kernel compile error: {what} does not compile for {device}{opts}; fix the source at the lines the driver's log names:\n{}",
            log.trim_end()
        );
    }
    let text = chain_text(e);
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let mut out = format!("error: {first}");
    if let Some(f) = format_error(e) {
        out.push_str("; ");
        out.push_str(bundle_fix(f));
    }
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(rest);
    }
    out
}
