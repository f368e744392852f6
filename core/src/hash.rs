//! 128-bit content hashes (xxh3-128) used for checksums, source hashes and keys.

use std::fmt;

/// A 128-bit xxh3 hash, stored little-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash128(pub [u8; 16]);

impl Hash128 {
    /// Hashes `bytes` with xxh3-128.
    pub fn of(bytes: &[u8]) -> Self {
        Hash128(xxhash_rust::xxh3::xxh3_128(bytes).to_le_bytes())
    }

    /// Hashes several byte strings as one, each prefixed with its length so that
    /// `["ab", "c"]` and `["a", "bc"]` differ.
    pub fn of_parts(parts: &[&[u8]]) -> Self {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for p in parts {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        Hash128(h.digest128().to_le_bytes())
    }

    /// Lower-case hexadecimal form (32 characters).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Short hexadecimal prefix (8 characters) for logs and file names.
    pub fn short(&self) -> String {
        self.to_hex()[..8].to_string()
    }
}

impl fmt::Debug for Hash128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash128({})", self.to_hex())
    }
}

impl fmt::Display for Hash128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The key that ties a compiled binary to the exact program it was built from: clbake's
/// format major version, the program name, its build options and the hash of its token
/// stream ([`token_hash`](crate::clc::key::token_hash): comments, blank lines and
/// indentation do not count; `// clbake:` lines do). A binary whose key differs is stale.
pub fn program_key(name: &str, options: &str, token_hash: &Hash128) -> Hash128 {
    let version = crate::format::FORMAT_MAJOR.to_le_bytes();
    Hash128::of_parts(&[b"clbake-program", &version, name.as_bytes(), options.as_bytes(), &token_hash.0])
}

/// [`program_key`] of a program given its expanded source.
pub fn program_key_of_source(name: &str, options: &str, source: &str) -> Hash128 {
    program_key(name, options, &crate::clc::key::token_hash(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_length_prefixed() {
        assert_ne!(Hash128::of_parts(&[b"ab", b"c"]), Hash128::of_parts(&[b"a", b"bc"]));
    }

    #[test]
    fn hex_is_32_chars() {
        assert_eq!(Hash128::of(b"x").to_hex().len(), 32);
    }
}
