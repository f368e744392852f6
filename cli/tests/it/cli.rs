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
    assert_eq!(v["source"], "section .clbake");
    let b = &v["bundles"][0];
    let programs = b["programs"].as_array().unwrap();
    assert!(programs.iter().any(|p| p["name"] == "conv2d_relu" && p["options"] == "-DACT=1"));
    let binaries = b["binaries"].as_array().unwrap();
    // One binary per program for the build device; precompiled bundles (kernels/precompiled)
    // may add binaries for other devices.
    let host = binaries.iter().filter(|b| b["fingerprint"]["platform_name"] == "Portable Computing Language").count();
    assert_eq!(host, programs.len(), "one binary per program for the build device");
    for bin in binaries {
        assert!(bin["compressed_bytes"].as_u64().unwrap() < bin["uncompressed_bytes"].as_u64().unwrap());
        assert!(bin["fingerprint"]["device_name"].as_str().is_some());
    }
    let header: Vec<&str> = b["header"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(["core_checksum", "binary_checksum", "tuning_checksum", "payload"].iter().all(|f| header.contains(f)), "{header:?}");
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
    let out =
        run_ok(command(&clbake_bin()).args(["bake", "--kernels", "kernels", "--out"]).arg(&a).current_dir(env!("CARGO_MANIFEST_DIR")));
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
    let out =
        command(&clbake_bin()).args(["bake", "--kernels"]).arg(dir.path()).arg("--out").arg(dir.path().join("o.clbk")).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("oops.cl:2"), "{err}");
}

// ---- what a user sees when something is wrong: one line, the cause and the fix ----

/// Runs `clbake ARGS` expecting exit status 1; returns stderr.
fn fails(c: &mut std::process::Command) -> String {
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{c:?}: stderr:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// The line of `stderr` that starts with `error: `.
fn error_line(stderr: &str) -> &str {
    stderr.lines().find(|l| l.starts_with("error: ")).unwrap_or_else(|| panic!("no `error:` line in:\n{stderr}"))
}

#[test]
fn no_opencl_runtime_says_what_to_install() {
    // An empty libOpenCL.so.1 first on the library path: dlopen() fails as on a machine
    // without an ICD loader.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("libOpenCL.so.1"), b"").unwrap();
    for verb in [&["devices"][..], &["demo"], &["bake", "-o", "x.clbk"]] {
        let err = fails(command(&clbake_bin()).args(verb).env("LD_LIBRARY_PATH", dir.path()).current_dir(dir.path()));
        let line = error_line(&err);
        assert!(
            line.contains("no OpenCL runtime") && line.contains("libOpenCL.so.1") && line.contains("apt-get install"),
            "{verb:?}: {err}"
        );
    }
}

#[test]
fn no_opencl_device_says_what_to_install() {
    // The ICD loader reads drivers from OCL_ICD_VENDORS: an empty directory means no platform.
    let dir = tempfile::tempdir().unwrap();
    for verb in [&["devices"][..], &["demo"]] {
        let err = fails(command(&clbake_bin()).args(verb).env("OCL_ICD_VENDORS", dir.path()));
        let line = error_line(&err);
        assert!(line.contains("no OpenCL device") && line.contains("pocl-opencl-icd"), "{verb:?}: {err}");
    }
    let err = fails(command(&clbake_bin()).args(["demo", "--device", "99"]));
    assert!(error_line(&err).contains("device 99 does not exist") && err.contains("clbake devices"), "{err}");
}

#[test]
fn kernel_compile_error_is_one_line_then_the_driver_log() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("oops.cl"), "__kernel void k(__global float* x) {\n  x[0] = nope;\n}\n").unwrap();
    let err = fails(command(&clbake_bin()).args(["bake", "--kernels"]).arg(dir.path()).arg("-o").arg(dir.path().join("o.clbk")));
    let line = error_line(&err);
    assert!(
        line.starts_with("error: 1 program(s) cannot be baked (") && line.contains("oops.cl") && line.contains("fix the source"),
        "{err}"
    );
    // The driver's log follows, naming file and line.
    let after: String = err.split_once(line).unwrap().1.into();
    assert!(after.contains("oops.cl:2") && after.contains("nope"), "{err}");
    assert!(!dir.path().join("o.clbk").exists());
}

