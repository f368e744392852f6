//! Known answers: a declared launch (`// clbake:launch`) run at bake time on deterministic
//! inputs, with a digest of its outputs, stored next to the binary it ran from. The first
//! time that binary is served on a device, the runtime replays the launch and compares:
//! a checksum proves the bytes are the baked ones, a known answer that the driver still
//! runs them right (a stale binary accepted after a driver update computes garbage).
//!
//! ```text
//! known answer (inside a binary record)      output (× output_count)
//!   u32   record_len                           u32   param (index of the kernel parameter)
//!   str   kernel                               u64   bytes (length of the buffer)
//!   u32   work_dim (1..=3)                     [16]  hash (xxh3-128 of the buffer)
//!   u64×3 global (unused dimensions 1)         u32   sample_len
//!   u64×3 local (all 0: the driver's choice)   u8×sample_len  samples: evenly spaced elements
//!   u32   arg_count
//!   arg × arg_count: u8 kind (0 int, 1 float), u64 value (i64, or f64 bits)
//!   f32   tolerance (0: exact)
//!   u64   seed of the input fill
//!   u32   output_count
//! ```

use crate::hash::Hash128;
use crate::wire::{put_record, record_body, Cursor, FormatError, PutLe};

/// Most outputs one known answer may record.
const MAX_OUTPUTS: u32 = 64;
/// Most bytes of samples one output may carry.
pub const MAX_SAMPLE_BYTES: u32 = 4096;

/// The value of one kernel argument of a known-answer launch, as the launch line gave it:
/// a scalar value, or the element count of a buffer or `__local` array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ArgValue {
    /// An integer.
    Int(i64),
    /// A decimal, for floating-point scalars.
    Float(f64),
}

/// Digest of one output buffer of a known-answer launch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputDigest {
    /// Index of the kernel parameter (a writable `__global` buffer).
    pub param: u32,
    /// Length of the buffer in bytes.
    pub bytes: u64,
    /// xxh3-128 of the whole buffer after the launch.
    pub hash: Hash128,
    /// Evenly spaced elements of the buffer (raw bytes, at most [`MAX_SAMPLE_BYTES`]), for
    /// comparisons within a tolerance.
    pub samples: Vec<u8>,
}

/// One declared launch and what it computed when the binary was baked.
#[derive(Clone, Debug, PartialEq)]
pub struct KnownAnswer {
    /// Kernel name.
    pub kernel: String,
    /// Global work size, 1 to 3 dimensions.
    pub global: Vec<u64>,
    /// Local work size, or `None` for the driver's choice.
    pub local: Option<Vec<u64>>,
    /// One value per kernel parameter.
    pub args: Vec<ArgValue>,
    /// 0: the outputs must be bit-identical (hash); otherwise the samples must agree within
    /// `tolerance` relative to `max(1, |expected|)` (float outputs).
    pub tolerance: f32,
    /// Seed of the deterministic input fill.
    pub seed: u64,
    /// The outputs, one per writable buffer parameter.
    pub outputs: Vec<OutputDigest>,
}

/// `v` padded to three dimensions with 1s, if it has 1 to 3 non-zero sizes.
fn dims(v: &[u64]) -> Option<[u64; 3]> {
    if v.is_empty() || v.len() > 3 || v.contains(&0) {
        return None;
    }
    let mut out = [1; 3];
    out[..v.len()].copy_from_slice(v);
    Some(out)
}

/// Appends known answers (count, then one record each).
///
/// # Panics
/// On a launch that no reader would accept (sizes, too many outputs or samples): a bug of
/// the caller, which builds these from checked launch lines.
pub(crate) fn put_all(out: &mut Vec<u8>, checks: &[KnownAnswer]) {
    out.put_u32(u32::try_from(checks.len()).expect("fewer than 2^32 known answers"));
    for k in checks {
        let global = dims(&k.global).unwrap_or_else(|| panic!("known answer of `{}`: bad global size {:?}", k.kernel, k.global));
        let local = match &k.local {
            None => [0; 3],
            Some(l) if l.len() == k.global.len() => dims(l).unwrap_or_else(|| panic!("bad local size {l:?}")),
            Some(l) => panic!("known answer of `{}`: local {l:?} vs global {:?}", k.kernel, k.global),
        };
        assert!(k.outputs.len() as u32 <= MAX_OUTPUTS, "too many outputs");
        assert!(k.tolerance.is_finite() && k.tolerance >= 0.0, "known answer of `{}`: tolerance {}", k.kernel, k.tolerance);
        let mut r = Vec::new();
        r.put_str(&k.kernel);
        r.put_u32(k.global.len() as u32);
        for x in global.iter().chain(&local) {
            r.put_u64(*x);
        }
        r.put_u32(u32::try_from(k.args.len()).expect("fewer than 2^32 arguments"));
        for a in &k.args {
            match a {
                ArgValue::Int(i) => {
                    r.put_u8(0);
                    r.put_u64(*i as u64);
                }
                ArgValue::Float(f) => {
                    r.put_u8(1);
                    r.put_u64(f.to_bits());
                }
            }
        }
        r.put_u32(k.tolerance.to_bits());
        r.put_u64(k.seed);
        r.put_u32(k.outputs.len() as u32);
        for o in &k.outputs {
            assert!(o.samples.len() as u32 <= MAX_SAMPLE_BYTES, "too many sample bytes");
            r.put_u32(o.param);
            r.put_u64(o.bytes);
            r.put_hash(&o.hash);
            r.put_u32(o.samples.len() as u32);
            r.extend_from_slice(&o.samples);
        }
        put_record(out, &r);
    }
}

