//! Lookup scaling: bundles with 1 to 10,000 device entries for one program (synthetic
//! fingerprints, small payloads written with `BundleWriter`). Times `Bundle::parse`,
//! `find_binary` and decompressing the one match, and shows that non-matching entries are
//! never decompressed: every other payload is overwritten with garbage and the lookup of the
//! match still succeeds (a decompression of any of them would fail its checksum).

use crate::common::{fmt, Stat, R};
use clbake::core::format::{Bundle, BundleWriter, ProgramSpec};
use clbake::Fingerprint;
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Instant;

/// Payload bytes per entry.
const PAYLOAD: usize = 4096;

fn fingerprint(i: usize) -> Fingerprint {
    Fingerprint {
        platform_name: "Synthetic Platform".into(),
        platform_vendor: "clbake bench".into(),
        platform_version: "OpenCL 3.0".into(),
        device_name: format!("Synthetic GPU {i:05}"),
        device_vendor: "clbake bench".into(),
        device_version: "OpenCL 3.0".into(),
        driver_version: format!("{}.{}", 500 + i / 100, i % 100),
        opencl_c_version: "OpenCL C 1.2".into(),
        address_bits: 64,
        host_abi: "aarch64/64".into(),
        driver_library: format!("libGLES_synthetic.so size={} build-id={i:08x}", 4_000_000 + i),
    }
}

/// A payload that compresses about 2:1, different for every entry.
fn payload(i: usize) -> Vec<u8> {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..PAYLOAD)
        .map(|k| {
            if k % 2 == 0 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            } else {
                (k / 64) as u8
            }
        })
        .collect()
}

fn us(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e6
}

/// Measures one bundle size; `reps` timed repetitions.
fn measure(entries: usize, reps: usize) -> R<Value> {
    let mut w = BundleWriter::new().with_level(3);
    let p = w.add_program(&ProgramSpec::simple("synthetic", "", &["k"], "kernel void k(global float* x) { x[0] = 1.0f; }"));
    for i in 0..entries {
        w.add_binary(p, &fingerprint(i), &payload(i), &[]);
    }
    let bytes = w.to_bytes();
    let target = entries / 2;
    let fp = fingerprint(target).hash();
    let expected = payload(target);

    let (mut parse, mut find, mut decompress, mut total) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        let t0 = Instant::now();
        let b = Bundle::parse(black_box(&bytes))?;
        let parse_us = us(t0);
        let t = Instant::now();
        const LOOKUPS: usize = 1000;
        for _ in 0..LOOKUPS {
            black_box(b.find_binary(0, black_box(&fp)));
        }
        let find_us = us(t) / LOOKUPS as f64;
        let t = Instant::now();
        let hit = b.find_binary(0, &fp).ok_or("lookup missed")?;
        let data = hit.decompress()?;
        let dec_us = us(t);
        if data != expected {
            return Err("wrong payload".into());
        }
        parse.push(parse_us);
        find.push(find_us);
        decompress.push(dec_us);
        total.push(parse_us + find_us + dec_us);
    }

    // What decompressing every entry would cost (a reader that did not index by hash).
    let b = Bundle::parse(&bytes)?;
    let t = Instant::now();
    for e in b.binaries() {
        black_box(e.decompress()?);
    }
    let all_us = us(t);

    // Proof that non-matching entries are not decompressed: garbage in all of them.
    let mut damaged = bytes.clone();
    let payload_start = b.header().payload_offset as usize;
    let mut others = 0;
    for e in b.binaries().iter().filter(|e| e.fingerprint_hash != fp) {
        let start = payload_start + e.payload_offset as usize;
        let end = start + e.compressed_len as usize;
        damaged.get_mut(start..end).ok_or("payload out of range")?.fill(0xA5);
        others += 1;
    }
    let d = Bundle::parse(&damaged)?;
    let ok = d.find_binary(0, &fp).ok_or("lookup missed in the damaged bundle")?.decompress()? == expected;
    let others_fail = d.binaries().iter().filter(|e| e.fingerprint_hash != fp).all(|e| e.decompress().is_err());
    if !ok || !others_fail {
        return Err(format!("damaged bundle: match ok {ok}, every other entry fails {others_fail}").into());
    }

    let s = |v: &[f64]| Stat::of(v);
    let (sp, sf, sd, st) = (s(&parse), s(&find), s(&decompress), s(&total));
    println!(
        "[lookup] {entries:>6} entries ({:>9} bytes): parse {:>8} us, find {:>6} us, decompress match {:>6} us, total {:>8} us; all entries {:>9} us; {others} damaged others untouched",
        bytes.len(),
        fmt(sp.median),
        fmt(sf.median),
        fmt(sd.median),
        fmt(st.median),
        fmt(all_us)
    );
    Ok(json!({ "entries": entries, "bundle_bytes": bytes.len(), "parse_us": sp.json(), "find_us": sf.json(),
               "decompress_match_us": sd.json(), "total_us": st.json(), "decompress_all_us": all_us,
               "damaged_others": others, "match_ok_with_others_damaged": ok }))
}

/// The lookup table for 1 .. 10,000 entries.
pub fn run() -> R<Value> {
    let mut rows = Vec::new();
    for (entries, reps) in [(1, 101), (10, 101), (100, 51), (1_000, 21), (10_000, 11)] {
        rows.push(measure(entries, reps)?);
    }
    Ok(json!({ "payload_bytes": PAYLOAD, "rows": rows }))
}
