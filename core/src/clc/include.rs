//! `#include` expansion, as a C preprocessor resolves includes: `"x"` relative to the
//! including file, then the include directories; `<x>` through the include directories.
//!
//! Every header found is expanded into the program's source, with `#line` markers so that a
//! driver's build log names the original file and line; the expanded text is what the bundle
//! stores, so a device never needs the headers, and the include directories never reach the
//! build options. Files are expanded whole (conditionals are the driver's to evaluate, with
//! the device's own macros), relying on their include guards or `#pragma once`.
//!
//! An include that cannot be found is an error naming the file and line, the header and
//! the directories searched — unless it sits inside a conditional block (`#if ... #endif`),
//! where it may well be dead on every device: then the line is kept as written, the driver
//! sees it only if the branch is taken, and [`Expanded::kept`] lists it for a warning.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Most nested includes followed before the expander reports a cycle.
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// The first line of a `#pragma once` header's expansion, so a second include of it can be
/// dropped.
const ONCE_MARK: &str = "//clbake:once";

/// Why a file's includes could not be expanded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IncludeError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An include outside any conditional block was not found.
    #[error("{}:{line}: `#include {spelled}` not found (searched {})", file.display(), searched_text(searched))]
    NotFound {
        /// The including file.
        file: PathBuf,
        /// 1-based line of the `#include`.
        line: usize,
        /// The include as written (`"x.h"` or `<x.h>`).
        spelled: String,
        /// Directories searched, in order.
        searched: Vec<PathBuf>,
    },
    /// Includes nest deeper than [`MAX_INCLUDE_DEPTH`], which almost always means a cycle.
    #[error("{}: includes nested more than {MAX_INCLUDE_DEPTH} deep (an include cycle without include guards?)", file.display())]
    Cycle {
        /// The file where the depth limit was hit.
        file: PathBuf,
    },
}

fn searched_text(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no directory: add one with an include dir (`-I DIR`, `Builder::with_include_dir`)".into();
    }
    let list: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    format!("{}; add the header's directory with `-I DIR` / `Builder::with_include_dir`", list.join(", "))
}

/// The expansion of one kernel file.
#[derive(Clone, Debug, Default)]
pub struct Expanded {
    /// The source with every include expanded and `#line` markers.
    pub text: String,
    /// Every file read (the kernel file and the headers), for `rerun-if-changed`.
    pub inputs: Vec<PathBuf>,
    /// Includes inside conditional blocks that were not found, kept as written:
    /// `file:line: #include ...`.
    pub kept: Vec<String>,
}

/// Expands the includes of `file`. `root` and `include_dirs` make the `#line` file names
/// relative, so the expanded text (and its key) does not depend on where the checkout lives.
pub fn expand(file: &Path, root: &Path, include_dirs: &[PathBuf]) -> Result<Expanded, IncludeError> {
    let mut state = State { root, include_dirs, inputs: BTreeSet::new(), kept: Vec::new(), once: BTreeSet::new() };
    let text = state.file(file, 0)?;
    Ok(Expanded { text, inputs: state.inputs.into_iter().collect(), kept: state.kept })
}

struct State<'a> {
    root: &'a Path,
    include_dirs: &'a [PathBuf],
    inputs: BTreeSet<PathBuf>,
    kept: Vec<String>,
    /// `#pragma once` files already expanded.
    once: BTreeSet<PathBuf>,
}

/// An include directive: the name and whether it was `<...>`.
fn parse_include(line: &str) -> Option<(&str, bool)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start().strip_prefix("include")?.trim_start();
    if let Some(r) = rest.strip_prefix('"') {
        return r.find('"').map(|end| (&r[..end], false));
    }
    if let Some(r) = rest.strip_prefix('<') {
        return r.find('>').map(|end| (&r[..end], true));
    }
    None
}