#[test]
fn bad_bundles_name_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("self.clbk");
    run_ok(command(&clbake_bin()).args(["bake", "--device", "0", "-o"]).arg(&bundle));
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = dir.path().join("cut.clbk");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let err = fails(command(&clbake_bin()).arg("inspect").arg(&cut));
    let line = error_line(&err);
    assert!(line.contains("cut.clbk") && line.contains("truncated") && line.contains("re-bake"), "{err}");
    // The same bundle as the source of a bake.
    let err = fails(command(&clbake_bin()).args(["bake", "-o"]).arg(dir.path().join("o.clbk")).arg("--from").arg(&cut));
    assert!(error_line(&err).contains("cut.clbk") && error_line(&err).contains("re-bake"), "{err}");
    // A file that is no bundle at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    let err = fails(command(&clbake_bin()).arg("inspect").arg(&text));
    assert!(error_line(&err).contains("notes.txt") && error_line(&err).contains("clbake bake"), "{err}");
}

#[test]
fn every_verb_has_help_with_exit_codes() {
    let top = run_ok(command(&clbake_bin()).arg("--help"));
    let top = String::from_utf8_lossy(&top.stdout);
    for var in ["CLBAKE_DEVICE", "CLBAKE_EMBEDDED", "CLBAKE_JOBS", "CLBAKE_CACHE_DIR", "CLBAKE_BAKE", "CLBAKE_ZSTD_LEVEL"] {
        assert!(top.contains(var), "--help does not mention {var}:\n{top}");
    }
    for verb in ["devices", "inspect", "bake", "demo", "cache"] {
        assert!(top.contains(&format!("  {verb} ")), "--help does not list {verb}:\n{top}");
        let out = run_ok(command(&clbake_bin()).args([verb, "--help"]));
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains(&format!("Usage: clbake {verb}")) && help.contains("Exit codes:") && help.contains("usage error"),
            "{verb}:\n{help}"
        );
    }
    // A usage error is exit status 2.
    let out = command(&clbake_bin()).arg("no-such-verb").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_stdout_ends_the_tool_quietly() {
    use std::os::unix::process::ExitStatusExt;
    // The reader is gone before the first byte is written (`clbake inspect app | head`, with
    // head already done): the tool must die of SIGPIPE like `cat`, not panic.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out =
        command(&clbake_bin()).args(["inspect"]).arg(clbake_bin()).stdout(writer).stderr(std::process::Stdio::piped()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    assert_eq!(out.status.signal(), Some(13), "expected death by SIGPIPE, got {:?}: {err}", out.status);
}

#[test]
fn bake_json_summary_is_for_tools() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one.cl"), "__kernel void one(__global int* o) { o[0] = 1; }\n").unwrap();
    let out = run_ok(command(&clbake_bin()).args(["bake", "--json", "--kernels"]).arg(dir.path()).arg("-o").arg(dir.path().join("o.clbk")));
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(v["programs"], serde_json::json!(["one"]));
    assert_eq!(v["binaries"], 1);
    assert_eq!(v["devices"][0]["fingerprint_hash"].as_str().unwrap().len(), 32);
    assert_eq!(v["bytes"].as_u64().unwrap(), std::fs::metadata(dir.path().join("o.clbk")).unwrap().len());
    // Progress stays on stderr.
    assert!(String::from_utf8_lossy(&out.stderr).contains("[1/1]"));
}

/// The specialised PoCL work-group functions of each binary in a bundle, via `clbake inspect --json`.
fn specialised_functions(bundle: &std::path::Path) -> Vec<Vec<String>> {
    let out = run_ok(command(&clbake_bin()).args(["inspect", "--json"]).arg(bundle));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["bundles"][0]["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            b["workgroup_functions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_string())
                .filter(|w| !w.ends_with("/0-0-0"))
                .collect()
        })
        .collect()
}

