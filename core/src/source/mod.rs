//! Kernel discovery: the programs of a kernel directory, each with its expanded source,
//! build options, and kernels as clbake's reader sees them.
//!
//! Every `.cl` file under the directory (subfolders included, `precompiled/` excepted) is
//! one program named after its path relative to the directory, without `.cl`
//! (`nchw/pooling_layer`, `boxFilter3x3`). A file with `// clbake:variant NAME OPTIONS`
//! lines (or variants declared from the build script) is one program per variant, named
//! `STEM_NAME`. A program's options are, in order: the library-wide defines, its variant's
//! options, the per-program options that match it. Includes are expanded (see
//! [`crate::clc::include`]); the expanded text is what the bundle stores.
//!
//! Problems of one file (a header not found, a bad `// clbake:` line, bad options) do not
//! stop the others: [`Discovery::failures`] lists them, and the bake reports them with the
//! compile failures.

mod options;

pub use options::{check as check_options, define};

use crate::clc::directives::{declared_launches, parse_variants, Variant};
use crate::clc::include::{self, original_line};
use crate::format::{KernelRecord, SignatureOrigin};
use crate::hash::Hash128;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One program to compile: a kernel file with its includes expanded and one set of options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSource {
    /// Program name: the file's relative path without `.cl`, plus `_VARIANT` for variants.
    pub name: String,
    /// The file's relative path without `.cl`.
    pub stem: String,
    /// The build variant, empty when none.
    pub variant: String,
    /// The `.cl` file the program comes from.
    pub file: PathBuf,
    /// Build options (space separated).
    pub options: String,
    /// Source text with every include expanded.
    pub source: String,
    /// Kernels in source order as clbake's reader sees them (signatures read from the
    /// preprocessed source, or unknown with the reason); the bake replaces them with the
    /// driver's view when it compiles the program.
    pub kernels: Vec<KernelRecord>,
    /// Typedefs of the source (name to OpenCL type), to resolve type names drivers report.
    pub typedefs: BTreeMap<String, String>,
    /// Every file read to produce `source` (the `.cl` file and its includes).
    pub inputs: Vec<PathBuf>,
    /// Warnings about the program (includes kept under conditionals, `#error`s the reader
    /// reached).
    pub notes: Vec<String>,
}

impl ProgramSource {
    /// The program as a bundle stores it (its kernels as discovery read them).
    pub fn spec(&self) -> crate::format::ProgramSpec<'_> {
        crate::format::ProgramSpec {
            name: &self.name,
            stem: &self.stem,
            variant: &self.variant,
            options: &self.options,
            source: &self.source,
            kernels: self.kernels.clone(),
        }
    }

    /// The [`program_key`](crate::hash::program_key) of this program.
    pub fn key(&self) -> Hash128 {
        crate::hash::program_key_of_source(&self.name, &self.options, &self.source)
    }

    /// A program from its parts, its kernels read by clbake's reader under `options`.
    pub fn new(name: &str, stem: &str, variant: &str, file: PathBuf, options: &str, source: String) -> Self {
        let reading = crate::clc::read(&source, options);
        let kernels = reading
            .kernels
            .into_iter()
            .map(|(name, r)| match r {
                Ok(info) => KernelRecord {
                    name,
                    origin: SignatureOrigin::Reader,
                    note: String::new(),
                    reqd_work_group_size: info.reqd_work_group_size.map(|r| r.map(|x| u32::try_from(x).unwrap_or(u32::MAX))),
                    params: info.params,
                },
                Err(why) => KernelRecord::unknown(&name, &why),
            })
            .collect();
        let notes = reading.errors.iter().map(|e| format!("{}: {e} (with options `{options}`)", file.display())).collect();
        ProgramSource {
            name: name.into(),
            stem: stem.into(),
            variant: variant.into(),
            file,
            options: options.into(),
            source,
            kernels,
            typedefs: reading.typedefs,
            inputs: Vec::new(),
            notes,
        }
    }
}

