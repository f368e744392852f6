//! Bundle size per device: the real binaries (taken out of the given bundles or executables)
//! compressed with zstd levels 3, 9, 19 (clbake's default) and 22, each binary in its own
//! frame as the bundle stores them, and with a dictionary trained on that device's binaries
//! (the dictionary's own size counted in). Also the time to decompress them all, which is
//! what start-up pays.

use crate::common::{fmt, Stat, R};
use clbake::core::format::{bundle_region, scan};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

const LEVELS: [i32; 4] = [3, 9, 19, 22];
const DICT_SIZES: [usize; 3] = [4 * 1024, 16 * 1024, 64 * 1024];
const DICT_LEVEL: i32 = 19;

/// Binaries of one device: (program, raw bytes), and what the bundle stores for them.
#[derive(Default)]
struct Device {
    name: String,
    binaries: BTreeMap<String, Vec<u8>>,
    stored: usize,
}

fn compressor(level: i32, dict: Option<&[u8]>) -> R<zstd::bulk::Compressor<'static>> {
    let mut c = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(level, d)?,
        None => zstd::bulk::Compressor::new(level)?,
    };
    // The bundle's frame settings (core/src/format/codec.rs).
    c.include_checksum(false)?;
    c.include_contentsize(true)?;
    c.include_dictid(false)?;
    Ok(c)
}

/// Compressed total, compress time and median decompress time (all binaries) for one setting.
fn measure(dev: &Device, level: i32, dict: Option<&[u8]>) -> R<(usize, f64, f64)> {
    let mut c = compressor(level, dict)?;
    let t = Instant::now();
    let frames: Vec<(Vec<u8>, usize)> = dev.binaries.values().map(|b| c.compress(b).map(|f| (f, b.len()))).collect::<Result<_, _>>()?;
    let compress_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut d = match dict {
        Some(dict) => zstd::bulk::Decompressor::with_dictionary(dict)?,
        None => zstd::bulk::Decompressor::new()?,
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for (f, len) in &frames {
            let out = d.decompress(f, *len)?;
            if out.len() != *len {
                return Err("decompressed length differs".into());
            }
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok((frames.iter().map(|(f, _)| f.len()).sum(), compress_ms, Stat::of(&times).median))
}

/// The size table for every device found in `sources` (bundles or executables).
pub fn run(sources: &[String]) -> R<Value> {
    let mut devices: BTreeMap<String, Device> = BTreeMap::new();
    for src in sources {
        let bytes = std::fs::read(src).map_err(|e| format!("cannot read {src}: {e}"))?;
        let region = bundle_region(&bytes);
        for (_, bundle) in scan(region) {
            let bundle = bundle.map_err(|e| format!("{}: {e}", Path::new(src).display()))?;
            for b in bundle.binaries() {
                let fp = b.fingerprint()?;
                let name = bundle.programs().get(b.program as usize).map(|p| p.name.to_string()).unwrap_or_default();
                let dev = devices.entry(b.fingerprint_hash.to_hex()).or_default();
                dev.name = format!("{} ({})", fp.device_name, fp.driver_version);
                if let std::collections::btree_map::Entry::Vacant(slot) = dev.binaries.entry(name) {
                    slot.insert(b.decompress()?);
                    dev.stored += b.compressed_len as usize;
                }
            }
        }
    }
    let mut out = Vec::new();
    for (hash, dev) in &devices {
        let raw: usize = dev.binaries.values().map(Vec::len).sum();
        println!("[size] {} [{}]: {} binaries, {raw} bytes raw, {} stored", dev.name, &hash[..8], dev.binaries.len(), dev.stored);
        let mut rows = Vec::new();
        for level in LEVELS {
            let (size, c_ms, d_ms) = measure(dev, level, None)?;
            println!(
                "[size]   level {level:>2}: {size:>9} bytes ({:>5.1} %), compress {} ms, decompress all {} ms",
                100.0 * size as f64 / raw as f64,
                fmt(c_ms),
                fmt(d_ms)
            );
            rows.push(
                json!({ "level": level, "dict_bytes": 0, "bytes": size, "total_bytes": size, "compress_ms": c_ms, "decompress_ms": d_ms }),
            );
        }
        let samples: Vec<&[u8]> = dev.binaries.values().map(Vec::as_slice).collect();
        let mut dict_rows = Vec::new();
        for max in DICT_SIZES {
            match zstd::dict::from_samples(&samples, max) {
                Ok(dict) => {
                    let (size, c_ms, d_ms) = measure(dev, DICT_LEVEL, Some(&dict))?;
                    let total = size + dict.len();
                    println!(
                        "[size]   level {DICT_LEVEL} + {} B dictionary: {size:>9} + {} = {total} bytes ({:>5.1} %), decompress all {} ms",
                        dict.len(),
                        dict.len(),
                        100.0 * total as f64 / raw as f64,
                        fmt(d_ms)
                    );
                    dict_rows.push(json!({ "level": DICT_LEVEL, "dict_max": max, "dict_bytes": dict.len(), "bytes": size, "total_bytes": total, "compress_ms": c_ms, "decompress_ms": d_ms }));
                }
                Err(e) => {
                    println!("[size]   dictionary of {max} B: training failed: {e}");
                    dict_rows.push(json!({ "level": DICT_LEVEL, "dict_max": max, "error": e.to_string() }));
                }
            }
        }
        out.push(json!({ "device": dev.name, "fingerprint": hash, "programs": dev.binaries.len(), "raw_bytes": raw,
                         "stored_bytes": dev.stored, "levels": rows, "dictionary": dict_rows }));
    }
    Ok(json!(out))
}