/// How a line changes the conditional nesting depth: +1 for `#if*`, -1 for `#endif`.
fn nesting(line: &str) -> i32 {
    let Some(d) = line.trim_start().strip_prefix('#') else { return 0 };
    let word = d.trim_start().split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default();
    match word {
        "if" | "ifdef" | "ifndef" => 1,
        "endif" => -1,
        _ => 0,
    }
}

impl State<'_> {
    fn display_name(&self, file: &Path) -> String {
        std::iter::once(self.root)
            .chain(self.include_dirs.iter().map(PathBuf::as_path))
            .find_map(|dir| file.strip_prefix(dir).ok())
            .or_else(|| file.file_name().map(Path::new))
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/")
    }

    fn resolve(&self, from: &Path, name: &str, angled: bool) -> (Option<PathBuf>, Vec<PathBuf>) {
        let here = from.parent().map(Path::to_path_buf).unwrap_or_default();
        let dirs: Vec<PathBuf> =
            if angled { self.include_dirs.to_vec() } else { std::iter::once(here).chain(self.include_dirs.iter().cloned()).collect() };
        let found = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
        (found, dirs)
    }

    fn file(&mut self, file: &Path, depth: usize) -> Result<String, IncludeError> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(IncludeError::Cycle { file: file.to_path_buf() });
        }
        let text = std::fs::read_to_string(file).map_err(|source| IncludeError::Io { path: file.to_path_buf(), source })?;
        self.inputs.insert(file.to_path_buf());
        let shown = self.display_name(file);
        let mut out = String::with_capacity(text.len() + 64);
        let mut pragma_once = false;
        let mut depth_if = 0i32;
        let mut in_comment = false;
        for (i, line) in text.lines().enumerate() {
            let code = if in_comment { None } else { Some(line) };
            in_comment = ends_in_comment(line, in_comment);
            let Some(code) = code else {
                out.push_str(line);
                out.push('\n');
                continue;
            };
            let trimmed = code.trim_start();
            if trimmed.starts_with('#')
                && trimmed[1..].trim_start().starts_with("pragma")
                && trimmed.split_whitespace().any(|w| w == "once")
            {
                pragma_once = true;
                continue;
            }
            depth_if += nesting(code);
            let Some((name, angled)) = parse_include(trimmed) else {
                out.push_str(line);
                out.push('\n');
                continue;
            };
            let (found, searched) = self.resolve(file, name, angled);
            let spelled = if angled { format!("<{name}>") } else { format!("\"{name}\"") };
            let Some(found) = found else {
                if depth_if > 0 {
                    self.kept.push(format!("{}:{}: #include {spelled}", file.display(), i + 1));
                    out.push_str(line);
                    out.push('\n');
                    continue;
                }
                return Err(IncludeError::NotFound { file: file.to_path_buf(), line: i + 1, spelled, searched });
            };
            if !self.once.contains(&found) {
                let body = self.file(&found, depth + 1)?;
                if body.starts_with(ONCE_MARK) {
                    self.once.insert(found);
                }
                out.push_str(&body);
            }
            out.push_str(&format!("#line {} \"{}\"\n", i + 2, shown));
        }
        let header = format!("{}#line 1 \"{}\"\n", if pragma_once { "//clbake:once\n" } else { "" }, shown);
        Ok(header + &out)
    }
}

/// Whether a `/* ... */` comment is still open at the end of `line`, given whether one was
/// open at its start. Strings and `//` comments are respected.
fn ends_in_comment(line: &str, mut open: bool) -> bool {
    let b = line.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        if open {
            if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                open = false;
                i += 2;
                continue;
            }
        } else if let Some(q) = quote {
            if b[i] == b'\\' {
                i += 1;
            } else if b[i] == q {
                quote = None;
            }
        } else {
            match (b[i], b.get(i + 1)) {
                (b'/', Some(b'/')) => return false,
                (b'/', Some(b'*')) => {
                    open = true;
                    i += 2;
                    continue;
                }
                (b'"' | b'\'', _) => quote = Some(b[i]),
                _ => {}
            }
        }
        i += 1;
    }
    open
}

