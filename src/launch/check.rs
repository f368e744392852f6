//! The run-time checks of a launch: each argument against the parameter the driver reports,
//! and the work sizes against the kernel's and the device's limits — with messages that
//! say what would fit.

use super::args::ArgDesc;
use super::sizes;
use clbake_core::cl::DeviceInfo;
use clbake_core::clc::{classify, short_rust_type, AccessQualifier, AddressSpace, ParamInfo, ParamType, ValueType};
use opencl3::kernel::Kernel;

/// The Rust type of a value, as a message shows it (`f32`, `[f32; 4]`, `Half`).
fn rust_name(t: ValueType) -> String {
    short_rust_type(&t.rust_type())
}

fn arg_text(d: &ArgDesc) -> String {
    match d {
        ArgDesc::Value(t) => format!("a value of `{}`", rust_name(*t)),
        ArgDesc::Buffer { elem, .. } => format!("a buffer of `{}`", rust_name(*elem)),
        ArgDesc::Local { elem_size } => format!("a `Local` of {elem_size}-byte elements"),
        ArgDesc::Image { kind, .. } => format!("an image (`{}`)", kind.cl_name()),
        ArgDesc::Sampler => "a sampler".into(),
    }
}

fn param_text(t: &ParamType) -> String {
    match t {
        ParamType::Value(v) => format!("a value of `{}` (`{}`)", v.cl_name(), rust_name(*v)),
        ParamType::Pointer { space: AddressSpace::Local, elem, .. } => {
            format!("`Local<{}>` (`__local {}*`)", rust_name(*elem), elem.cl_name())
        }
        ParamType::Pointer { elem, is_const, any_elem, .. } => {
            let (rust, cl) = if *any_elem {
                ("any element type".to_string(), "void".to_string())
            } else {
                (format!("`{}`", rust_name(*elem)), elem.cl_name())
            };
            format!(
                "a buffer of {rust} the kernel {} (`{}{cl}*`)",
                if *is_const { "reads" } else { "writes" },
                if *is_const { "const " } else { "" }
            )
        }
        ParamType::Image { kind, access } => format!("an image `{}` ({access:?})", kind.cl_name()),
        ParamType::Sampler => "a sampler".into(),
    }
}

/// Whether `arg` may be passed for parameter `p`; `Err` says why not and what would fit.
pub(crate) fn fits(d: &ArgDesc, p: &ParamInfo) -> Result<(), String> {
    let ty = classify(p).map_err(|e| format!("its type cannot be passed ({e})"))?;
    let ok = match (&d, &ty) {
        (ArgDesc::Value(a), ParamType::Value(b)) => a.scalar == b.scalar && a.storage_width() == b.storage_width(),
        (
            ArgDesc::Buffer { elem, reads, writes },
            ParamType::Pointer { space: AddressSpace::Global | AddressSpace::Constant, elem: want, is_const, any_elem },
        ) => {
            let want = if *any_elem { elem } else { want };
            if elem.size() != want.size() || elem.scalar != want.scalar {
                false
            } else if !is_const && !writes {
                return Err(format!("the kernel writes this buffer, and a `ReadOnly` buffer cannot be written: pass a `Buffer<{}, ReadWrite>` or `WriteOnly`", rust_name(*want)));
            } else if *is_const && !reads {
                return Err(format!(
                    "the kernel reads this buffer, and a `WriteOnly` buffer cannot be read: pass a `Buffer<{}, ReadOnly>` or `ReadWrite`",
                    rust_name(*want)
                ));
            } else {
                true
            }
        }
        (ArgDesc::Local { elem_size }, ParamType::Pointer { space: AddressSpace::Local, elem, .. }) => *elem_size == elem.size(),
        (ArgDesc::Image { kind, reads, writes }, ParamType::Image { kind: want, access }) => {
            if kind != want {
                false
            } else {
                let needs = match access {
                    AccessQualifier::WriteOnly => (false, true),
                    AccessQualifier::ReadWrite => (true, true),
                    _ => (true, false),
                };
                if (needs.0 && !reads) || (needs.1 && !writes) {
                    return Err(format!("the kernel's image is {access:?}, the image passed does not allow that access"));
                }
                true
            }
        }
        (ArgDesc::Sampler, ParamType::Sampler) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expects {}, got {}", param_text(&ty), arg_text(d)))
    }
}

/// Checks work sizes before the driver sees them: every dimension at least 1, `local`
/// dividing `global`, within the kernel's and the device's limits and equal to a required
/// work-group size. `Err` names the sizes and the fix.
pub(crate) fn work_sizes(
    kernel: &Kernel,
    device: &DeviceInfo,
    required: Option<[usize; 3]>,
    global: &[usize],
    local: Option<&[usize]>,
) -> Result<(), String> {
    if global.contains(&0) {
        return Err(format!("global size {} has an empty dimension: every dimension must be at least 1", sizes(global)));
    }
    let Some(local) = local else { return Ok(()) };
    if local.len() != global.len() || local.contains(&0) {
        return Err(format!(
            "local size {} must have {} dimension(s) of at least 1, as the global size {}",
            sizes(local),
            global.len(),
            sizes(global)
        ));
    }
    if let Some(d) = (0..global.len()).find(|&d| !global[d].is_multiple_of(local[d])) {
        let up = global[d].div_ceil(local[d]) * local[d];
        return Err(format!(
            "global size {} is not a multiple of local size {} in dimension {d} ({} % {} = {}): round the global size up to {up} there (and have the kernel skip indices past {}), or pass local = None",
            sizes(global),
            sizes(local),
            global[d],
            local[d],
            global[d] % local[d],
            global[d] - 1
        ));
    }
    if let Some(r) = required {
        if local != &r[..local.len()] {
            return Err(format!(
                "the kernel requires local size {} (reqd_work_group_size), {} was given: pass that size or None",
                sizes(&r[..local.len()]),
                sizes(local)
            ));
        }
    }
    let items: usize = local.iter().product();
    let kernel_max = kernel.get_work_group_size(device.id).unwrap_or(usize::MAX);
    let device_max = device.device().max_work_group_size().unwrap_or(usize::MAX);
    let max = kernel_max.min(device_max);
    if items > max {
        return Err(format!(
            "local size {} is {items} work-items, more than this kernel allows on {} ({max}): use a local size whose product is at most {max}, or None",
            sizes(local),
            device.fingerprint.device_name
        ));
    }
    if let Ok(per_dim) = device.device().max_work_item_sizes() {
        if let Some(d) = (0..local.len()).find(|&d| per_dim.get(d).is_some_and(|&m| local[d] > m)) {
            return Err(format!("local size {} exceeds the device's limit of {} work-items in dimension {d}", sizes(local), per_dim[d]));
        }
    }
    Ok(())
}
