//! The user docs against the code: README.md and docs/GUIDE.md hold the table of every
//! `CLBAKE_*` variable exactly as `clbake::core::env::VARS` describes it, and the Rust they
//! show (their ```rust blocks, and the crate docs' examples in src/lib.rs) uses only typed,
//! safe calls: no `unsafe`, no untyped `launch`/`arg` chains.
//!
//! When a variable is added or its text changes in core/src/env.rs, the first test fails and
//! prints the whole table to paste into both files.

use clbake::core::env::{Scope, Var, VARS};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The documented files: README.md and docs/GUIDE.md.
const DOCS: [&str; 2] = ["README.md", "docs/GUIDE.md"];

fn scope(v: &Var) -> &'static str {
    match v.scope {
        Scope::Build => "build",
        Scope::Run => "run",
        Scope::Both => "both",
        Scope::Test => "tests",
    }
}

/// The variables a user may set: every one but the test hooks and internal markers.
fn user_vars() -> impl Iterator<Item = &'static Var> {
    VARS.iter().filter(|v| v.scope != Scope::Test)
}

/// The table row of `v`, as the docs must hold it.
fn row(v: &Var) -> String {
    format!("| `{}` | {} | {} | {} |", v.name, scope(v), v.values, v.effect)
}

/// The whole table, header included.
fn table() -> String {
    let mut t = String::from("| variable | read at | values | effect |\n| --- | --- | --- | --- |\n");
    for v in user_vars() {
        t.push_str(&row(v));
        t.push('\n');
    }
    t
}

#[test]
fn readme_and_guide_list_every_variable_as_env_rs_describes_it() {
    let mut problems = Vec::new();
    for doc in DOCS {
        let text = read(doc);
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        for v in user_vars() {
            let want = row(v);
            if !lines.contains(&want.as_str()) {
                let found = lines.iter().find(|l| l.starts_with(&format!("| `{}` |", v.name)));
                problems.push(match found {
                    Some(l) => format!("{doc}: the row of {} differs from core/src/env.rs:\n    found: {l}\n    want:  {want}", v.name),
                    None => format!("{doc}: no table row for {}", v.name),
                });
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n\nThe table, from clbake::core::env::VARS (paste it into README.md and docs/GUIDE.md):\n\n{}",
        problems.join("\n"),
        table()
    );
}

#[test]
fn no_test_hook_is_in_the_variable_tables() {
    for doc in DOCS {
        let text = read(doc);
        for v in VARS.iter().filter(|v| v.scope == Scope::Test) {
            let listed = text.lines().any(|l| l.starts_with(&format!("| `{}` |", v.name)));
            assert!(!listed, "{doc} lists {} in a table of variables users set; it is a test hook or internal", v.name);
        }
    }
}

/// A fenced code block: its info string, first line number (1-based) and text.
struct Block {
    info: String,
    line: usize,
    text: String,
}

/// The fenced blocks of markdown `lines`.
fn blocks<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in lines.enumerate() {
        let t = line.trim_start();
        match open.take() {
            None => {
                if let Some(info) = t.strip_prefix("```") {
                    open = Some(Block { info: info.trim().to_string(), line: i + 2, text: String::new() });
                }
            }
            Some(mut b) => {
                if t.starts_with("```") {
                    out.push(b);
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                    open = Some(b);
                }
            }
        }
    }
    assert!(open.is_none(), "a code block is not closed");
    out
}

/// Whether a block's info string makes it Rust (markdown: `rust...`; rustdoc: also no info,
/// or only doctest attributes).
fn is_rust(info: &str, rustdoc: bool) -> bool {
    let words: Vec<&str> = info.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()).collect();
    words.first() == Some(&"rust")
        || (rustdoc && words.iter().all(|w| matches!(*w, "no_run" | "ignore" | "should_panic" | "compile_fail" | "edition2021")))
}

