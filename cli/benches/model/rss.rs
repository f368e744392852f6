//! Start-up and peak RSS against model size: synthetic safetensors files of 1 MB .. 512 MB
//! embedded with `clbake::include_model!` in a generated throwaway crate (one binary per
//! size, under `<target>/bench/model/crate`), each uploading every tensor to an OpenCL buffer
//! and printing its memory from `/proc/self/status`.
//!
//! Modes of the generated binary:
//! - `zero-copy`: `clbake::Buffer::from_slice` straight from the embedded bytes (what clbake does);
//! - `heap-copy`: every tensor copied into a `Vec` first, then uploaded (an owned-tensor loader);
//! - `file-read`: the safetensors file read with `std::fs::read`, then uploaded from that
//!   buffer (what an app that ships weights next to the binary does).

use crate::common::{self, fmt, ms, run_json, Stat, R};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Bump when the generated files change.
const GENERATOR: &str = "model-v1";
/// Tensors per model.
const TENSORS: usize = 16;
/// Modes the generated binary runs in.
pub const MODES: [&str; 3] = ["zero-copy", "heap-copy", "file-read"];

fn crate_dir() -> PathBuf {
    common::bench_dir().join("model").join("crate")
}

/// Writes a safetensors file of `mb` MiB of F32 data in [`TENSORS`] tensors, data aligned to 64.
fn write_safetensors(path: &Path, mb: usize) -> R<()> {
    let total = mb << 20;
    let each = total / TENSORS / 4 * 4;
    let mut header = String::from("{");
    for t in 0..TENSORS {
        let (a, b) = (t * each, (t + 1) * each);
        header += &format!("\"t{t:02}\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{a},{b}]}},", each / 4);
    }
    header += &format!("\"__metadata__\":{{\"generator\":\"{GENERATOR}\"}}}}");
    while (8 + header.len()) % 64 != 0 {
        header.push(' ');
    }
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    f.write_all(&(header.len() as u64).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ mb as u64;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = each * TENSORS;
    while left > 0 {
        let n = left.min(chunk.len());
        for w in chunk[..n].chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Small finite floats, two per word.
            let a = 0x3C00_0000u32 | (x as u32 & 0x007F_FFFF);
            let b = 0x3C00_0000u32 | ((x >> 32) as u32 & 0x007F_FFFF);
            w[..4].copy_from_slice(&a.to_le_bytes());
            w[4..].copy_from_slice(&b.to_le_bytes());
        }
        f.write_all(&chunk[..n])?;
        left -= n;
    }
    f.flush()?;
    Ok(())
}

const LIB_RS: &str = r#"//! Shared body of the generated model binaries (benches/model/rss.rs).
use clbake::{Buffer, ReadOnly, Session};
use std::time::Instant;

fn upload(session: &Session, data: &[f32]) -> Result<Buffer<f32, ReadOnly>, clbake::Error> {
    Buffer::from_slice(session, data)
}

fn status() -> String {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let f = |name: &str| -> u64 {
        text.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
            .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
    };
    format!("{{\"vm_hwm\":{},\"vm_rss\":{},\"rss_anon\":{},\"rss_file\":{}}}", f("VmHWM"), f("VmRSS"), f("RssAnon"), f("RssFile"))
}

