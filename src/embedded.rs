//! A bundle embedded in the executable.

use clbake_core::format::{Bundle, FormatError};

/// Bytes of a `.clbk` bundle compiled into the executable by [`include_kernels!`](crate::include_kernels).
#[derive(Clone, Copy, Debug)]
pub struct Embedded {
    bytes: &'static [u8],
}

impl Embedded {
    /// Wraps embedded bundle bytes.
    pub const fn new(bytes: &'static [u8]) -> Self {
        Embedded { bytes }
    }

    /// Wraps bundle bytes read at run time (leaked: they live as long as the process).
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Embedded { bytes: Box::leak(bytes.into_boxed_slice()) }
    }

    /// The raw bundle bytes.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// Parses (and validates) the bundle's header and tables; decompresses nothing.
    pub fn parse(&self) -> Result<Bundle<'static>, FormatError> {
        Bundle::parse(self.bytes)
    }
}
