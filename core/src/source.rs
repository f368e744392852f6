//! Kernel discovery, `#include` expansion and build-option variants.
//!
//! Every top-level `NAME.cl` of a kernel directory is one OpenCL program. Quoted includes
//! (`#include "common.h"`) are expanded at build time, relative to the including file and
//! then to the include directories, with `#line` markers so a driver's build log names the
//! original file and line. The expanded text is what the bundle stores and hashes, so a
//! device never needs the include files.
//!
//! A file declares build-option variants with lines of the form
//! `// clbake:variant NAME -DFOO=1 -DBAR=2`; each becomes a program `STEM_NAME` compiled with
//! those options. A file without such lines is one program `STEM` with no options.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Most nested includes followed before the expander reports a cycle.
const MAX_INCLUDE_DEPTH: usize = 32;

/// One program to compile: a kernel file with its includes expanded and one set of options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSource {
    /// Program name: the file stem, plus `_VARIANT` for variants.
    pub name: String,
    /// The `.cl` file the program comes from.
    pub file: PathBuf,
    /// Build options (variant options, then global defines), space separated.
    pub options: String,
    /// Source text with every quoted include expanded.
    pub source: String,
    /// Names of the `__kernel` functions in the source, in order of appearance.
    pub kernels: Vec<String>,
    /// Every file read to produce `source` (the `.cl` file and its includes).
    pub inputs: Vec<PathBuf>,
}

/// A build-option variant declared in a kernel file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Variant name, appended to the file stem.
    pub name: String,
    /// Build options of the variant.
    pub options: String,
}

/// Why kernel sources could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A quoted include was not found next to the including file or in any include directory.
    #[error("{file}:{line}: include \"{include}\" not found (searched the file's directory and {searched} include dir(s))")]
    IncludeNotFound {
        /// The including file.
        file: PathBuf,
        /// 1-based line of the `#include`.
        line: usize,
        /// The name in quotes.
        include: String,
        /// How many include directories were searched.
        searched: usize,
    },
    /// Includes nest deeper than allowed, which almost always means a cycle.
    #[error("{file}: includes nested more than {MAX_INCLUDE_DEPTH} deep (include cycle?)")]
    IncludeCycle {
        /// The file where the depth limit was hit.
        file: PathBuf,
    },
    /// A variant line or a file name is not usable as a program name.
    #[error("{file}: {problem}")]
    BadDeclaration {
        /// The kernel file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The directory holds no `.cl` file.
    #[error("no .cl kernel files in {dir}")]
    NoKernels {
        /// The directory searched.
        dir: PathBuf,
    },
}

/// Options for [`discover`].
#[derive(Clone, Debug, Default)]
pub struct DiscoverOptions {
    /// Extra include directories searched after the including file's directory.
    pub include_dirs: Vec<PathBuf>,
    /// Global `-D NAME=VALUE` defines appended to every program's options.
    pub defines: Vec<(String, String)>,
}

/// Finds every `.cl` file directly inside `dir` (sorted by name), expands its includes and
/// returns one [`ProgramSource`] per program (variants expanded), sorted by program name.
pub fn discover(dir: &Path, opts: &DiscoverOptions) -> Result<Vec<ProgramSource>, SourceError> {
    let files = kernel_files(dir)?;
    if files.is_empty() {
        return Err(SourceError::NoKernels { dir: dir.to_path_buf() });
    }
    let mut out = Vec::new();
    for file in files {
        out.extend(programs_of_file(&file, dir, opts)?);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in out.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(SourceError::BadDeclaration {
                file: pair[1].file.clone(),
                problem: format!("program name `{}` is declared twice", pair[1].name),
            });
        }
    }
    Ok(out)
}

/// The `.cl` files directly inside `dir`, sorted.
pub fn kernel_files(dir: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let io = |source| SourceError::Io { path: dir.to_path_buf(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "cl") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Every program declared by one kernel file.
pub fn programs_of_file(file: &Path, root: &Path, opts: &DiscoverOptions) -> Result<Vec<ProgramSource>, SourceError> {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    check_name(&stem, file)?;
    let mut inputs = BTreeSet::new();
    let source = expand_file(file, root, &opts.include_dirs, &mut inputs, 0)?;
    let kernels = kernel_names(&source);
    let variants = parse_variants(&source, file)?;
    let defines: Vec<String> = opts.defines.iter().map(|(k, v)| if v.is_empty() { format!("-D{k}") } else { format!("-D{k}={v}") }).collect();
    let inputs: Vec<PathBuf> = inputs.into_iter().collect();
    let make = |name: String, variant_opts: &str| {
        let options = std::iter::once(variant_opts.to_string())
            .chain(defines.iter().cloned())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        ProgramSource { name, file: file.to_path_buf(), options, source: source.clone(), kernels: kernels.clone(), inputs: inputs.clone() }
    };
    let programs = if variants.is_empty() {
        vec![make(stem, "")]
    } else {
        variants.iter().map(|v| make(format!("{stem}_{}", v.name), &v.options)).collect()
    };
    check_tune_lines(&source, file, &programs)?;
    Ok(programs)
}

fn check_name(name: &str, file: &Path) -> Result<(), SourceError> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(SourceError::BadDeclaration {
            file: file.to_path_buf(),
            problem: format!("`{name}` is not a valid program name (use lowercase letters, digits and _)"),
        })
    }
}

