//! Rows (a) to (e): the demo's programs-ready and first-inference times, each row in fresh
//! processes, runs interleaved (run 1 of every row, then run 2 of every row, ...). Demo rows
//! run `clbake demo --json --eager` (all 14 programs created up front), except `d_lazy`.
//!
//! | row | what | clbake | driver cache |
//! | --- | --- | --- | --- |
//! | a | compile from source | `CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR=off` | off |
//! | a_jobs1 | same, one compile thread | + `CLBAKE_JOBS=1` | off |
//! | b | compile from source, driver's own cache warm | `CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR=off` | fresh dir, warmed once |
//! | c | clbake disk-cache hit | `CLBAKE_EMBEDDED=off CLBAKE_CACHE_DIR=<dir>`, warmed once | off |
//! | d | clbake embedded binary (default options: disk cache on, fresh dir) | `CLBAKE_CACHE_DIR=<empty dir>` | off |
//! | d_lazy | (d) without `--eager`: the demo's default, each program created at its first launch (programs = opening the bundle; first inference includes creating the three programs it runs) | `CLBAKE_CACHE_DIR=<empty dir>` | off |
//! | d_nocache | embedded binary, disk cache off (no crash sentinel files) | `CLBAKE_CACHE_DIR=off` | off |
//! | d_jobs1 | embedded binary, loaded on one thread | + `CLBAKE_JOBS=1` | off |
//! | e | the floor: raw OpenCL from memory, no clbake code | floor child | off |
//! | e_unwarmed | the floor with binaries captured without running the declared launches (`clbake bake --no-warm`) | floor child | off |
//! | d_nospec, e_nospec | (d) and (e) with `POCL_WORK_GROUP_SPECIALIZATION=0` (PoCL only) | | off |
//!
//! PoCL compiles a work-group function specialised for the local size at the first enqueue
//! of a kernel unless the binary already holds one for that size; it holds one when the
//! kernel ran with that size before the binary was captured, which is what baking's warm
//! launches do. `e_unwarmed` shows a first inference without them. With specialisation off
//! PoCL runs the generic work-group function every PoCL binary holds (`_nospec` rows).

use crate::common::{self, kv, run_json, Stat, R};
use crate::floor;
use clbake::Fingerprint;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How a driver's own kernel cache is turned off or pointed at a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// PoCL on the host.
    Pocl,
    /// PoCL inside `scripts/run-aarch64.sh` (its env.sh sets `POCL_CACHE_DIR` from
    /// `CLBAKE_AARCH64_POCL_CACHE_DIR`).
    PoclAarch64,
    /// NVIDIA's driver (`CUDA_CACHE_DISABLE`, `CUDA_CACHE_PATH`).
    Nvidia,
}

impl Driver {
    /// Parses `pocl`, `pocl-aarch64` or `nvidia`.
    pub fn parse(s: &str) -> R<Driver> {
        Ok(match s {
            "pocl" => Driver::Pocl,
            "pocl-aarch64" => Driver::PoclAarch64,
            "nvidia" => Driver::Nvidia,
            _ => return Err(format!("unknown driver {s:?} (pocl, pocl-aarch64, nvidia)").into()),
        })
    }

    /// Environment with the driver's kernel cache off (scratch in `dir`).
    fn cold(self, dir: &Path) -> Vec<(String, String)> {
        match self {
            Driver::Pocl => vec![kv("POCL_KERNEL_CACHE", "0"), kv("POCL_CACHE_DIR", dir)],
            Driver::PoclAarch64 => vec![kv("POCL_KERNEL_CACHE", "0"), kv("CLBAKE_AARCH64_POCL_CACHE_DIR", dir)],
            Driver::Nvidia => vec![kv("CUDA_CACHE_DISABLE", "1")],
        }
    }