/// Uploads `tensors` (views into the embedded `file`) in the mode given as argument 1.
pub fn run(mb: usize, file: &'static [u8], path: &str, tensors: &[(usize, usize)]) {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "zero-copy".into());
    let t = Instant::now();
    let session = clbake::Session::new(clbake::DeviceSelector::Default).expect("an OpenCL device");
    let session_ms = t.elapsed().as_secs_f64() * 1e3;
    let before = status();
    let t = Instant::now();
    let as_f32 = |b: &[u8]| -> Vec<f32> { b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect() };
    let mut buffers = Vec::new();
    let mut held: Vec<Vec<f32>> = Vec::new();
    let mut read: Vec<u8> = Vec::new();
    match mode.as_str() {
        "zero-copy" => {
            for &(a, b) in tensors {
                // SAFETY (of the cast): the macro checked alignment and length at compile time.
                let data: &[f32] = unsafe { std::slice::from_raw_parts(file[a..b].as_ptr().cast(), (b - a) / 4) };
                buffers.push(upload(&session, data).expect("upload"));
            }
        }
        "heap-copy" => {
            for &(a, b) in tensors {
                held.push(as_f32(&file[a..b]));
            }
            for v in &held {
                buffers.push(upload(&session, v).expect("upload"));
            }
        }
        "file-read" => {
            read = std::fs::read(path).expect("read the model file");
            for &(a, b) in tensors {
                let bytes = &read[a..b];
                if bytes.as_ptr() as usize % 4 == 0 {
                    // SAFETY: aligned (checked) and a whole number of f32s (the file's offsets).
                    let data: &[f32] = unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast(), bytes.len() / 4) };
                    buffers.push(upload(&session, data).expect("upload"));
                } else {
                    buffers.push(upload(&session, &as_f32(bytes)).expect("upload"));
                }
            }
        }
        other => panic!("unknown mode {other}"),
    }
    session.finish().expect("finish");
    let upload_ms = t.elapsed().as_secs_f64() * 1e3;
    let after = status();
    let bytes: usize = tensors.iter().map(|(a, b)| b - a).sum();
    println!("{{\"mb\":{mb},\"mode\":\"{mode}\",\"tensors\":{},\"bytes\":{bytes},\"session_ms\":{session_ms},\"upload_ms\":{upload_ms},\"before_kib\":{before},\"after_kib\":{after},\"held\":{}}}",
        buffers.len(), held.len() + usize::from(!read.is_empty()));
}
"#;

/// Writes the generated crate for `sizes` (MiB) and the model files it embeds.
fn generate(sizes: &[usize]) -> R<()> {
    let dir = crate_dir();
    std::fs::create_dir_all(dir.join("src/bin"))?;
    std::fs::create_dir_all(dir.join("models"))?;
    let repo = common::repo();
    let manifest = format!(
        "# Generated by benches/model/rss.rs; throwaway.\n[package]\nname = \"clbake-bench-model\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[workspace]\n\n[dependencies]\nclbake = {{ path = {:?}, default-features = false }}\n\n[profile.release]\ndebug = false\n",
        repo.display().to_string()
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest)?;
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    }
    write_if_changed(&dir.join("src/lib.rs"), LIB_RS)?;
    for &mb in sizes {
        let file = dir.join(format!("models/m{mb}.safetensors"));
        let stamp = dir.join(format!("models/m{mb}.stamp"));
        if !file.exists() || std::fs::read_to_string(&stamp).ok().as_deref() != Some(GENERATOR) {
            let t = Instant::now();
            write_safetensors(&file, mb)?;
            std::fs::write(&stamp, GENERATOR)?;
            println!("[model] wrote {} in {:.1} s", file.display(), t.elapsed().as_secs_f64());
        }
        let list: Vec<String> = (0..TENSORS).map(|t| format!("(model::T{t:02}.start, model::T{t:02}.end)")).collect();
        let main = format!(
            "mod model {{\n    clbake::include_model!(\"models/m{mb}.safetensors\");\n}}\n\nfn main() {{\n    clbake_bench_model::run({mb}, model::BYTES, {:?}, &[{}]);\n}}\n",
            file.display().to_string(),
            list.join(", ")
        );
        write_if_changed(&dir.join(format!("src/bin/m{mb}.rs")), &main)?;
    }
    Ok(())
}

fn write_if_changed(path: &Path, text: &str) -> R<()> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text)?;
    }
    Ok(())
}

/// `cargo build --release` in the generated crate with extra `args`; returns seconds and stderr.
pub fn cargo(args: &[&str]) -> R<(f64, String)> {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(crate_dir()).args(["build", "--release"]).args(args).env("CARGO_TARGET_DIR", common::target_dir());
    let t = Instant::now();
    let (_, err) = common::run_ok(&mut c)?;
    Ok((t.elapsed().as_secs_f64(), err))
}