/// Checks the `// clbake:tune` and `// clbake:launch` lines (see [`crate::tune`]) against the kernels' signatures
/// under every program's options.
fn check_tune_lines(source: &str, file: &Path, programs: &[ProgramSource]) -> Result<(), SourceError> {
    let options: Vec<&str> = programs.iter().map(|p| p.options.as_str()).collect();
    crate::tune::check_tunes(source, &options).map(drop).map_err(|(line, problem)| SourceError::BadDeclaration {
        file: file.to_path_buf(),
        problem: format!("line {}: `{}`: {problem}", original_line(source, line), source.lines().nth(line.saturating_sub(1)).unwrap_or_default().trim()),
    })
}

/// The line of the file that line `line` (1-based) of the expanded `source` came from,
/// following the `#line N "file"` markers the include expander writes.
pub fn original_line(source: &str, line: usize) -> usize {
    let mut mapped = line;
    for (i, l) in source.lines().enumerate().take(line.saturating_sub(1)) {
        if let Some(n) = l.strip_prefix("#line ").and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse::<usize>().ok()) {
            // Line i + 2 of the expanded text is line n.
            mapped = (n + line).saturating_sub(i + 2);
        }
    }
    mapped
}

/// Parses `// clbake:variant NAME OPTIONS...` lines.
pub fn parse_variants(source: &str, file: &Path) -> Result<Vec<Variant>, SourceError> {
    let mut out: Vec<Variant> = Vec::new();
    for line in source.lines() {
        let Some(rest) = line.trim_start().strip_prefix("// clbake:variant") else { continue };
        let mut words = rest.split_whitespace();
        let Some(name) = words.next() else {
            return Err(SourceError::BadDeclaration { file: file.to_path_buf(), problem: "`// clbake:variant` without a name".into() });
        };
        check_name(name, file)?;
        if out.iter().any(|v| v.name == name) {
            return Err(SourceError::BadDeclaration { file: file.to_path_buf(), problem: format!("variant `{name}` declared twice") });
        }
        out.push(Variant { name: name.to_string(), options: words.collect::<Vec<_>>().join(" ") });
    }
    Ok(out)
}

/// Expands quoted includes of `file` recursively. `root` makes `#line` file names relative,
/// so the expanded text (and its hash) does not depend on where the checkout lives.
pub fn expand_file(
    file: &Path,
    root: &Path,
    include_dirs: &[PathBuf],
    inputs: &mut BTreeSet<PathBuf>,
    depth: usize,
) -> Result<String, SourceError> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(SourceError::IncludeCycle { file: file.to_path_buf() });
    }
    let text = std::fs::read_to_string(file).map_err(|source| SourceError::Io { path: file.to_path_buf(), source })?;
    inputs.insert(file.to_path_buf());
    let shown = display_name(file, root, include_dirs);
    let mut out = String::with_capacity(text.len() + 64);
    let mut pragma_once = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#pragma") && trimmed.split_whitespace().nth(1) == Some("once") {
            pragma_once = true;
            continue;
        }
        if let Some(name) = quoted_include(trimmed) {
            let found = resolve_include(file, name, include_dirs).ok_or_else(|| SourceError::IncludeNotFound {
                file: file.to_path_buf(),
                line: i + 1,
                include: name.to_string(),
                searched: include_dirs.len(),
            })?;
            let already = inputs.contains(&found);
            let body = expand_file(&found, root, include_dirs, inputs, depth + 1)?;
            // `#pragma once` files are expanded once; others rely on their include guards.
            if !(already && body.starts_with("//clbake:once")) {
                out.push_str(&body);
            }
            out.push_str(&format!("#line {} \"{}\"\n", i + 2, shown));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    let header = format!("{}#line 1 \"{}\"\n", if pragma_once { "//clbake:once\n" } else { "" }, shown);
    Ok(header + &out)
}

fn display_name(file: &Path, root: &Path, include_dirs: &[PathBuf]) -> String {
    std::iter::once(root)
        .chain(include_dirs.iter().map(PathBuf::as_path))
        .find_map(|dir| file.strip_prefix(dir).ok())
        .or_else(|| file.file_name().map(Path::new))
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}

fn quoted_include(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?.trim_start().strip_prefix("include")?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(&rest[..end])
}