    /// Environment with the driver's kernel cache on, in `dir`.
    fn warm(self, dir: &Path) -> Vec<(String, String)> {
        match self {
            Driver::Pocl => vec![kv("POCL_KERNEL_CACHE", "1"), kv("POCL_CACHE_DIR", dir)],
            Driver::PoclAarch64 => vec![kv("POCL_KERNEL_CACHE", "1"), kv("CLBAKE_AARCH64_POCL_CACHE_DIR", dir)],
            Driver::Nvidia => vec![kv("CUDA_CACHE_DISABLE", "0"), kv("CUDA_CACHE_PATH", dir)],
        }
    }

    /// Name used in result files.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Pocl => "pocl",
            Driver::PoclAarch64 => "pocl-aarch64",
            Driver::Nvidia => "nvidia",
        }
    }
}

/// Where the programs under test live and how to start them.
pub struct Target {
    /// The `clbake` executable (with embedded binaries for the device).
    pub clbake: PathBuf,
    /// An executable of this bench for the same target, for the floor child.
    pub bench: PathBuf,
    /// A wrapper to run both through (`scripts/run-aarch64.sh`), if any.
    pub runner: Option<PathBuf>,
    /// The driver.
    pub driver: Driver,
    /// Scratch directory prefix (`<bench>/scratch/<prefix>-<row>`).
    pub prefix: String,
}

impl Target {
    fn command(&self, exe: &Path, args: &[&str], env: &[(String, String)]) -> Command {
        match &self.runner {
            Some(r) => {
                let mut all = vec![exe.to_str().unwrap_or_default()];
                all.extend_from_slice(args);
                common::command(r, &all, env)
            }
            None => common::command(exe, args, env),
        }
    }
}

/// One sample of one row.
struct Sample {
    programs_ms: f64,
    first_inference_ms: Option<f64>,
    context_ms: f64,
    wall_ms: f64,
    steady_ms: Option<f64>,
    paths: String,
}

/// A row: a demo run (or the floor) in a given environment.
struct Row {
    key: &'static str,
    label: &'static str,
    env: Vec<(String, String)>,
    /// The floor child's binaries (a floor row), else a demo row.
    floor: Option<PathBuf>,
    expect: Option<&'static str>,
    samples: Vec<Sample>,
}

/// Counts of each load path in a demo report, e.g. `14 embedded`.
fn paths_of(report: &Value) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for p in report["startup"]["programs"]["programs"].as_array().into_iter().flatten() {
        let path = p["path"].as_str().unwrap_or("?").to_string();
        match counts.iter_mut().find(|(k, _)| *k == path) {
            Some((_, n)) => *n += 1,
            None => counts.push((path, 1)),
        }
    }
    counts.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
}

/// The demo with every program created up front (`--eager`): rows time "programs ready" for
/// all 14 programs.
const DEMO: &[&str] = &["demo", "--json", "--eager"];
/// The demo as it runs by default: lazily, each program created at its first launch (only the
/// three the network runs, within the first inference).
const DEMO_LAZY: &[&str] = &["demo", "--json"];

fn demo_sample(report: &Value, wall_ms: f64) -> Sample {
    let s = &report["startup"];
    Sample {
        // Wall time of `Kernels::with_options` (opening the bundle, and creating every program
        // when eager). The load report's `total_ms` adds up per-program times, which overlap
        // when programs load on several threads.
        programs_ms: s["programs_ms"].as_f64().or_else(|| s["programs"]["total_ms"].as_f64()).unwrap_or(f64::NAN),
        first_inference_ms: s["first_inference_ms"].as_f64(),
        context_ms: s["context_ms"].as_f64().unwrap_or(f64::NAN),
        wall_ms,
        steady_ms: report["steady_inference_ms"].as_f64(),
        paths: paths_of(report),
    }
}