fn read_one(c: &mut Cursor<'_>) -> Result<KnownAnswer, FormatError> {
    let w = "known answer";
    let mut r = record_body(c, w)?;
    let kernel = r.str(w)?.to_string();
    let work_dim = r.u32(w)?;
    let mut g = [0u64; 3];
    let mut l = [0u64; 3];
    for x in g.iter_mut().chain(l.iter_mut()) {
        *x = r.u64(w)?;
    }
    let dim = work_dim as usize;
    if !(1..=3).contains(&dim) || g[..dim].contains(&0) {
        return Err(FormatError::corrupted(w, format!("global size {g:?} for work_dim {work_dim}")));
    }
    let local = if l == [0; 3] {
        None
    } else if l[..dim].contains(&0) {
        return Err(FormatError::corrupted(w, format!("local size {l:?}")));
    } else {
        Some(l[..dim].to_vec())
    };
    let arg_count = r.u32(w)?;
    if u64::from(arg_count) * 9 > r.remaining() as u64 {
        return Err(FormatError::TooLarge { what: "argument count", value: arg_count.into(), limit: r.remaining() as u64 / 9 });
    }
    let mut args = Vec::with_capacity(arg_count as usize);
    for _ in 0..arg_count {
        let kind = r.u8(w)?;
        let bits = r.u64(w)?;
        args.push(match kind {
            0 => ArgValue::Int(bits as i64),
            1 => ArgValue::Float(f64::from_bits(bits)),
            k => return Err(FormatError::corrupted(w, format!("argument kind {k}"))),
        });
    }
    let tolerance = f32::from_bits(r.u32(w)?);
    if !(tolerance.is_finite() && tolerance >= 0.0) {
        return Err(FormatError::corrupted(w, format!("tolerance {tolerance}")));
    }
    let seed = r.u64(w)?;
    let count = r.u32(w)?;
    if count > MAX_OUTPUTS {
        return Err(FormatError::TooLarge { what: "output count", value: count.into(), limit: MAX_OUTPUTS.into() });
    }
    let mut outputs = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let param = r.u32(w)?;
        let bytes = r.u64(w)?;
        let hash = r.hash(w)?;
        let n = r.u32(w)?;
        if n > MAX_SAMPLE_BYTES {
            return Err(FormatError::TooLarge { what: "sample bytes", value: n.into(), limit: MAX_SAMPLE_BYTES.into() });
        }
        let samples = r.take(n as usize, w)?.to_vec();
        outputs.push(OutputDigest { param, bytes, hash, samples });
    }
    r.finish(w)?;
    Ok(KnownAnswer { kernel, global: g[..dim].to_vec(), local, args, tolerance, seed, outputs })
}

/// Reads known answers written by [`put_all`] from `c`.
pub(crate) fn read_all(c: &mut Cursor<'_>) -> Result<Vec<KnownAnswer>, FormatError> {
    let count = c.u32("known answers")?;
    if u64::from(count) * 4 > c.remaining() as u64 {
        return Err(FormatError::TooLarge { what: "known answer count", value: count.into(), limit: c.remaining() as u64 / 4 });
    }
    (0..count).map(|_| read_one(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KnownAnswer {
        KnownAnswer {
            kernel: "conv".into(),
            global: vec![8, 8, 16],
            local: Some(vec![8, 8, 1]),
            args: vec![ArgValue::Int(64), ArgValue::Float(0.5), ArgValue::Int(-3)],
            tolerance: 1e-4,
            seed: 42,
            outputs: vec![OutputDigest { param: 3, bytes: 256, hash: Hash128([5; 16]), samples: vec![1, 2, 3, 4] }],
        }
    }

    #[test]
    fn round_trip() {
        let all = vec![sample(), KnownAnswer { local: None, tolerance: 0.0, outputs: vec![], ..sample() }];
        let mut v = Vec::new();
        put_all(&mut v, &all);
        let mut c = Cursor::new(&v, 0);
        assert_eq!(read_all(&mut c).unwrap(), all);
        c.finish("t").unwrap();
    }

    #[test]
    fn damage_never_panics() {
        let mut v = Vec::new();
        put_all(&mut v, &[sample()]);
        for at in 0..v.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut bad = v.clone();
                bad[at] ^= flip;
                let _ = read_all(&mut Cursor::new(&bad, 0));
            }
            assert!(read_all(&mut Cursor::new(&v[..at], 0)).is_err(), "truncated at {at}");
        }
    }
}
