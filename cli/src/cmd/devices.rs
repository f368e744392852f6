//! `clbake devices`.

use anyhow::Result;
use serde::Serialize;
use std::process::ExitCode;

/// Arguments of `clbake devices`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct DeviceJson<'a> {
    index: usize,
    platform_index: usize,
    device_type: &'a str,
    compute_units: u32,
    global_mem_bytes: u64,
    fingerprint_hash: String,
    fingerprint: &'a clbake::Fingerprint,
}

/// Lists devices.
pub fn run(args: Args) -> Result<ExitCode> {
    let devices = clbake::core::cl::devices()?;
    if args.json {
        let out: Vec<_> = devices
            .iter()
            .map(|d| DeviceJson {
                index: d.index,
                platform_index: d.platform_index,
                device_type: &d.device_type,
                compute_units: d.compute_units,
                global_mem_bytes: d.global_mem,
                fingerprint_hash: d.fingerprint.hash().to_hex(),
                fingerprint: &d.fingerprint,
            })
            .collect();
        super::print_json(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if devices.is_empty() {
        println!("no OpenCL devices");
    }
    for d in &devices {
        let f = &d.fingerprint;
        println!(
            "device {}: {} [{}], {} compute units, {} MiB",
            d.index,
            f.device_name,
            d.device_type,
            d.compute_units,
            d.global_mem >> 20
        );
        println!("  platform {}: {} | {} | {}", d.platform_index, f.platform_name, f.platform_vendor, f.platform_version);
        println!("  device vendor {} | version {} | driver {}", f.device_vendor, f.device_version, f.driver_version);
        println!("  {} | address bits {} | process ABI {}", f.opencl_c_version, f.address_bits, f.host_abi);
        println!("  driver library {}", if f.driver_library.is_empty() { "(unknown)" } else { &f.driver_library });
        println!("  fingerprint {}", f.hash().to_hex());
    }
    Ok(ExitCode::SUCCESS)
}