fn run_row(t: &Target, row: &Row, images: usize) -> R<Sample> {
    if let Some(dir) = &row.floor {
        let n = images.to_string();
        let (v, wall) = run_json(&mut t.command(&t.bench, &["--child-floor", dir.to_str().unwrap_or_default(), "--images", &n], &row.env))?;
        return Ok(Sample {
            programs_ms: v["programs_ms"].as_f64().unwrap_or(f64::NAN),
            first_inference_ms: v["first_inference_ms"].as_f64(),
            context_ms: v["context_ms"].as_f64().unwrap_or(f64::NAN),
            wall_ms: wall,
            steady_ms: None,
            paths: format!("{} raw binaries", v["programs"]),
        });
    }
    let args = if row.key == "d_lazy" { DEMO_LAZY } else { DEMO };
    let (v, wall) = run_json(&mut t.command(&t.clbake, args, &row.env))?;
    let s = demo_sample(&v, wall);
    if let Some(want) = row.expect {
        let n = v["startup"]["programs"]["programs"].as_array().map_or(0, Vec::len);
        if s.paths != format!("{n} {want}") {
            return Err(format!("row {}: expected every program from `{want}`, got {}", row.key, s.paths).into());
        }
    }
    Ok(s)
}

/// Writes the binaries of `source` for the device `fp` into `bins` for the floor child and
/// says what they hold (`what` names them in the line).
fn prepare_floor(t: &Target, what: &str, source: &Path, fp: &Fingerprint, bins: &Path) -> Result<floor::Prepared, String> {
    let p = floor::prepare(source, fp, bins).map_err(|e| e.to_string())?;
    println!(
        "[{}] {what}: {} binaries, {} bytes uncompressed, {} PoCL work-group functions specialised for a local size",
        t.prefix, p.programs, p.bytes, p.specialised
    );
    Ok(p)
}