/// Why a kernel directory could not be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The directory holds no `.cl` file (after exclusions).
    #[error("no .cl kernel files in {} (or all of them excluded)", dir.display())]
    NoKernels {
        /// The directory searched.
        dir: PathBuf,
    },
    /// Two programs get the same name.
    #[error("{} and {} both make program `{name}`: rename a file or a variant", first.display(), second.display())]
    DuplicateName {
        /// The name.
        name: String,
        /// The file of the first program.
        first: PathBuf,
        /// The file of the second.
        second: PathBuf,
    },
    /// A pattern (per-program options, exclusion, variant) is not a valid glob.
    #[error("`{pattern}` is not a valid pattern: {problem}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        problem: String,
    },
    /// A library-wide define or include directory is not usable.
    #[error("{0}")]
    BadOption(String),
}

/// A problem with one kernel file: its programs are left out and reported as failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileFailure {
    /// The kernel file.
    pub file: PathBuf,
    /// The programs the file would have made (its stem when not known).
    pub programs: Vec<String>,
    /// What is wrong, with the line when there is one (`k.cl:12: ...`).
    pub problem: String,
}

/// Options for [`discover`].
#[derive(Clone, Debug, Default)]
pub struct DiscoverOptions {
    /// Include directories for `#include <...>`, and for `#include "..."` after the
    /// including file's directory.
    pub include_dirs: Vec<PathBuf>,
    /// Library-wide defines `(NAME, VALUE)` (empty value: `-DNAME`), checked by
    /// [`define`].
    pub defines: Vec<(String, String)>,
    /// Options added to the programs whose name or relative file path matches the glob
    /// (`imgproc/*`, `nchw/pooling_layer`, `boxFilter*.cl`).
    pub program_options: Vec<(String, String)>,
    /// Files whose relative path matches one of these globs are left out.
    pub exclude: Vec<String>,
    /// When not empty, only files whose relative path matches one of these globs are baked.
    pub only: Vec<String>,
    /// Variants `(glob, name, options)` for the files whose relative path matches, in
    /// addition to their `// clbake:variant` lines.
    pub variants: Vec<(String, String, String)>,
}

/// Programs found, and files that could not make programs.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// Programs, sorted by name.
    pub programs: Vec<ProgramSource>,
    /// Files left out, with why.
    pub failures: Vec<FileFailure>,
}

fn pattern(p: &str) -> Result<glob::Pattern, SourceError> {
    glob::Pattern::new(p).map_err(|e| SourceError::BadPattern { pattern: p.into(), problem: e.msg.to_string() })
}

/// Whether `pat` matches `rel` (the relative path, `/`-separated) with or without `.cl`.
fn matches(pat: &glob::Pattern, rel: &str) -> bool {
    pat.matches(rel) || rel.strip_suffix(".cl").is_some_and(|s| pat.matches(s))
}

/// Finds every `.cl` file under `dir`, expands it and returns its programs, sorted by name.
pub fn discover(dir: &Path, opts: &DiscoverOptions) -> Result<Discovery, SourceError> {
    let exclude = opts.exclude.iter().map(|p| pattern(p)).collect::<Result<Vec<_>, _>>()?;
    let only = opts.only.iter().map(|p| pattern(p)).collect::<Result<Vec<_>, _>>()?;
    let program_options =
        opts.program_options.iter().map(|(p, o)| Ok((pattern(p)?, o.as_str()))).collect::<Result<Vec<_>, SourceError>>()?;
    let variants =
        opts.variants.iter().map(|(p, n, o)| Ok((pattern(p)?, n.as_str(), o.as_str()))).collect::<Result<Vec<_>, SourceError>>()?;
    let defines = opts.defines.iter().map(|(n, v)| define(n, v).map_err(SourceError::BadOption)).collect::<Result<Vec<_>, _>>()?;
    let files: Vec<(PathBuf, String)> = kernel_files(dir)?
        .into_iter()
        .filter(|(_, rel)| !exclude.iter().any(|p| matches(p, rel)) && (only.is_empty() || only.iter().any(|p| matches(p, rel))))
        .collect();
    if files.is_empty() {
        return Err(SourceError::NoKernels { dir: dir.to_path_buf() });
    }
    let mut out = Discovery::default();
    for (file, rel) in files {
        let declared: Vec<Variant> = variants
            .iter()
            .filter(|(p, _, _)| matches(p, &rel))
            .map(|(_, n, o)| Variant { name: n.to_string(), options: o.to_string() })
            .collect();
        let ctx = FileContext {
            dir,
            include_dirs: &opts.include_dirs,
            defines: &defines,
            program_options: &program_options,
            declared: &declared,
        };
        match programs_of_file(&file, &rel, &ctx) {
            Ok(programs) => out.programs.extend(programs),
            Err(problem) => out.failures.push(FileFailure { file, programs: vec![rel.trim_end_matches(".cl").to_string()], problem }),
        }
    }
    out.programs.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = out.programs.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(SourceError::DuplicateName { name: w[0].name.clone(), first: w[0].file.clone(), second: w[1].file.clone() });
    }
    Ok(out)
}

