//! Device fingerprints: the fields that decide whether a compiled binary may be reused.

use crate::hash::Hash128;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Everything about a platform, device and driver that can change what a compiled
/// program binary means. Two devices with equal fingerprints accept each other's binaries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `CL_PLATFORM_NAME`.
    pub platform_name: String,
    /// `CL_PLATFORM_VENDOR`.
    pub platform_vendor: String,
    /// `CL_PLATFORM_VERSION`.
    pub platform_version: String,
    /// `CL_DEVICE_NAME`.
    pub device_name: String,
    /// `CL_DEVICE_VENDOR`.
    pub device_vendor: String,
    /// `CL_DEVICE_VERSION`.
    pub device_version: String,
    /// `CL_DRIVER_VERSION`.
    pub driver_version: String,
    /// `CL_DEVICE_OPENCL_C_VERSION`.
    pub opencl_c_version: String,
    /// `CL_DEVICE_ADDRESS_BITS`.
    pub address_bits: u32,
    /// The ABI of the process that loads the binary: target architecture and pointer width
    /// (`x86_64/64`, `arm/32`). Boards ship 32- and 64-bit vendor drivers with identical
    /// version strings, so the device's strings alone cannot tell their binaries apart.
    pub host_abi: String,
    /// The vendor driver library serving the platform (file name, size, ELF build-id; see
    /// `cl::library`), empty when unknown. Drivers updated out of band keep their version
    /// strings; a replaced library is a miss that names this field.
    pub driver_library: String,
}

/// Number of string fields of a fingerprint.
pub const STRING_FIELDS: usize = 10;

/// Names of the string fields, in the order of [`Fingerprint::string_fields`].
pub const STRING_FIELD_NAMES: [&str; STRING_FIELDS] = [
    "platform_name",
    "platform_vendor",
    "platform_version",
    "device_name",
    "device_vendor",
    "device_version",
    "driver_version",
    "opencl_c_version",
    "host_abi",
    "driver_library",
];

/// The fingerprint hash over borrowed fields (in [`STRING_FIELD_NAMES`] order), so readers
/// can check a stored fingerprint without allocating it.
pub fn hash_fields(fields: &[&str; STRING_FIELDS], address_bits: u32) -> Hash128 {
    let mut parts: [&[u8]; STRING_FIELDS + 2] = [b"clbake-fingerprint-2"; STRING_FIELDS + 2];
    for (slot, f) in parts[1..=STRING_FIELDS].iter_mut().zip(fields) {
        *slot = f.as_bytes();
    }
    let bits = address_bits.to_le_bytes();
    parts[STRING_FIELDS + 1] = &bits;
    Hash128::of_parts(&parts)
}

/// The [`Fingerprint::host_abi`] of this process: `ARCH/POINTER_BITS`, e.g. `x86_64/64`.
pub fn this_host_abi() -> String {
    format!("{}/{}", std::env::consts::ARCH, usize::BITS)
}

/// One field that differs between two fingerprints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    /// Field name, e.g. `driver_version`.
    pub field: &'static str,
    /// Value in the fingerprint that was expected (the stored binary's).
    pub expected: String,
    /// Value found on this device.
    pub found: String,
}

impl fmt::Display for FieldDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} -> {:?}", self.field, self.expected, self.found)
    }
}

impl Fingerprint {
    /// The string fields in a fixed order (see [`STRING_FIELD_NAMES`]).
    pub fn string_fields(&self) -> [&str; STRING_FIELDS] {
        [
            &self.platform_name,
            &self.platform_vendor,
            &self.platform_version,
            &self.device_name,
            &self.device_vendor,
            &self.device_version,
            &self.driver_version,
            &self.opencl_c_version,
            &self.host_abi,
            &self.driver_library,
        ]
    }

    /// Builds a fingerprint from the string fields (in [`STRING_FIELD_NAMES`] order) and the
    /// address width.
    pub fn from_parts(s: [String; STRING_FIELDS], address_bits: u32) -> Self {
        let [platform_name, platform_vendor, platform_version, device_name, device_vendor, device_version, driver_version, opencl_c_version, host_abi, driver_library] =
            s;
        Fingerprint {
            platform_name,
            platform_vendor,
            platform_version,
            device_name,
            device_vendor,
            device_version,
            driver_version,
            opencl_c_version,
            address_bits,
            host_abi,
            driver_library,
        }
    }

    /// Stable hash of every field; binary entries are looked up by it.
    pub fn hash(&self) -> Hash128 {
        hash_fields(&self.string_fields(), self.address_bits)
    }

    /// Fields where `found` differs from `self` (the expected fingerprint).
    pub fn diff(&self, found: &Fingerprint) -> Vec<FieldDiff> {
        let mut out = Vec::new();
        for ((name, a), b) in STRING_FIELD_NAMES.iter().zip(self.string_fields()).zip(found.string_fields()) {
            if a != b {
                out.push(FieldDiff { field: name, expected: a.to_string(), found: b.to_string() });
            }
        }
        if self.address_bits != found.address_bits {
            out.push(FieldDiff { field: "address_bits", expected: self.address_bits.to_string(), found: found.address_bits.to_string() });
        }
        out
    }

    /// A one-line human description: `device_name (platform_name, driver driver_version)`.
    pub fn describe(&self) -> String {
        format!("{} ({}, driver {})", self.device_name, self.platform_name, self.driver_version)
    }
}

impl FieldDiff {
    /// What the difference means, in a few words: `driver library changed`, `another
    /// process ABI`, or `FIELD changed`.
    pub fn meaning(&self) -> String {
        match self.field {
            "driver_library" => "driver library changed".into(),
            "host_abi" => "built for another process ABI".into(),
            f => format!("{f} changed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprint {
        Fingerprint::from_parts(
            ["p", "pv", "OpenCL 3.0", "dev", "dv", "OpenCL 3.0 dev", "3.1", "OpenCL C 1.2", "x86_64/64", "libpocl.so.2 size=1 build-id=ab"]
                .map(String::from),
            64,
        )
    }

    #[test]
    fn diff_names_each_field() {
        let a = fp();
        let mut b = fp();
        b.driver_version = "3.2".into();
        b.address_bits = 32;
        b.driver_library = "libpocl.so.2 size=2 build-id=ab".into();
        let d = a.diff(&b);
        assert_eq!(d.iter().map(|d| d.field).collect::<Vec<_>>(), ["driver_version", "driver_library", "address_bits"]);
        assert_eq!(d[1].meaning(), "driver library changed");
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), fp().hash());
    }
}
