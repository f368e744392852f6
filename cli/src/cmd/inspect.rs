//! `clbake inspect PATH`: the bundles in a `.clbk` file or an executable (its `.clbake`
//! section, read with the `object` crate: ELF, Mach-O, PE).

use anyhow::{bail, Context, Result};
use clbake::core::clc::{classify, ParamInfo};
use clbake::core::format::{scan, section, Bundle, KernelEntry, SECTION_NAME};
use clbake::core::pocl::workgroup_functions;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `clbake inspect`.
#[derive(clap::Args)]
pub struct Args {
    /// A .clbk bundle, or an executable built with clbake (its `.clbake` section is read).
    path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Field {
    name: &'static str,
    offset: usize,
    size: usize,
    value: String,
}

#[derive(Serialize)]
struct ParamJson {
    name: String,
    address: String,
    access: String,
    #[serde(rename = "type")]
    type_name: String,
    qualifiers: u32,
    /// The parameter as OpenCL C declares it.
    c: String,
    /// The Rust type of the typed method's argument, or why there is none.
    rust: Result<String, String>,
}

#[derive(Serialize)]
struct KernelJson {
    name: String,
    /// Where the parameters come from: `driver`, `reader` or `unknown`.
    signature: clbake::core::format::SignatureOrigin,
    params: Vec<ParamJson>,
    typed: bool,
    why_untyped: Option<String>,
    reqd_work_group_size: Option<[u32; 3]>,
}

#[derive(Serialize)]
struct ProgramJson {
    index: usize,
    name: String,
    stem: String,
    variant: String,
    options: String,
    kernels: Vec<KernelJson>,
    source_hash: String,
    source_bytes: u64,
    source_compressed_bytes: u64,
    key: String,
}

#[derive(Serialize)]
struct BinaryJson {
    index: usize,
    program: String,
    fingerprint_hash: String,
    fingerprint: Option<clbake::Fingerprint>,
    fingerprint_error: Option<String>,
    uncompressed_bytes: u64,
    compressed_bytes: u64,
    ratio: f64,
    checksum: String,
    payload_offset: u64,
    /// PoCL work-group functions in the binary (`kernel/x-y-z[-goffs0][-smallgrid]`; `0-0-0`
    /// is the generic one); empty for other drivers.
    workgroup_functions: Vec<String>,
    /// Why the binary could not be read (checksum, zstd), if it could not.
    payload_error: Option<String>,
    /// Known answers recorded with it: (kernel, global size, outputs).
    known_answers: Vec<String>,
}

#[derive(Serialize)]
struct TuningJson {
    program: String,
    fingerprint_hash: String,
    kernel: String,
    global: Vec<u64>,
    local: Option<Vec<u64>>,
    best_ns: u64,
    default_ns: u64,
}

#[derive(Serialize)]
struct BundleJson {
    offset: usize,
    total_bytes: usize,
    info: String,
    /// Tables found damaged and left out.
    damage: Vec<String>,
    header: Vec<Field>,
    programs: Vec<ProgramJson>,
    binaries: Vec<BinaryJson>,
    tunings: Vec<TuningJson>,
}

#[derive(Serialize)]
struct Output {
    path: PathBuf,
    source: &'static str,
    bundles: Vec<BundleJson>,
    errors: Vec<String>,
}

fn header_fields(b: &Bundle<'_>) -> Vec<Field> {
    let h = b.header();
    let f = |name, offset, size, value: String| Field { name, offset, size, value };
    vec![
        f("magic", 0, 8, format!("{:?}", String::from_utf8_lossy(&h.magic))),
        f("version", 8, 4, format!("{}.{}", h.major, h.minor)),
        f("header_size", 12, 4, h.header_size.to_string()),
        f("flags", 16, 4, format!("{:#x}", h.flags)),
        f("program_count", 20, 4, h.program_count.to_string()),
        f("binary_count", 24, 4, h.binary_count.to_string()),
        f("tuning_count", 28, 4, h.tuning_count.to_string()),
        f("info", 32, 16, format!("offset {} len {}", h.info_offset, h.info_len)),
        f("program_table", 48, 16, format!("offset {} len {}", h.program_table_offset, h.program_table_len)),
        f("binary_table", 64, 16, format!("offset {} len {}", h.binary_table_offset, h.binary_table_len)),
        f("tuning_table", 80, 16, format!("offset {} len {}", h.tuning_table_offset, h.tuning_table_len)),
        f("payload", 96, 16, format!("offset {} len {}", h.payload_offset, h.payload_len)),
        f("total_len", 112, 8, h.total_len.to_string()),
        f("core_checksum", 128, 16, h.core_checksum.to_hex()),
        f("binary_checksum", 144, 16, h.binary_checksum.to_hex()),
        f("tuning_checksum", 160, 16, h.tuning_checksum.to_hex()),
    ]
}

fn param_json(p: &ParamInfo) -> ParamJson {
    let rust = classify(p).map(|t| super::rust_name::param(&t));
    ParamJson {
        name: p.name.clone(),
        address: format!("{:?}", p.address).to_lowercase(),
        access: format!("{:?}", p.access).to_lowercase(),
        type_name: p.type_name.clone(),
        qualifiers: p.type_qualifiers.0,
        c: p.c_declaration(),
        rust,
    }
}

fn kernel_json(k: &KernelEntry<'_>) -> KernelJson {
    let record = k.to_record();
    let why = record.why_untyped().map(|(param, why)| match param {
        Some(p) => format!("parameter `{p}`: {why}"),
        None => why,
    });
    KernelJson {
        name: k.name.to_string(),
        signature: k.origin,
        params: record.params.iter().map(param_json).collect(),
        typed: why.is_none(),
        why_untyped: why,
        reqd_work_group_size: k.reqd_work_group_size,
    }
}

fn describe(offset: usize, b: &Bundle<'_>) -> BundleJson {
    let programs = b
        .programs()
        .iter()
        .enumerate()
        .map(|(index, p)| ProgramJson {
            index,
            name: p.name.into(),
            stem: p.stem.into(),
            variant: p.variant.into(),
            options: p.options.into(),
            kernels: p.kernels.iter().map(kernel_json).collect(),
            source_hash: p.source_hash.to_hex(),
            source_bytes: p.source_len,
            source_compressed_bytes: p.source_compressed_len,
            key: p.key.to_hex(),
        })
        .collect();
    let binaries = b
        .binaries()
        .iter()
        .enumerate()
        .map(|(index, e)| {
            let fp = e.fingerprint();
            let payload = e.decompress();
            BinaryJson {
                index,
                program: b.programs().get(e.program as usize).map(|p| p.name.to_string()).unwrap_or_default(),
                fingerprint_hash: e.fingerprint_hash.to_hex(),
                fingerprint_error: fp.as_ref().err().map(|e| e.to_string()),
                fingerprint: fp.ok(),
                uncompressed_bytes: e.uncompressed_len,
                compressed_bytes: e.compressed_len,
                ratio: if e.uncompressed_len == 0 { 0.0 } else { e.compressed_len as f64 / e.uncompressed_len as f64 },
                checksum: e.checksum.to_hex(),
                payload_offset: e.payload_offset,
                workgroup_functions: payload
                    .as_deref()
                    .map(workgroup_functions)
                    .unwrap_or_default()
                    .iter()
                    .map(|w| w.to_string())
                    .collect(),
                payload_error: payload.err().map(|e| e.to_string()),
                known_answers: e
                    .checks()
                    .unwrap_or_default()
                    .iter()
                    .map(|a| {
                        format!(
                            "{} {:?}{}, {} output(s)",
                            a.kernel,
                            a.global,
                            if a.tolerance > 0.0 { format!(" within {}", a.tolerance) } else { String::new() },
                            a.outputs.len()
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let tunings = b
        .tunings()
        .iter()
        .map(|t| TuningJson {
            program: b.programs().get(t.program as usize).map(|p| p.name.to_string()).unwrap_or_default(),
            fingerprint_hash: t.fingerprint_hash.to_hex(),
            kernel: t.kernel.to_string(),
            global: t.global().to_vec(),
            local: t.local().map(<[u64]>::to_vec),
            best_ns: t.best_ns,
            default_ns: t.default_ns,
        })
        .collect();
    BundleJson {
        offset,
        total_bytes: b.len(),
        info: b.info().to_string(),
        damage: b.damage().iter().map(|(t, why)| format!("{t}: {why}")).collect(),
        header: header_fields(b),
        programs,
        binaries,
        tunings,
    }
}

/// Inspects a file.
pub fn run(args: Args) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.path).with_context(|| format!("cannot read {}", args.path.display()))?;
    let (source, region) = match section(&bytes, SECTION_NAME) {
        Some(section) => ("section .clbake", section),
        None => ("file", &bytes[..]),
    };
    let mut out = Output { path: args.path.clone(), source, bundles: Vec::new(), errors: Vec::new() };
    for (offset, parsed) in scan(region) {
        match parsed {
            Ok(b) => {
                for (t, why) in b.damage() {
                    out.errors.push(format!(
                        "bundle at offset {offset}: its {t} is damaged and left out ({why}); the programs compile from source"
                    ));
                }
                out.bundles.push(describe(offset, &b))
            }
            Err(e) => out.errors.push(format!("bundle at offset {offset} is unreadable: {e}; {}", super::errors::bundle_fix(&e))),
        }
    }
    if out.bundles.is_empty() && out.errors.is_empty() {
        bail!(
            "{}: no clbake bundle found (not a .clbk file, and no .clbake section); pass a .clbk file written by `clbake bake` or an executable built with `include_kernels!`",
            args.path.display()
        );
    }
    if args.json {
        super::print_json(&out)?;
    } else {
        print_text(&out);
    }
    for e in &out.errors {
        eprintln!("error: {}: {e}", args.path.display());
    }
    Ok(if out.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_text(out: &Output) {
    println!("{} ({}): {} bundle(s)", out.path.display(), out.source, out.bundles.len());
    for b in &out.bundles {
        println!("\nbundle at offset {}, {} bytes, written by {}", b.offset, b.total_bytes, b.info);
        println!("  header:");
        for f in &b.header {
            println!("    @{:<4} {:>3}B {:<15} {}", f.offset, f.size, f.name, f.value);
        }
        println!("  programs ({}):", b.programs.len());
        for p in &b.programs {
            println!(
                "    [{}] {:<18} options {:?}  source {} B -> {} B zstd",
                p.index, p.name, p.options, p.source_bytes, p.source_compressed_bytes
            );
            for k in &p.kernels {
                let params: Vec<String> = k.params.iter().map(|q| q.c.clone()).collect();
                let from = match k.signature {
                    clbake::core::format::SignatureOrigin::Driver => "the driver",
                    clbake::core::format::SignatureOrigin::Reader => "clbake's reader",
                    _ => "unknown",
                };
                match &k.why_untyped {
                    None => println!("        kernel {}({})  [typed; signature from {from}]", k.name, params.join(", ")),
                    Some(why) => println!("        kernel {}({})  [NO typed method: {why}]", k.name, params.join(", ")),
                }
            }
        }
        println!("  binaries ({}):", b.binaries.len());
        for e in &b.binaries {
            let dev = e.fingerprint.as_ref().map(|f| f.describe()).unwrap_or_else(|| e.fingerprint_error.clone().unwrap_or_default());
            println!(
                "    [{}] {:<18} {} B -> {} B ({:.1} %)  {}",
                e.index,
                e.program,
                e.uncompressed_bytes,
                e.compressed_bytes,
                e.ratio * 100.0,
                dev
            );
            if let Some(f) = &e.fingerprint {
                println!(
                    "        fingerprint {}: platform {:?} {:?} {:?}; device {:?} {:?} {:?}; driver {:?}; {:?}; {} bits; process {}; library {:?}",
                    &e.fingerprint_hash[..16],
                    f.platform_name,
                    f.platform_vendor,
                    f.platform_version,
                    f.device_name,
                    f.device_vendor,
                    f.device_version,
                    f.driver_version,
                    f.opencl_c_version,
                    f.address_bits,
                    f.host_abi,
                    f.driver_library
                );
            }
            if let Some(err) = &e.payload_error {
                println!("        payload unreadable: {err}");
            }
            for a in &e.known_answers {
                println!("        known answer: {a}");
            }
            let specialised: Vec<&str> = e.workgroup_functions.iter().map(String::as_str).filter(|w| !w.ends_with("/0-0-0")).collect();
            if !e.workgroup_functions.is_empty() {
                let generic = e.workgroup_functions.len() - specialised.len();
                println!(
                    "        PoCL work-group functions: {generic} generic, {} specialised{}{}",
                    specialised.len(),
                    if specialised.is_empty() { "" } else { ": " },
                    specialised.join(", ")
                );
            }
        }
        if !b.tunings.is_empty() {
            println!("  tuning records ({}):", b.tunings.len());
            for t in &b.tunings {
                let columns =
                    clbake::core::format::tuning_columns(&t.program, &t.kernel, &t.global, t.local.as_deref(), t.best_ns, t.default_ns);
                println!("    {columns}  device {}", &t.fingerprint_hash[..16]);
            }
        }
    }
}