/// Every `.cl` file under `dir` (not under `dir/precompiled`), with its relative path using
/// `/`, sorted by that path.
pub fn kernel_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, SourceError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let io = |source| SourceError::Io { path: d.clone(), source };
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                if path != dir.join("precompiled") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "cl") {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((path, rel));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// What every file of one discovery shares.
struct FileContext<'a> {
    dir: &'a Path,
    include_dirs: &'a [PathBuf],
    defines: &'a [String],
    program_options: &'a [(glob::Pattern, &'a str)],
    declared: &'a [Variant],
}

/// Every program declared by one kernel file, or the file's problem as one line.
fn programs_of_file(file: &Path, rel: &str, ctx: &FileContext<'_>) -> Result<Vec<ProgramSource>, String> {
    let stem = rel.strip_suffix(".cl").unwrap_or(rel).to_string();
    if stem.chars().any(|c| c.is_control()) {
        return Err(format!("{}: the file name holds a control character", file.display()));
    }
    let expanded = include::expand(file, ctx.dir, ctx.include_dirs).map_err(|e| e.to_string())?;
    let source = expanded.text;
    let at = |line: usize, problem: String| format!("{}:{}: {problem}", file.display(), original_line(&source, line));
    let mut variants = parse_variants(&source).map_err(|(line, p)| at(line, p))?;
    for v in ctx.declared {
        if variants.iter().any(|w| w.name == v.name) {
            return Err(format!("{}: variant `{}` is declared both in the file and by the build script", file.display(), v.name));
        }
        variants.push(v.clone());
    }
    let mut programs = Vec::new();
    let plain = [Variant { name: String::new(), options: String::new() }];
    for v in if variants.is_empty() { &plain[..] } else { &variants[..] } {
        let name = if v.name.is_empty() { stem.clone() } else { format!("{stem}_{}", v.name) };
        let own: Vec<&str> = ctx.program_options.iter().filter(|(p, _)| p.matches(&name) || matches(p, rel)).map(|(_, o)| *o).collect();
        let options = options::join(ctx.defines.iter().map(String::as_str).chain([v.options.as_str()]).chain(own));
        options::check(&options).map_err(|p| format!("{}: program `{name}`: {p}", file.display()))?;
        let mut p = ProgramSource::new(&name, &stem, &v.name, file.to_path_buf(), &options, source.clone());
        p.inputs = expanded.inputs.clone();
        p.notes.extend(expanded.kept.iter().map(|k| format!("{k}: not found; kept for the driver (it is under a conditional)")));
        programs.push(p);
    }
    check_shapes(&source, &programs).map_err(|(line, p)| at(line, p))?;
    Ok(programs)
}

/// Checks every `// clbake:tune` and `// clbake:launch` line of `source` against the
/// kernels of each program (each build variant) whose signature the reader knows.
fn check_shapes(source: &str, programs: &[ProgramSource]) -> Result<(), (usize, String)> {
    let shapes = declared_launches(source)?;
    for p in programs {
        for shape in &shapes {
            let text = source.lines().nth(shape.line.saturating_sub(1)).unwrap_or_default().trim();
            let Some(k) = p.kernels.iter().find(|k| k.name == shape.kernel) else {
                return Err((shape.line, format!("`{text}`: no kernel `{}` in this file", shape.kernel)));
            };
            if k.origin != SignatureOrigin::Unknown {
                shape.evaluate(&k.params).map_err(|e| (shape.line, format!("`{text}`: {e}")))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
