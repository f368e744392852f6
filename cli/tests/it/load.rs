//! The load order on a real driver: embedded binary when the fingerprint matches, source
//! when it does not, and nothing unverified ever reaching the driver.

use crate::common::*;
use clbake::core::format::Bundle;
use clbake::{AnyProgram, Embedded, KernelSet, LoadOptions, LoadPath, MissReason, Session};

mod kernels {
    clbake::include_kernels!();
}

#[test]
fn fresh_process_loads_every_program_from_embedded_binaries() {
    let report = demo_json(&clbake_bin(), &[]);
    let paths = paths(&report);
    assert!(paths.len() >= 10, "{paths:?}");
    for (name, path) in &paths {
        assert_eq!(path, "embedded", "{name} was not served by its embedded binary");
    }
    assert_correct(&report);
}

#[test]
fn another_device_compiles_from_source_and_names_the_differing_field() {
    let report = demo_json(&clbake_bin(), &[("POCL_DEVICES", "basic")]);
    for p in report["startup"]["programs"]["programs"].as_array().unwrap() {
        assert_eq!(p["path"], "source", "{}", p["name"]);
        let miss = &p["misses"][0];
        assert_eq!(miss["path"], "embedded");
        assert_eq!(miss["kind"], "fingerprint_mismatch", "{miss}");
        let fields: Vec<&str> = miss["diff"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"device_name"), "{fields:?}");
    }
    assert_correct(&report);
}

/// Offsets (in the executable file) of the compressed payload of every embedded binary.
fn binary_payloads(exe: &[u8]) -> Vec<(String, usize, usize)> {
    let section = clbake::core::format::section(exe, ".clbake").expect("executable has a .clbake section");
    let section_off = section.as_ptr() as usize - exe.as_ptr() as usize;
    let bundle = Bundle::parse(section).expect("first bundle parses");
    let payload = section_off + bundle.header().payload_offset as usize;
    // Only the binaries for the device the demo will pick (precompiled bundles add others).
    let devices = clbake::core::cl::devices().expect("an OpenCL device");
    let host = clbake::DeviceSelector::Default.pick(&devices).unwrap().fingerprint.hash();
    bundle
        .binaries()
        .iter()
        .filter(|b| b.fingerprint_hash == host)
        .map(|b| (bundle.programs()[b.program as usize].name.to_string(), payload + b.payload_offset as usize, b.compressed_len as usize))
        .collect()
}

#[test]
fn altered_binary_in_the_executable_is_rejected_before_the_driver_and_falls_back() {
    let mut exe = std::fs::read(clbake_bin()).unwrap();
    let payloads = binary_payloads(&exe);
    assert!(!payloads.is_empty(), "the test build has no embedded binary (no OpenCL device at build time?)");
    // Alter three binaries in different ways: one byte flipped mid-payload, a run of
    // bytes zeroed, and the tail replaced. zstd or the xxh3 checksum must catch each.
    let victims: Vec<_> = payloads.iter().take(3).cloned().collect();
    for (i, (_, off, len)) in victims.iter().enumerate() {
        match i {
            0 => exe[off + len / 2] ^= 0x40,
            1 => exe[off + len / 3..off + len / 3 + 16].fill(0),
            _ => exe[off + len - 8..off + len].copy_from_slice(b"TRUNCATD"),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let patched = dir.path().join("clbake-patched");
    std::fs::write(&patched, &exe).unwrap();
    std::fs::set_permissions(&patched, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let report = demo_json(&patched, &[]);
    let programs = report["startup"]["programs"]["programs"].as_array().unwrap();
    for (name, _, _) in &victims {
        let p = programs.iter().find(|p| p["name"] == name.as_str()).unwrap();
        assert_eq!(p["path"], "source", "{name}: {p}");
        assert_eq!(p["misses"][0]["kind"], "corrupt", "{name}: {p}");
    }
    let untouched = programs.iter().filter(|p| p["path"] == "embedded").count();
    assert_eq!(untouched, programs.len() - victims.len());
    assert_correct(&report);
}

#[test]
fn every_corrupted_payload_falls_back_in_process() {
    let session = Session::from_env().expect("an OpenCL device");
    let original = kernels::BUNDLE.bytes();
    let bundle = Bundle::parse(original).unwrap();
    let payload = bundle.header().payload_offset as usize;
    let spans: Vec<(usize, usize)> =
        bundle.binaries().iter().map(|b| (payload + b.payload_offset as usize, b.compressed_len as usize)).collect();
    // Flip one byte at several relative positions of every binary at once.
    for frac in [0.0, 0.25, 0.5, 0.9, 0.999] {
        let mut bytes = original.to_vec();
        for &(off, len) in &spans {
            let at = off + ((len - 1) as f64 * frac) as usize;
            bytes[at] = bytes[at].wrapping_add(1);
        }
        let corrupted = Embedded::from_vec(bytes);
        let programs =
            KernelSet::<AnyProgram>::load_eager(&session, &corrupted, &LoadOptions::default()).expect("load falls back to source");
        let report = programs.report();
        // A flipped byte that zstd ignores (e.g. in unused bits of an entropy table) can
        // still decode to the exact original binary, which then verifies: that one may be
        // served. Anything served from the altered bundle must decode to the original bytes.
        let altered = corrupted.parse().unwrap();
        for (i, p) in report.programs.iter().enumerate().filter(|(_, p)| p.path == LoadPath::Embedded) {
            let fp = session.device().fingerprint.hash();
            let served = altered.find_binary(i as u32, &fp).unwrap().decompress().expect("served bytes verify");
            let original = bundle.find_binary(i as u32, &fp).unwrap().decompress().unwrap();
            assert!(served == original, "frac {frac}: {} was served from bytes that differ from the baked binary\n{report}", p.name);
        }
        for p in report.programs.iter().filter(|p| p.path != LoadPath::Embedded) {
            assert!(
                matches!(p.misses[0].reason, MissReason::Corrupt { .. } | MissReason::FingerprintMismatch { .. }),
                "{}: {:?}",
                p.name,
                p.misses
            );
        }
        // The programs work: every kernel can be launched.
        for id in kernels::Program::ALL {
            for k in 0..id.kernels().len() {
                assert!(programs.launch(AnyProgram(id as usize), k).is_ok(), "{}: kernel {k}", id.name());
            }
        }
    }
}

#[test]
fn embedded_path_can_be_turned_off() {
    let session = Session::from_env().expect("an OpenCL device");
    let programs = KernelSet::load_eager(&session, &kernels::BUNDLE, &LoadOptions::default().with_embedded(false)).unwrap();
    assert!(programs.report().all(LoadPath::Source));
    assert!(programs.report().programs.iter().all(|p| p.misses[0].reason == MissReason::Disabled));
}