/// Builds one binary per size and runs it in every mode `runs` times. A binary is compiled
/// only when cargo finds it out of date; its compile time is kept in `builds.json` next to the
/// crate, so the report shows the time of the last real compile.
pub fn run(sizes: &[usize], runs: usize) -> R<Value> {
    generate(sizes)?;
    let (deps_s, _) = cargo(&["--lib"])?;
    println!("[model] dependencies ready in {deps_s:.1} s");
    let record = crate_dir().join("builds.json");
    let mut known: serde_json::Map<String, Value> =
        std::fs::read(&record).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let mut builds = Vec::new();
    for &mb in sizes {
        let (secs, err) = cargo(&["--bin", &format!("m{mb}")])?;
        let compiled = err.lines().any(|l| l.trim_start().starts_with("Compiling"));
        if compiled {
            known.insert(mb.to_string(), json!(secs));
        }
        let build_s = known.get(&mb.to_string()).and_then(Value::as_f64);
        let exe = common::target_dir().join(format!("release/m{mb}"));
        let size = std::fs::metadata(&exe)?.len();
        println!(
            "[model] m{mb}: {} executable {size} bytes",
            if compiled {
                format!("compiled in {secs:.1} s,")
            } else {
                format!("up to date ({secs:.1} s; last compile {})", build_s.map_or("?".into(), fmt))
            }
        );
        builds.push((mb, exe, build_s, size));
    }
    std::fs::write(&record, serde_json::to_vec_pretty(&known)?)?;
    let env = vec![common::kv("POCL_KERNEL_CACHE", "0"), common::kv("POCL_CACHE_DIR", common::fresh_dir("model")?)];
    let mut rows = Vec::new();
    for (mb, exe, secs, size) in &builds {
        let mut per_mode = serde_json::Map::new();
        for mode in MODES {
            let mut samples = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let (v, _) = run_json(&mut common::command(exe, &[mode], &env))?;
                samples.push((v, ms(t)));
            }
            let wall = Stat::of(&samples.iter().map(|s| s.1).collect::<Vec<_>>());
            let upload = Stat::of(&samples.iter().map(|s| s.0["upload_ms"].as_f64().unwrap_or(f64::NAN)).collect::<Vec<_>>());
            let kib = |s: &(Value, f64), when: &str, k: &str| s.0[when][k].as_f64().unwrap_or(f64::NAN);
            let field = |when: &str, k: &str| Stat::of(&samples.iter().map(|s| kib(s, when, k)).collect::<Vec<_>>()).median;
            let mem = json!({
                "before": { "vm_hwm": field("before_kib", "vm_hwm"), "rss_anon": field("before_kib", "rss_anon"), "rss_file": field("before_kib", "rss_file") },
                "after": { "vm_hwm": field("after_kib", "vm_hwm"), "rss_anon": field("after_kib", "rss_anon"), "rss_file": field("after_kib", "rss_file") },
            });
            let mib = |k: f64| k / 1024.0;
            println!(
                "[model] {mb:>4} MiB {mode:<9}: process {} ms, upload {} ms; peak RSS {} MiB (before upload {}); anon +{} MiB, file +{} MiB",
                fmt(wall.median),
                fmt(upload.median),
                fmt(mib(field("after_kib", "vm_hwm"))),
                fmt(mib(field("before_kib", "vm_hwm"))),
                fmt(mib(field("after_kib", "rss_anon") - field("before_kib", "rss_anon"))),
                fmt(mib(field("after_kib", "rss_file") - field("before_kib", "rss_file")))
            );
            per_mode.insert(mode.into(), json!({ "process_wall_ms": wall.json(), "upload_ms": upload.json(), "memory_kib": mem }));
        }
        rows.push(json!({ "mb": mb, "build_s": secs, "executable_bytes": size, "modes": per_mode }));
    }
    Ok(json!({ "tensors": TENSORS, "rows": rows }))
}