/// Runs the rows named in `keys` (a subset of a, a_jobs1, b, c, d, d_lazy, d_nocache, d_jobs1, e,
/// e_unwarmed, d_nospec, e_nospec) `runs` times each, the source rows (a, a_jobs1) `source_runs` times, and returns
/// their statistics as JSON.
pub fn run(t: &Target, keys: &[&'static str], runs: usize, source_runs: usize) -> R<Value> {
    let scratch = |name: &str| common::fresh_dir(&format!("{}-{name}", t.prefix));
    let off = kv("CLBAKE_CACHE_DIR", "off");
    let no_embedded = kv("CLBAKE_EMBEDDED", "off");
    let mut notes = Map::new();

    // Warm-up: one embedded run, untimed; it loads the libraries into the page cache and
    // tells which device the demo runs on (for the floor).
    let d_cache = scratch("d-cache")?;
    let mut env = t.driver.cold(&scratch("d")?);
    env.push(kv("CLBAKE_CACHE_DIR", &d_cache));
    let (warm, _) = run_json(&mut t.command(&t.clbake, DEMO, &env))?;
    let fp: Fingerprint = serde_json::from_value(warm["device"].clone())?;
    let images = warm["images"].as_u64().unwrap_or(450) as usize;
    println!("[{}] device: {}", t.prefix, fp.describe());

    let mut rows: Vec<Row> = Vec::new();
    let mut floor_bins: Option<PathBuf> = None;
    let mut binaries = Value::Null;
    for &key in keys {
        let row = match key {
            "a" => {
                let mut env = t.driver.cold(&scratch("a")?);
                env.extend([no_embedded.clone(), off.clone()]);
                Row { key, label: "source, driver cache off", env, floor: None, expect: Some("source"), samples: vec![] }
            }
            "a_jobs1" => {
                let mut env = t.driver.cold(&scratch("a-jobs1")?);
                env.extend([no_embedded.clone(), off.clone(), kv("CLBAKE_JOBS", "1")]);
                Row { key, label: "source, driver cache off, CLBAKE_JOBS=1", env, floor: None, expect: Some("source"), samples: vec![] }
            }
            "b" => {
                let mut env = t.driver.warm(&scratch("b")?);
                env.extend([no_embedded.clone(), off.clone()]);
                run_json(&mut t.command(&t.clbake, DEMO, &env))?; // warm the driver's cache
                Row { key, label: "source, driver's own kernel cache warm", env, floor: None, expect: Some("source"), samples: vec![] }
            }
            "c" => {
                let dir = scratch("c-cache")?;
                let mut env = t.driver.cold(&scratch("c")?);
                env.extend([no_embedded.clone(), kv("CLBAKE_CACHE_DIR", &dir)]);
                let (first, _) = run_json(&mut t.command(&t.clbake, DEMO, &env))?;
                let (second, _) = run_json(&mut t.command(&t.clbake, DEMO, &env))?;
                let n = second["startup"]["programs"]["programs"].as_array().map_or(0, Vec::len);
                if first["startup"]["programs"].get("cache").is_none() || paths_of(&second) != format!("{n} cache") {
                    let why = format!("no disk-cache hit in this build (second run served: {})", paths_of(&second));
                    println!("[{}] skipping row (c): {why}", t.prefix);
                    notes.insert("c".into(), json!(why));
                    continue;
                }
                Row { key, label: "clbake disk-cache hit", env, floor: None, expect: Some("cache"), samples: vec![] }
            }
            "d" => {
                let mut env = t.driver.cold(&scratch("d")?);
                env.push(kv("CLBAKE_CACHE_DIR", &d_cache));
                Row { key, label: "clbake embedded binary", env, floor: None, expect: Some("embedded"), samples: vec![] }
            }
            "d_lazy" => {
                let mut env = t.driver.cold(&scratch("d-lazy")?);
                env.push(kv("CLBAKE_CACHE_DIR", &d_cache));
                Row {
                    key,
                    label: "clbake embedded binary, lazy (the default)",
                    env,
                    floor: None,
                    expect: Some("embedded"),
                    samples: vec![],
                }
            }
            "d_nocache" => {
                let mut env = t.driver.cold(&scratch("d-nocache")?);
                env.push(off.clone());
                Row { key, label: "clbake embedded binary, disk cache off", env, floor: None, expect: Some("embedded"), samples: vec![] }
            }
            "d_jobs1" => {
                let mut env = t.driver.cold(&scratch("d-jobs1")?);
                env.extend([kv("CLBAKE_CACHE_DIR", &d_cache), kv("CLBAKE_JOBS", "1")]);
                Row {
                    key,
                    label: "clbake embedded binary, loaded on one thread",
                    env,
                    floor: None,
                    expect: Some("embedded"),
                    samples: vec![],
                }
            }
            "e_unwarmed" => {
                // The same programs baked again on this device without the warm launches.
                let bundle = scratch("unwarmed")?.join("unwarmed.clbk");
                let from = t.clbake.to_str().unwrap_or_default().to_string();
                let out = bundle.to_str().unwrap_or_default().to_string();
                let env = t.driver.cold(&scratch("unwarmed-bake")?);
                let status = t
                    .command(&t.clbake, &["bake", "--from", &from, "--no-warm", "-o", &out], &env)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()?;
                let bins = scratch("unwarmed-bins")?;
                let prepared = if status.success() {
                    prepare_floor(t, "floor without warm launches", &bundle, &fp, &bins)
                } else {
                    Err(format!("`clbake bake --no-warm` failed: {status}"))
                };
                match prepared {
                    Ok(_) => {}
                    Err(e) => {
                        println!("[{}] skipping row (e_unwarmed): {e}", t.prefix);
                        notes.insert("e_unwarmed".into(), json!(e));
                        continue;
                    }
                }
                Row {
                    key,
                    label: "floor, binaries captured without the warm launches",
                    env: t.driver.cold(&scratch("e-unwarmed")?),
                    floor: Some(bins),
                    expect: None,
                    samples: vec![],
                }
            }
            "d_nospec" => {
                let mut env = t.driver.cold(&scratch("d-nospec")?);
                env.extend([kv("CLBAKE_CACHE_DIR", &d_cache), kv("POCL_WORK_GROUP_SPECIALIZATION", "0")]);
                Row {
                    key,
                    label: "clbake embedded binary, PoCL work-group specialisation off",
                    env,
                    floor: None,
                    expect: Some("embedded"),
                    samples: vec![],
                }
            }
            "e_nospec" => {
                let Some(bins) = floor_bins.clone() else {
                    continue;
                };
                let mut env = t.driver.cold(&scratch("e-nospec")?);
                env.push(kv("POCL_WORK_GROUP_SPECIALIZATION", "0"));
                Row { key, label: "floor, PoCL work-group specialisation off", env, floor: Some(bins), expect: None, samples: vec![] }
            }
            "e" => {
                let bins = scratch("floor-bins")?;
                match prepare_floor(t, "floor", &t.clbake, &fp, &bins) {
                    Ok(p) => {
                        binaries =
                            json!({ "programs": p.programs, "bytes": p.bytes, "pocl_specialised_workgroup_functions": p.specialised });
                        floor_bins = Some(bins.clone());
                    }
                    Err(e) => {
                        println!("[{}] skipping row (e): {e}", t.prefix);
                        notes.insert("e".into(), json!(e));
                        continue;
                    }
                }
                let env = t.driver.cold(&scratch("e")?);
                Row {
                    key,
                    label: "floor: raw clCreateProgramWithBinary from memory",
                    env,
                    floor: Some(bins),
                    expect: None,
                    samples: vec![],
                }
            }
            other => return Err(format!("unknown row {other}").into()),
        };
        rows.push(row);
    }

    let total = runs.max(source_runs);
    for run in 0..total {
        for row in rows.iter_mut() {
            let want = if matches!(row.key, "a" | "a_jobs1") { source_runs } else { runs };
            if run >= want || notes.contains_key(row.key) {
                continue;
            }
            // A row that fails (a crash, or programs not served by the path it measures) is
            // dropped with a note; the other rows go on.
            let s = match run_row(t, row, images) {
                Ok(s) => s,
                Err(e) => {
                    println!("[{}] dropping row ({}): {e}", t.prefix, row.key);
                    notes.insert(row.key.into(), json!(e.to_string()));
                    continue;
                }
            };
            println!(
                "[{}] run {}/{want} {:<10} programs {:>9} ms  first inference {:>8} ms  ({})",
                t.prefix,
                run + 1,
                row.key,
                common::fmt(s.programs_ms),
                s.first_inference_ms.map_or("-".into(), common::fmt),
                s.paths
            );
            row.samples.push(s);
        }
    }

    rows.retain(|r| !notes.contains_key(r.key));
    let mut out = Map::new();
    for row in &rows {
        let programs = Stat::of(&row.samples.iter().map(|s| s.programs_ms).collect::<Vec<_>>());
        let first = Stat::of(&row.samples.iter().map(|s| s.first_inference_ms.unwrap_or(f64::NAN)).collect::<Vec<_>>());
        let ready = Stat::of(&row.samples.iter().map(|s| s.programs_ms + s.first_inference_ms.unwrap_or(f64::NAN)).collect::<Vec<_>>());
        let context = Stat::of(&row.samples.iter().map(|s| s.context_ms).collect::<Vec<_>>());
        let wall = Stat::of(&row.samples.iter().map(|s| s.wall_ms).collect::<Vec<_>>());
        let steady = Stat::of(&row.samples.iter().map(|s| s.steady_ms.unwrap_or(f64::NAN)).collect::<Vec<_>>());
        println!(
            "[{}] {:<10} {:<48} programs {:>20}  first inference {:>18}  ready {:>20}",
            t.prefix,
            row.key,
            row.label,
            programs.show("ms"),
            first.show("ms"),
            ready.show("ms")
        );
        let env: Map<String, Value> = row.env.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        out.insert(
            row.key.into(),
            json!({ "label": row.label, "env": env, "paths": row.samples.last().map(|s| s.paths.clone()),
                    "programs_ms": programs.json(), "first_inference_ms": first.json(), "ready_ms": ready.json(),
                    "context_ms": context.json(), "process_wall_ms": wall.json(), "steady_inference_ms": steady.json() }),
        );
    }
    Ok(
        json!({ "driver": t.driver.name(), "device": fp, "images": images, "runs": runs, "source_runs": source_runs, "rows": out, "skipped": notes, "embedded_binaries": binaries }),
    )
}
