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
}

/// Names of the string fields, in the order of [`Fingerprint::string_fields`].
pub const STRING_FIELD_NAMES: [&str; 8] = [
    "platform_name",
    "platform_vendor",
    "platform_version",
    "device_name",
    "device_vendor",
    "device_version",
    "driver_version",
    "opencl_c_version",
];

/// The fingerprint hash over borrowed fields (in [`STRING_FIELD_NAMES`] order), so readers
/// can check a stored fingerprint without allocating it.
pub fn hash_fields(fields: &[&str; 8], address_bits: u32) -> Hash128 {
    let mut parts: [&[u8]; 10] = [b"clbake-fingerprint"; 10];
    for (slot, f) in parts[1..9].iter_mut().zip(fields) {
        *slot = f.as_bytes();
    }
    let bits = address_bits.to_le_bytes();
    parts[9] = &bits;
    Hash128::of_parts(&parts)
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
    /// The eight string fields in a fixed order (see [`STRING_FIELD_NAMES`]).
    pub fn string_fields(&self) -> [&str; 8] {
        [
            &self.platform_name,
            &self.platform_vendor,
            &self.platform_version,
            &self.device_name,
            &self.device_vendor,
            &self.device_version,
            &self.driver_version,
            &self.opencl_c_version,
        ]
    }

    /// Builds a fingerprint from the eight string fields (in [`STRING_FIELD_NAMES`] order)
    /// and the address width.
    pub fn from_parts(s: [String; 8], address_bits: u32) -> Self {
        let [platform_name, platform_vendor, platform_version, device_name, device_vendor, device_version, driver_version, opencl_c_version] =
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
            out.push(FieldDiff {
                field: "address_bits",
                expected: self.address_bits.to_string(),
                found: found.address_bits.to_string(),
            });
        }
        out
    }

    /// A one-line human description: `device_name (platform_name, driver driver_version)`.
    pub fn describe(&self) -> String {
        format!("{} ({}, driver {})", self.device_name, self.platform_name, self.driver_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprint {
        Fingerprint::from_parts(
            ["p", "pv", "OpenCL 3.0", "dev", "dv", "OpenCL 3.0 dev", "3.1", "OpenCL C 1.2"].map(String::from),
            64,
        )
    }

    #[test]
    fn diff_names_each_field() {
        let a = fp();
        let mut b = fp();
        b.driver_version = "3.2".into();
        b.address_bits = 32;
        let d = a.diff(&b);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].field, "driver_version");
        assert_eq!(d[1].field, "address_bits");
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), fp().hash());
    }
}