fn resolve_include(from: &Path, name: &str, include_dirs: &[PathBuf]) -> Option<PathBuf> {
    let here = from.parent().map(Path::to_path_buf).unwrap_or_default();
    std::iter::once(here).chain(include_dirs.iter().cloned()).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Names of the `__kernel` / `kernel` functions declared in `source`, in order.
pub fn kernel_names(source: &str) -> Vec<String> {
    let code = strip_comments(source);
    let mut names = Vec::new();
    let tokens: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '('))
        .filter(|t| !t.is_empty())
        .collect();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == "__kernel" || tokens[i] == "kernel" {
            // Skip attributes and qualifiers up to `void`, then take the identifier.
            let mut j = i + 1;
            while j < tokens.len() && tokens[j] != "void" && j < i + 16 {
                j += 1;
            }
            if let Some(tok) = tokens.get(j + 1) {
                let name = tok.split('(').next().unwrap_or_default();
                if !name.is_empty() && !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    names
}

/// Removes `//` and `/* */` comments, keeping line structure.
pub fn strip_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("clbake-src-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn expands_includes_with_line_markers_and_variants() {
        let d = tmpdir("a");
        std::fs::write(d.join("common.h"), "#pragma once\n#define X 1\n").unwrap();
        std::fs::write(
            d.join("k.cl"),
            "// clbake:variant a -DA=1\n// clbake:variant b -DB=2 -DC\n#include \"common.h\"\n#include \"common.h\"\n__kernel void foo(__global float* x) {}\nkernel __attribute__((reqd_work_group_size(1,1,1))) void bar(int n) {}\n/* __kernel void no(int) */\n",
        )
        .unwrap();
        let progs = discover(&d, &DiscoverOptions { defines: vec![("T".into(), "float".into())], ..Default::default() }).unwrap();
        assert_eq!(progs.len(), 2);
        assert_eq!(progs[0].name, "k_a");
        assert_eq!(progs[0].options, "-DA=1 -DT=float");
        assert_eq!(progs[1].options, "-DB=2 -DC -DT=float");
        assert_eq!(progs[0].kernels, vec!["foo", "bar"]);
        assert_eq!(progs[0].source.matches("#define X 1").count(), 1, "pragma once honoured");
        assert!(progs[0].source.contains("#line 1 \"common.h\""));
        assert!(progs[0].source.contains("#line 4 \"k.cl\""));
        let expanded_line = progs[0].source.lines().position(|l| l.contains("void no(int)")).unwrap() + 1;
        assert_eq!(original_line(&progs[0].source, expanded_line), std::fs::read_to_string(d.join("k.cl")).unwrap().lines().position(|l| l.contains("void no(int)")).unwrap() + 1);
        assert_eq!(progs[0].inputs.len(), 2);
    }

    #[test]
    fn missing_include_names_file_and_line() {
        let d = tmpdir("b");
        std::fs::write(d.join("k.cl"), "\n#include \"nope.h\"\n").unwrap();
        let err = discover(&d, &DiscoverOptions::default()).unwrap_err().to_string();
        assert!(err.contains("k.cl:2") && err.contains("nope.h"), "{err}");
    }

    #[test]
    fn include_cycle_is_an_error() {
        let d = tmpdir("c");
        std::fs::write(d.join("a.h"), "#include \"b.h\"\n").unwrap();
        std::fs::write(d.join("b.h"), "#include \"a.h\"\n").unwrap();
        std::fs::write(d.join("k.cl"), "#include \"a.h\"\n").unwrap();
        assert!(matches!(discover(&d, &DiscoverOptions::default()), Err(SourceError::IncludeCycle { .. })));
    }

    #[test]
    fn tune_lines_are_checked_against_every_variant() {
        let d = tmpdir("e");
        let k = "// clbake:variant f -DT=float\n// clbake:variant i -DT=int\n__kernel void k(__global T* x, T s, int n) {}\n";
        std::fs::write(d.join("k.cl"), format!("// clbake:tune k 64 x=n s=2 n=64\n{k}")).unwrap();
        assert_eq!(discover(&d, &DiscoverOptions::default()).unwrap().len(), 2);
        // A decimal for `s` suits the float variant but not the int one.
        std::fs::write(d.join("k.cl"), format!("// clbake:tune k 64 x=n s=0.5 n=64\n{k}")).unwrap();
        let err = discover(&d, &DiscoverOptions::default()).unwrap_err().to_string();
        assert!(err.contains("k.cl") && err.contains("s=0.5") && err.contains("integer parameter"), "{err}");
        std::fs::write(d.join("k.cl"), format!("// clbake:tune nope 64\n{k}")).unwrap();
        let err = discover(&d, &DiscoverOptions::default()).unwrap_err().to_string();
        assert!(err.contains("no kernel `nope`"), "{err}");
        // `// clbake:launch` lines are checked the same way.
        std::fs::write(d.join("k.cl"), format!("{k}// clbake:launch k 64 x=n n=64\n")).unwrap();
        let err = discover(&d, &DiscoverOptions::default()).unwrap_err().to_string();
        assert!(err.contains("k.cl") && err.contains("clbake:launch k 64") && err.contains("`s` of `k` has no value"), "{err}");
    }

    #[test]
    fn bad_names_rejected() {
        let d = tmpdir("d");
        std::fs::write(d.join("Bad-Name.cl"), "").unwrap();
        assert!(matches!(discover(&d, &DiscoverOptions::default()), Err(SourceError::BadDeclaration { .. })));
    }
}