#[test]
fn bake_runs_declared_launches_so_the_binary_holds_their_code() {
    let dir = tempfile::tempdir().unwrap();
    let kernels = dir.path().join("k");
    std::fs::create_dir(&kernels).unwrap();
    // Two launch lines (the driver's local size, and one the app passes) and a tune line,
    // which is not run; the kernel writes only inside the declared buffer.
    std::fs::write(
        kernels.join("scale.cl"),
        "// clbake:launch scale 64,4 y=64*4 n=64*4 a=2.5\n\
         // clbake:launch scale 32,2/8,2 y=64 n=64 a=1\n\
         // clbake:tune scale 16,2 y=32 n=32 a=1\n\
         __kernel void scale(__global float* y, int n, float a) {\n\
           int i = get_global_id(1) * get_global_size(0) + get_global_id(0);\n\
           if (i < n) y[i] = a * (float)i;\n\
         }\n",
    )
    .unwrap();
    let (warm, cold) = (dir.path().join("warm.clbk"), dir.path().join("cold.clbk"));
    let out = run_ok(command(&clbake_bin()).args(["bake", "--json", "--kernels"]).arg(&kernels).arg("-o").arg(&warm));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["warmed_launches"], 2, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 launches warmed"));
    run_ok(command(&clbake_bin()).args(["bake", "--no-warm", "--kernels"]).arg(&kernels).arg("-o").arg(&cold));
    // PoCL keeps one work-group function per launch configuration that ran: the declared
    // ones are in the warm binary (the explicit local size as given), none in the cold one.
    let (w, c) = (specialised_functions(&warm), specialised_functions(&cold));
    assert_eq!(w.len(), 1);
    assert!(w[0].iter().any(|f| f.starts_with("scale/8-2-1")), "{w:?}");
    assert!(w[0].len() <= 2 && w[0].iter().all(|f| f.starts_with("scale/")), "{w:?}");
    assert_eq!(c, vec![Vec::<String>::new()]);
}

#[test]
fn a_bad_launch_line_fails_the_bake_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k.cl"), "__kernel void k(__global float* y, int n) {}\n// clbake:launch k 64 y=n\n").unwrap();
    let err = fails(command(&clbake_bin()).args(["bake", "--kernels"]).arg(dir.path()).arg("-o").arg(dir.path().join("o.clbk")));
    assert!(
        err.contains("k.cl:2: ")
            && err.contains("clbake:launch k 64 y=n")
            && err.contains("`n` is not a number or an argument given on the line"),
        "{err}"
    );
    assert!(!dir.path().join("o.clbk").exists(), "nothing written on error");
}

#[test]
fn a_launch_the_device_cannot_hold_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    // 2^40 floats (4 TiB): more than any device allocates. The bake goes on without it.
    std::fs::write(dir.path().join("k.cl"), "// clbake:launch k 64 y=1099511627776 n=64\n__kernel void k(__global float* y, int n) { if (get_global_id(0) < n) y[0] = 1.0f; }\n").unwrap();
    let out = run_ok(command(&clbake_bin()).args(["bake", "--json", "--kernels"]).arg(dir.path()).arg("-o").arg(dir.path().join("o.clbk")));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["warmed_launches"], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("launch skipped: line 1") && err.contains("CL_INVALID_BUFFER_SIZE"), "{err}");
}

#[test]
fn a_compile_stuck_in_the_driver_is_stopped_and_reported() {
    // 4096 unrolled statements: PoCL takes minutes over this one (190 s measured here), the
    // other program well under the limit even on a loaded machine.
    let dir = tempfile::tempdir().unwrap();
    let slow = "#define R4(x) x x x x\n#define R16(x) R4(R4(x))\n#define R256(x) R16(R16(x))\n#define R4096(x) R16(R256(x))\n\
                __kernel void slow(__global float* y) {\n    float a = y[0];\n    R4096(a = a * 1.0001f + sin(a);)\n    y[0] = a;\n}\n";
    std::fs::write(dir.path().join("slow.cl"), slow).unwrap();
    std::fs::write(dir.path().join("fast.cl"), "__kernel void fast(__global float* y) { y[0] = 1.0f; }\n").unwrap();
    let out = dir.path().join("o.clbk");
    let mut c = command(&clbake_bin());
    c.args(["bake", "--jobs", "2", "--keep-going", "--compile-timeout", "20", "--kernels"]).arg(dir.path()).arg("-o").arg(&out);
    let o = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("slow.cl") && stderr.contains("took longer than 20 s and was stopped"), "{stderr}");
    // The other program is in the bundle, with its binary.
    let bundle = std::fs::read(&out).unwrap();
    let b = clbake::core::format::Bundle::parse(&bundle).unwrap();
    let with_binary: Vec<&str> = b.binaries().iter().map(|x| b.programs()[x.program as usize].name).collect();
    assert_eq!(with_binary, ["fast"]);
}
