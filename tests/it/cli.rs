//! The `clbake` command line: devices, inspect, bake.

use crate::common::*;

#[test]
fn devices_json_lists_fingerprints() {
    let out = run_ok(command(&clbake_bin()).args(["devices", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v.as_array().unwrap()[0];
    assert!(d["fingerprint"]["platform_name"].as_str().unwrap().contains("Portable Computing Language"));
    assert_eq!(d["fingerprint_hash"].as_str().unwrap().len(), 32);
    assert!(d["fingerprint"]["address_bits"].as_u64().unwrap() == 64);
}

#[test]
fn inspect_reads_the_bundle_from_an_executable() {
    let out = run_ok(command(&clbake_bin()).args(["inspect", "--json"]).arg(clbake_bin()));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "elf section .clbake");
    let b = &v["bundles"][0];
    let programs = b["programs"].as_array().unwrap();
    assert!(programs.iter().any(|p| p["name"] == "conv2d_relu" && p["options"] == "-DACT=1"));
    let binaries = b["binaries"].as_array().unwrap();
    assert_eq!(binaries.len(), programs.len(), "one binary per program for the one build device");
    for bin in binaries {
        assert!(bin["compressed_bytes"].as_u64().unwrap() < bin["uncompressed_bytes"].as_u64().unwrap());
        assert!(bin["fingerprint"]["device_name"].as_str().is_some());
    }
    let header: Vec<&str> = b["header"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(header.contains(&"table_checksum") && header.contains(&"payload"));
    // The text form shows the same.
    let text = run_ok(command(&clbake_bin()).arg("inspect").arg(clbake_bin())).stdout;
    assert!(String::from_utf8(text).unwrap().contains("conv2d_relu"));
}

#[test]
fn inspect_rejects_garbage_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("garbage.clbk");
    std::fs::write(&f, b"this is not a bundle at all, just text").unwrap();
    let out = command(&clbake_bin()).arg("inspect").arg(&f).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("garbage.clbk") && err.contains("no clbake bundle"), "{err}");
    // A truncated real bundle is reported as an error too, never a panic.
    let bundle = dir.path().join("good.clbk");
    run_ok(command(&clbake_bin()).args(["bake", "--kernels", "kernels", "--out"]).arg(&bundle).current_dir(env!("CARGO_MANIFEST_DIR")));
    let bytes = std::fs::read(&bundle).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let out = command(&clbake_bin()).arg("inspect").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("garbage.clbk") && !err.contains("panicked"), "{err}");
}

#[test]
fn bake_from_kernels_dir_and_self_bake_agree() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.clbk"), dir.path().join("b.clbk"));
    let out = run_ok(command(&clbake_bin()).args(["bake", "--kernels", "kernels", "--out"]).arg(&a).current_dir(env!("CARGO_MANIFEST_DIR")));
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("[1/") && progress.contains("wrote"), "progress output: {progress}");
    // Self-bake: the executable's own embedded sources, no kernel files needed.
    run_ok(command(&clbake_bin()).args(["bake", "--out"]).arg(&b).current_dir(dir.path()));
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    let (ba, bb) = (clbake::core::format::Bundle::parse(&a).unwrap(), clbake::core::format::Bundle::parse(&b).unwrap());
    let keys = |x: &clbake::core::format::Bundle<'_>| x.programs().iter().map(|p| (p.name.to_string(), p.key())).collect::<Vec<_>>();
    assert_eq!(keys(&ba), keys(&bb), "self-bake must reproduce the program keys of a kernels/ bake");
    assert_eq!(ba.binaries().len(), ba.programs().len());
}

#[test]
fn bake_reports_a_compile_error_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("oops.cl"), "__kernel void k(__global float* x) {\n  x[0] = nope;\n}\n").unwrap();
    let out = command(&clbake_bin()).args(["bake", "--kernels"]).arg(dir.path()).arg("--out").arg(dir.path().join("o.clbk")).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("oops.cl:2"), "{err}");
}
