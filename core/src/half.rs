//! OpenCL `half` values: the type typed kernel calls pass for `half` parameters, and what
//! declared launch shapes (`// clbake:tune`, `// clbake:launch`) convert decimals to.

/// An OpenCL `half` (IEEE 754 binary16), stored as its bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Half(pub u16);

impl Half {
    /// The half with these bits.
    pub const fn from_bits(bits: u16) -> Self {
        Half(bits)
    }

    /// The bits.
    pub const fn to_bits(self) -> u16 {
        self.0
    }

    /// Converts an `f32`, rounding to nearest even; out-of-range values become infinity.
    pub fn from_f32(x: f32) -> Self {
        let b = x.to_bits();
        let sign = ((b >> 16) & 0x8000) as u16;
        let exp = ((b >> 23) & 0xff) as i32;
        let man = b & 0x7f_ffff;
        if exp == 0xff {
            return Half(sign | 0x7c00 | if man != 0 { 0x200 } else { 0 });
        }
        let e = exp - 127 + 15;
        if e >= 0x1f {
            return Half(sign | 0x7c00);
        }
        if e <= 0 {
            if e < -10 {
                return Half(sign);
            }
            let m = man | 0x80_0000;
            let shift = (14 - e) as u32;
            let half = 1u32 << (shift - 1);
            let rest = m & ((1 << shift) - 1);
            let mut out = m >> shift;
            if rest > half || (rest == half && out & 1 == 1) {
                out += 1;
            }
            return Half(sign | out as u16);
        }
        let mut out = ((e as u32) << 10) | (man >> 13);
        let rest = man & 0x1fff;
        if rest > 0x1000 || (rest == 0x1000 && out & 1 == 1) {
            out += 1; // may carry into the exponent, which is the correct rounding
        }
        Half(sign | out as u16)
    }

    /// Converts to `f32` (exactly).
    pub fn to_f32(self) -> f32 {
        let h = u32::from(self.0);
        let sign = (h & 0x8000) << 16;
        let exp = (h >> 10) & 0x1f;
        let man = h & 0x3ff;
        let bits = match (exp, man) {
            (0, 0) => sign,
            (0, m) => {
                // Subnormal: normalise.
                // Shift the leading 1 to bit 10 (the implicit bit): m << s = 1.f * 2^10.
                let s = m.leading_zeros() - 21;
                sign | ((113 - s) << 23) | (((m << s) & 0x3ff) << 13)
            }
            (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
            (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
        };
        f32::from_bits(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_round_trips_and_rounds_to_nearest_even() {
        for (f, bits) in [(0.0f32, 0x0000u16), (1.0, 0x3c00), (-2.0, 0xc000), (65504.0, 0x7bff), (0.5, 0x3800), (6.1035156e-5, 0x0400), (5.9604645e-8, 0x0001)] {
            assert_eq!(Half::from_f32(f).to_bits(), bits, "{f}");
            assert_eq!(Half::from_bits(bits).to_f32(), f, "{bits:#x}");
        }
        assert_eq!(Half::from_f32(1e6).to_bits(), 0x7c00);
        assert_eq!(Half::from_f32(f32::NEG_INFINITY).to_bits(), 0xfc00);
        assert!(Half::from_f32(f32::NAN).to_f32().is_nan());
        assert_eq!(Half::from_f32(1.0 + 1.0 / 2048.0).to_bits(), 0x3c00, "tie rounds to even");
        assert_eq!(Half::from_f32(1.0 + 3.0 / 2048.0).to_bits(), 0x3c02, "tie rounds to even");
        assert_eq!(Half::from_f32(1e-9).to_bits(), 0);
        // Every half converts to f32 and back unchanged.
        for bits in 0..=u16::MAX {
            let h = Half::from_bits(bits);
            if !h.to_f32().is_nan() {
                assert_eq!(Half::from_f32(h.to_f32()), h, "{bits:#x}");
            }
        }
    }
}