/// The Rust blocks the user docs show: README.md, docs/GUIDE.md, and the crate docs.
fn rust_blocks() -> Vec<(String, Block)> {
    let mut all = Vec::new();
    for doc in DOCS {
        let text = read(doc);
        all.extend(blocks(text.lines()).into_iter().filter(|b| is_rust(&b.info, false)).map(|b| (doc.to_string(), b)));
    }
    let lib = read("src/lib.rs");
    let docs: Vec<&str> = lib.lines().map_while(|l| l.strip_prefix("//!")).map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
    all.extend(blocks(docs.into_iter()).into_iter().filter(|b| is_rust(&b.info, true)).map(|b| ("src/lib.rs".to_string(), b)));
    all
}

/// What typed, safe docs never show.
const FORBIDDEN: [(&str, &str); 5] = [
    ("unsafe", "`unsafe`: every call the docs show is safe"),
    (".launch(", "an untyped launch: show the typed method include_kernels! generates"),
    (".launch_named(", "an untyped launch: show the typed method include_kernels! generates"),
    (".arg(", "an untyped argument chain: show the typed method include_kernels! generates"),
    ("ExecuteKernel", "opencl3's unsafe ExecuteKernel: show the typed method include_kernels! generates"),
];

#[test]
fn rust_in_the_docs_is_typed_and_safe() {
    let blocks = rust_blocks();
    assert!(blocks.len() >= 5, "expected the docs to show Rust blocks, found {}", blocks.len());
    let mut problems = Vec::new();
    for (doc, b) in &blocks {
        for (i, line) in b.text.lines().enumerate() {
            for (needle, why) in FORBIDDEN {
                if line.contains(needle) {
                    problems.push(format!("{doc}, block at line {}: line {}: {why}\n    {}", b.line, i + 1, line.trim()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The block of docs/GUIDE.md marked `<!-- guide-check: NAME -->`: a file scripts/guide-check.sh
/// writes as NAME, builds and runs.
fn guide_file(name: &str) -> String {
    let guide = read("docs/GUIDE.md");
    let marker = format!("<!-- guide-check: {name} -->");
    let at = guide.lines().position(|l| l.trim_end() == marker).unwrap_or_else(|| panic!("docs/GUIDE.md has no {marker}"));
    let b = blocks(guide.lines().skip(at + 1)).into_iter().next().unwrap_or_else(|| panic!("no code block after {marker}"));
    b.text
}

/// The crate docs' example cannot be a doctest (`include_kernels!` needs a build script's
/// OUT_DIR), so it must be the guide's `src/main.rs`, which guide-check.sh builds and runs.
#[test]
fn the_crate_docs_example_is_the_guides_main_rs() {
    let lib = read("src/lib.rs");
    let docs: Vec<&str> = lib.lines().map_while(|l| l.strip_prefix("//!")).map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
    let example = blocks(docs.into_iter()).into_iter().find(|b| is_rust(&b.info, true)).expect("src/lib.rs shows an example");
    assert_eq!(
        example.text,
        guide_file("hello/src/main.rs"),
        "src/lib.rs's example differs from the block docs/GUIDE.md marks hello/src/main.rs"
    );
}

/// The README's Rust is the guide's: every ```rust block of README.md is a block docs/GUIDE.md
/// marks for guide-check.sh, which writes it to a crate, builds and runs it.
#[test]
fn every_rust_block_of_the_readme_is_built_by_guide_check() {
    let guide = read("docs/GUIDE.md");
    let marked: Vec<String> = guide
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix("<!-- guide-check: ").and_then(|r| r.strip_suffix(" -->")))
        .map(guide_file)
        .collect();
    let readme = read("README.md");
    for b in blocks(readme.lines()).into_iter().filter(|b| is_rust(&b.info, false)) {
        assert!(
            marked.contains(&b.text),
            "README.md, block at line {}: not one of the blocks docs/GUIDE.md marks `<!-- guide-check: FILE -->` (copy it from there):\n{}",
            b.line,
            b.text
        );
    }
}

#[test]
fn the_block_parser_finds_what_it_must() {
    let md = "text\n```rust\nlet a = unsafe { x() };\n```\n```sh\nunsafe\n```\n";
    let b = blocks(md.lines());
    assert_eq!(b.len(), 2);
    assert!(is_rust(&b[0].info, false) && !is_rust(&b[1].info, false));
    assert!(b[0].text.contains("unsafe") && b[0].line == 3);
    assert!(is_rust("no_run", true) && is_rust("", true) && !is_rust("text", true) && !is_rust("", false));
}
