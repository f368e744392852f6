//! Enumerating platforms and devices and reading their fingerprints.

use super::ClError;
use crate::Fingerprint;
use opencl3::device::{Device, CL_DEVICE_TYPE_ALL};
use opencl3::platform::get_platforms;
use opencl3::types::cl_device_id;

/// One OpenCL device and what clbake knows about it.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// Position in the flattened list of all devices of all platforms.
    pub index: usize,
    /// Index of the platform.
    pub platform_index: usize,
    /// The device handle.
    pub id: cl_device_id,
    /// The device's fingerprint.
    pub fingerprint: Fingerprint,
    /// `CL_DEVICE_TYPE` as text (`CPU`, `GPU`, `ACCELERATOR`, ...).
    pub device_type: String,
    /// `CL_DEVICE_MAX_COMPUTE_UNITS`.
    pub compute_units: u32,
    /// `CL_DEVICE_GLOBAL_MEM_SIZE` in bytes.
    pub global_mem: u64,
}

// SAFETY: a cl_device_id is a handle the OpenCL spec allows to be used from any thread.
unsafe impl Send for DeviceInfo {}
// SAFETY: as above; DeviceInfo never mutates through the handle.
unsafe impl Sync for DeviceInfo {}

impl DeviceInfo {
    /// The opencl3 device wrapper.
    pub fn device(&self) -> Device {
        Device::new(self.id)
    }
}

/// Which device to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceSelector {
    /// The first GPU if any, else the first device.
    #[default]
    Default,
    /// The device at this index of [`devices`].
    Index(usize),
}

impl DeviceSelector {
    /// Reads `CLBAKE_DEVICE` (a device index); unset or empty means
    /// [`DeviceSelector::Default`]; anything else is an error naming the variable.
    pub fn from_env() -> Result<Self, crate::env::EnvError> {
        Ok(match crate::env::number::<usize>(crate::env::DEVICE)? {
            Some(i) => DeviceSelector::Index(i),
            None => DeviceSelector::Default,
        })
    }

    /// Picks a device from `all`.
    pub fn pick(self, all: &[DeviceInfo]) -> Result<&DeviceInfo, ClError> {
        if all.is_empty() {
            return Err(ClError::NoDevice);
        }
        match self {
            DeviceSelector::Index(index) => all.get(index).ok_or(ClError::NoSuchDevice { index, count: all.len() }),
            DeviceSelector::Default => Ok(all.iter().find(|d| d.device_type == "GPU").unwrap_or(&all[0])),
        }
    }
}

/// Whether the OpenCL loader library can be opened.
pub fn runtime_available() -> bool {
    cl3::is_opencl_runtime_available()
}

/// Every device of every platform, in platform order.
pub fn devices() -> Result<Vec<DeviceInfo>, ClError> {
    if !runtime_available() {
        return Err(ClError::NoRuntime);
    }
    // The ICD loader initialises itself on the first clGetPlatformIDs; some versions race
    // when several threads make that first call at once (one of them sees no platform).
    static PROBE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = PROBE.lock().unwrap_or_else(|e| e.into_inner());
    // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR (-1001) when no driver is installed.
    let platforms = match get_platforms() {
        Ok(p) => p,
        Err(e) if e.0 == -1001 => return Err(ClError::NoDevice),
        Err(e) => return Err(ClError::Api { call: "clGetPlatformIDs", code: e.0 }),
    };
    let mut out = Vec::new();
    let host_abi = crate::fingerprint::this_host_abi();
    for (platform_index, platform) in platforms.iter().enumerate() {
        let driver_library = super::library::for_platform(platform.id()).map(|l| l.identity()).unwrap_or_default();
        let ids = match platform.get_devices(CL_DEVICE_TYPE_ALL) {
            Ok(ids) => ids,
            Err(e) if e.0 == opencl3::error_codes::CL_DEVICE_NOT_FOUND => continue,
            Err(e) => return Err(ClError::Api { call: "clGetDeviceIDs", code: e.0 }),
        };
        for id in ids {
            let device = Device::new(id);
            let s = |r: opencl3::Result<String>| r.map(|v| v.trim_end_matches('\0').trim().to_string()).unwrap_or_default();
            let fingerprint = Fingerprint {
                platform_name: s(platform.name()),
                platform_vendor: s(platform.vendor()),
                platform_version: s(platform.version()),
                device_name: s(device.name()),
                device_vendor: s(device.vendor()),
                device_version: s(device.version()),
                driver_version: s(device.driver_version()),
                opencl_c_version: s(device.opencl_c_version()),
                address_bits: device.address_bits().unwrap_or(0),
                host_abi: host_abi.clone(),
                driver_library: driver_library.clone(),
            };
            let t = device.dev_type().unwrap_or(0);
            let device_type = if t & opencl3::device::CL_DEVICE_TYPE_GPU != 0 {
                "GPU"
            } else if t & opencl3::device::CL_DEVICE_TYPE_CPU != 0 {
                "CPU"
            } else if t & opencl3::device::CL_DEVICE_TYPE_ACCELERATOR != 0 {
                "ACCELERATOR"
            } else {
                "OTHER"
            };
            out.push(DeviceInfo {
                index: out.len(),
                platform_index,
                id,
                fingerprint,
                device_type: device_type.to_string(),
                compute_units: device.max_compute_units().unwrap_or(0),
                global_mem: device.global_mem_size().unwrap_or(0),
            });
        }
    }
    Ok(out)
}
