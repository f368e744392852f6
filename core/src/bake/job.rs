//! One compile: a program built from source for one device, its kernels' parameters read
//! from the driver, its declared launches run (warm code, known answers), its binary
//! captured. What the bake runs in-process, in a thread or in a compile worker process.

use crate::cl::{self, capture_binary, kernel_params, required_size, BuiltProgram, ClError, DeviceInfo, WarmReport};
use crate::clc::resolve_type_name;
use crate::format::{KernelRecord, SignatureOrigin};
use crate::source::ProgramSource;
use opencl3::context::Context;
use std::time::{Duration, Instant};

/// What a compile is asked to do besides compiling.
#[derive(Clone, Copy, Debug)]
pub struct JobSettings {
    /// Capture the binary (`false`: only check that the program compiles, as a cross
    /// build does on the host).
    pub capture: bool,
    /// Run the declared launches before capturing.
    pub warm: bool,
    /// Record known answers while warming.
    pub checks: bool,
}

/// The result of one successful compile.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The kernels as the driver reports them, in the reader's (source) order, then any the
    /// reader did not list.
    pub kernels: Vec<KernelRecord>,
    /// The captured binary (`None` when not capturing).
    pub binary: Option<Vec<u8>>,
    /// What warming did, with the known answers recorded.
    pub warm: WarmReport,
    /// Compile time, warming included.
    pub elapsed: Duration,
}

/// A program that failed to compile for a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Program name.
    pub program: String,
    /// The kernel file.
    pub file: std::path::PathBuf,
    /// Its build options.
    pub options: String,
    /// The device (description), or empty for a problem found before compiling.
    pub device: String,
    /// The driver's build log (or the problem).
    pub log: String,
}

impl Failure {
    /// Program `prog` failed on `device`, as `log` says.
    pub(crate) fn of(prog: &ProgramSource, device: &DeviceInfo, log: String) -> Self {
        Failure {
            program: prog.name.clone(),
            file: prog.file.clone(),
            options: prog.options.clone(),
            device: device.fingerprint.describe(),
            log,
        }
    }

    /// The first line of the log that says `error` (else its first line): what the progress
    /// line and summaries show.
    pub fn first_error(&self) -> &str {
        let lines = || self.log.lines().map(str::trim).filter(|l| !l.is_empty());
        lines().find(|l| l.to_ascii_lowercase().contains("error")).or_else(|| lines().next()).unwrap_or("no build log")
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let options = if self.options.is_empty() { String::new() } else { format!(" (options `{}`)", self.options) };
        let device = if self.device.is_empty() { String::new() } else { format!(" for {}", self.device) };
        writeln!(f, "{}: program `{}`{options} failed{device}:", self.file.display(), self.program)?;
        for line in self.log.trim_end().lines().take(40) {
            writeln!(f, "    {line}")?;
        }
        Ok(())
    }
}

/// The kernels of `built` with their parameters from the driver (type names resolved
/// through the source's typedefs), in the order of `reader` (the source order), then any
/// kernel the reader did not list.
pub fn driver_kernels(built: &BuiltProgram, device: &DeviceInfo, prog: &ProgramSource) -> Vec<KernelRecord> {
    let mut order: Vec<&str> = prog.kernels.iter().map(|k| k.name.as_str()).filter(|n| built.kernels.iter().any(|(b, _)| b == n)).collect();
    let mut extra: Vec<&str> = built.kernels.iter().map(|(n, _)| n.as_str()).filter(|n| !order.contains(n)).collect();
    extra.sort_unstable();
    order.extend(extra);
    order
        .into_iter()
        .filter_map(|name| {
            let (_, kernel) = built.kernels.iter().find(|(n, _)| n == name)?;
            let reqd = required_size(kernel, device.id).map(|r| r.map(|x| u32::try_from(x).unwrap_or(u32::MAX)));
            Some(match kernel_params(kernel) {
                Ok(mut params) => {
                    for p in &mut params {
                        p.type_name = resolve_type_name(&p.type_name, &prog.typedefs);
                    }
                    KernelRecord {
                        name: name.to_string(),
                        origin: SignatureOrigin::Driver,
                        note: String::new(),
                        reqd_work_group_size: reqd,
                        params,
                    }
                }
                // No argument info from this driver: keep what the reader knows.
                Err(code) => prog.kernels.iter().find(|k| k.name == name).cloned().unwrap_or_else(|| {
                    KernelRecord::unknown(name, &format!("the driver gives no argument info ({})", cl::code_name(code)))
                }),
            })
        })
        .collect()
}

/// Compiles `prog` for `device` in `context` and does what `settings` asks.
pub fn compile(
    context: &Context,
    device: &DeviceInfo,
    prog: &ProgramSource,
    settings: JobSettings,
    local_for: cl::LocalFor<'_>,
) -> Result<Compiled, Failure> {
    let start = Instant::now();
    let fail = |e: ClError| {
        let log = match e {
            ClError::Build { log, .. } => log,
            other => other.to_string(),
        };
        Failure::of(prog, device, log)
    };
    let built = cl::build_from_source(context, device.id, &prog.name, &prog.source, &prog.options).map_err(fail)?;
    let kernels = driver_kernels(&built, device, prog);
    let mut warm = WarmReport::default();
    let mut binary = None;
    if settings.capture {
        if settings.warm {
            let signatures =
                |name: &str| kernels.iter().find(|k| k.name == name && k.origin != SignatureOrigin::Unknown).map(|k| k.params.clone());
            warm = cl::warm(context, &prog.source, &built, &signatures, local_for, settings.checks).map_err(fail)?;
        }
        binary = Some(capture_binary(&built.program).map_err(fail)?);
    }
    Ok(Compiled { kernels, binary, warm, elapsed: start.elapsed() })
}
