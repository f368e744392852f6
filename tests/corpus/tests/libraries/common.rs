//! Helpers shared by the corpus tests: where the corpus is, the baseline files, error-line
//! comparison, deterministic inputs.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The corpus directory, relative to this crate (the same place `build.rs` looks).
const CORPUS: &str = "../../../shared/corpus";

/// The corpus directory, or `None` (with a note on stderr saying that `test` is skipped)
/// when it is absent.
pub fn corpus_or_skip(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS);
    match dir.canonicalize() {
        Ok(d) if d.is_dir() => Some(d),
        _ => {
            eprintln!("{test}: skipped: no kernel corpus at {}", dir.display());
            None
        }
    }
}

/// What the baseline says about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It compiled, with this many kernels.
    Ok {
        /// `kernels=N`.
        kernels: usize,
    },
    /// It failed with this first error line (everything after `FAIL path: `).
    Fail {
        /// The error line.
        error: String,
    },
}

/// One line of a baseline file.
#[derive(Clone, Debug)]
pub struct BaselineEntry {
    /// The program clbake makes of the file: its path relative to the library, without `.cl`.
    pub program: String,
    /// What the baseline run gave.
    pub outcome: Outcome,
}

/// Reads `baseline/<lib>.inc-arginfo.txt` (`OK   lib/path.cl: kernels=N arginfo=M/N`,
/// `FAIL lib/path.cl: error: ...`, then a `TOTAL` line).
pub fn read_baseline(corpus: &Path, lib: &str) -> Vec<BaselineEntry> {
    let path = corpus.join("baseline").join(format!("{lib}.inc-arginfo.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read the baseline {}: {e}", path.display()));
    let prefix = format!("{lib}/");
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with("TOTAL") && !l.trim().is_empty()) {
        let (status, rest) = line.split_once(' ').unwrap_or_else(|| panic!("{}: unexpected line `{line}`", path.display()));
        let (file, detail) = rest.trim_start().split_once(": ").unwrap_or_else(|| panic!("{}: no `: ` in `{line}`", path.display()));
        let program = file
            .strip_prefix(&prefix)
            .and_then(|f| f.strip_suffix(".cl"))
            .unwrap_or_else(|| panic!("{}: `{file}` is not {prefix}*.cl", path.display()));
        let outcome = match status {
            "OK" => {
                let n = detail.strip_prefix("kernels=").and_then(|d| d.split_whitespace().next()).and_then(|n| n.parse().ok());
                Outcome::Ok { kernels: n.unwrap_or_else(|| panic!("{}: no kernel count in `{line}`", path.display())) }
            }
            "FAIL" => Outcome::Fail { error: detail.to_string() },
            other => panic!("{}: unknown status `{other}` in `{line}`", path.display()),
        };
        out.push(BaselineEntry { program: program.to_string(), outcome });
    }
    out
}

/// The message of a compiler error line, without what depends on how the source reached
/// the compiler: the text after the first `error:`, less a leading location
/// (`<src>:75:2: `, `helpers.h:445:1 <Spelling=helpers.h:750:29>: `).
pub fn error_message(line: &str) -> String {
    let after = line.split_once("error:").map_or(line, |(_, rest)| rest).trim();
    let mut depth = 0usize;
    for (i, c) in after.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && after[i + 1..].starts_with(' ') => {
                let head = &after[..i];
                return if is_location(head) { after[i + 1..].trim().to_string() } else { after.to_string() };
            }
            _ => {}
        }
    }
    after.to_string()
}

/// Whether `s` reads as `FILE:LINE:COL`, possibly followed by ` <Spelling=...>`.
fn is_location(s: &str) -> bool {
    let s = s.split(" <Spelling=").next().unwrap_or(s);
    let mut parts = s.rsplitn(3, ':');
    let (col, line) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    parts.next().is_some()
        && !col.is_empty()
        && col.bytes().all(|b| b.is_ascii_digit())
        && !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
}

/// Serialises the test-time bakes: the driver compiles one program at a time per process
/// anyway, and the seconds printed per library then are that library's alone.
pub fn bake_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A session on the default OpenCL device.
pub fn session() -> clbake::Session {
    clbake::Session::from_env().expect("an OpenCL device (the corpus tests run kernels)")
}

/// Deterministic pseudo-random values in [-1, 1), different for each `seed`.
pub fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// Deterministic pseudo-random bytes, different for each `seed`.
pub fn bytes(n: usize, seed: u32) -> Vec<u8> {
    values(n, seed).into_iter().map(|v| ((v + 1.0) * 127.9) as u8).collect()
}

/// Asserts that `got` and `want` agree within a relative 1e-6 (room for a contracted
/// multiply-add), naming `what` and the first element that differs.
pub fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: {} results, expected {}", got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{what}: element {i} is {g}, the CPU gives {w}");
    }
}

/// Asserts that every program `report` loaded came from the embedded binary when the bundle
/// holds one for this device (a build without a device embeds sources only).
pub fn assert_served_embedded(what: &str, bundle: &[u8], session: &clbake::Session, report: &clbake::LoadReport) {
    let bundle = clbake::core::format::Bundle::parse(bundle).expect("the embedded bundle parses");
    let fp = session.device().fingerprint.hash();
    for p in &report.programs {
        let (id, _) = bundle.program(&p.name).unwrap_or_else(|| panic!("{what}: program `{}` is not in the bundle", p.name));
        if bundle.find_binary(id, &fp).is_some() {
            assert_eq!(
                p.path,
                clbake::LoadPath::Embedded,
                "{what}: program `{}` has a binary for this device but came from {} ({:?})",
                p.name,
                p.path,
                p.misses
            );
        }
    }
}

#[test]
fn error_messages_lose_their_location() {
    let cases = [
        (
            "error: <src>:75:2: \"Kernel configuration error: DEPTH_dst value is required\"",
            "\"Kernel configuration error: DEPTH_dst value is required\"",
        ),
        ("error: <src>:64:27: unknown type name 'WT'", "unknown type name 'WT'"),
        ("error: <src>:161:43 <Spelling=<src>:148:15>: unknown type name 'dstT'", "unknown type name 'dstT'"),
        (
            "error: computelibrary/helpers_asymm.h:445:1 <Spelling=computelibrary/helpers.h:750:29>: use of undeclared identifier 'x'",
            "use of undeclared identifier 'x'",
        ),
        ("/tmp/pocl/tempfile.cl:114:2: error: No extrapolation method", "No extrapolation method"),
        ("error: <src>:47:2: (\"Unsupported sampling policy\");", "(\"Unsupported sampling policy\");"),
        ("no error here", "no error here"),
    ];
    for (line, want) in cases {
        assert_eq!(error_message(line), want, "message of `{line}`");
    }
}