/// The line of the original file that line `line` (1-based) of an expanded source came
/// from, following the `#line N "file"` markers the expander writes, with that file's name.
pub fn original_location(source: &str, line: usize) -> (Option<String>, usize) {
    let mut mapped = (None, line);
    for (i, l) in source.lines().enumerate().take(line.saturating_sub(1)) {
        let Some(rest) = l.strip_prefix("#line ") else { continue };
        let mut words = rest.splitn(2, ' ');
        if let Some(n) = words.next().and_then(|n| n.parse::<usize>().ok()) {
            let file = words.next().map(|f| f.trim().trim_matches('"').to_string());
            // Line i + 2 of the expanded text is line n.
            mapped = (file, (n + line).saturating_sub(i + 2));
        }
    }
    mapped
}

/// The line of the original file that line `line` of an expanded source came from.
pub fn original_line(source: &str, line: usize) -> usize {
    original_location(source, line).1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = d.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    #[test]
    fn quoted_and_angled_includes_with_line_markers() {
        let d = dir(&[
            ("lib/common.h", "#pragma once\n#define X 1\n"),
            ("k/sub/k.cl", "#include <common.h>\n#include \"common.h\"\n#include \"local.h\"\nkernel void k() {}\n"),
            ("k/sub/local.h", "#define L 2\n"),
        ]);
        let root = d.path().join("k");
        let e = expand(&root.join("sub/k.cl"), &root, &[d.path().join("lib")]).unwrap();
        assert_eq!(e.text.matches("#define X 1").count(), 1, "#pragma once header expanded once:\n{}", e.text);
        assert!(e.text.contains("#define L 2"));
        assert!(e.text.contains("#line 1 \"common.h\"") && e.text.contains("#line 2 \"sub/k.cl\""), "{}", e.text);
        assert_eq!(e.inputs.len(), 3);
        let at = e.text.lines().position(|l| l.contains("kernel void k")).unwrap() + 1;
        assert_eq!(original_location(&e.text, at), (Some("sub/k.cl".into()), 4));
    }

    #[test]
    fn angled_includes_do_not_look_next_to_the_file() {
        let d = dir(&[("k.cl", "#include <near.h>\n"), ("near.h", "")]);
        let err = expand(&d.path().join("k.cl"), d.path(), &[]).unwrap_err().to_string();
        assert!(err.contains("k.cl:1: `#include <near.h>` not found") && err.contains("-I DIR"), "{err}");
    }

    #[test]
    fn a_missing_include_under_a_conditional_is_kept() {
        let d = dir(&[(
            "k.cl",
            "#ifdef __ANDROID__\n#include <android.h>\n#endif\n/* #include \"gone.h\" */\n// #include \"gone.h\"\nkernel void k() {}\n",
        )]);
        let e = expand(&d.path().join("k.cl"), d.path(), &[]).unwrap();
        assert!(e.text.contains("#include <android.h>"));
        assert_eq!(e.kept.len(), 1, "{:?}", e.kept);
        assert!(e.kept[0].ends_with("k.cl:2: #include <android.h>"), "{:?}", e.kept);
    }

    #[test]
    fn a_cycle_is_an_error() {
        let d = dir(&[("a.h", "#include \"b.h\"\n"), ("b.h", "#include \"a.h\"\n"), ("k.cl", "#include \"a.h\"\n")]);
        let err = expand(&d.path().join("k.cl"), d.path(), &[]).unwrap_err();
        assert!(matches!(err, IncludeError::Cycle { .. }), "{err}");
    }

    #[test]
    fn comments_spanning_lines() {
        assert!(ends_in_comment("a /* b", false));
        assert!(!ends_in_comment("a /* b */ c", false));
        assert!(!ends_in_comment("x */ y", true));
        assert!(!ends_in_comment("s = \"/*\";", false));
        assert!(!ends_in_comment("// /*", false));
    }
}
