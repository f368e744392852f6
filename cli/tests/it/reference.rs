//! Plain-Rust CPU reference implementations of every op in `kernels/`.
//!
//! These are the ground truth the OpenCL kernels are tested against
//! (`tests/it/kernels.rs`), and what the demo model runner and other tests
//! compare device output with. They use std only, so any crate or test can
//! pull this file in with `#[path = ".../tests/it/reference.rs"] mod reference;`.
//!
//! Conventions (the same as the kernels'): float32, NCHW, batch outermost,
//! contiguous, row-major matrices. Accumulation is in `f32` in the same
//! order as the kernels (bias first, then input channels, then rows, then
//! columns), so differences to a device are rounding only.
//!
//! Every function panics when a slice is shorter than its shape says.
#![allow(dead_code)]

/// Activation fused into a kernel, with the value of the kernels' `ACT` define.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// `ACT=0`: identity.
    None,
    /// `ACT=1`: `max(x, 0)`.
    Relu,
    /// `ACT=2`: `min(max(x, 0), 6)`.
    Relu6,
    /// `ACT=3`: `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `ACT=4`: `tanh(x)`.
    Tanh,
}

impl Act {
    /// All activations, in `ACT` order.
    pub const ALL: [Act; 5] = [Act::None, Act::Relu, Act::Relu6, Act::Sigmoid, Act::Tanh];

    /// The value of the `ACT` define that selects this activation.
    pub fn define(self) -> i32 {
        match self {
            Act::None => 0,
            Act::Relu => 1,
            Act::Relu6 => 2,
            Act::Sigmoid => 3,
            Act::Tanh => 4,
        }
    }

    /// The activation selected by `ACT=value`, if `value` is one of 0..=4.
    pub fn from_define(value: i32) -> Option<Act> {
        Act::ALL.iter().copied().find(|a| a.define() == value)
    }

    /// Applies the activation to one value. NaN goes through relu/relu6 as 0,
    /// like OpenCL's `fmax`.
    #[allow(clippy::manual_clamp)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Act::None => x,
            Act::Relu => x.max(0.0),
            Act::Relu6 => x.max(0.0).min(6.0),
            Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Act::Tanh => x.tanh(),
        }
    }
}

/// Output size of a padded convolution along one axis:
/// `(input + 2*pad - kernel) / stride + 1`. Panics if the kernel does not fit.
pub fn conv_out_size(input: usize, kernel: usize, stride: usize, pad: usize) -> usize {
    assert!(stride > 0, "stride must be positive");
    assert!(input + 2 * pad >= kernel, "kernel {kernel} larger than padded input {input}+2*{pad}");
    (input + 2 * pad - kernel) / stride + 1
}

/// Output size of an unpadded pooling along one axis: `(input - k) / stride + 1`.
pub fn pool_out_size(input: usize, k: usize, stride: usize) -> usize {
    conv_out_size(input, k, stride, 0)
}

/// Shape of a 2-D convolution (the integer arguments of the `conv2d` kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dShape {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2dShape {
    /// Output height.
    pub fn h_out(&self) -> usize {
        conv_out_size(self.h, self.kh, self.stride, self.pad)
    }
    /// Output width.
    pub fn w_out(&self) -> usize {
        conv_out_size(self.w, self.kw, self.stride, self.pad)
    }
    /// Elements of the input `[n, c_in, h, w]`.
    pub fn input_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    /// Elements of the weights `[c_out, c_in, kh, kw]`.
    pub fn weight_len(&self) -> usize {
        self.c_out * self.c_in * self.kh * self.kw
    }
    /// Elements of the output `[n, c_out, h_out, w_out]`.
    pub fn output_len(&self) -> usize {
        self.n * self.c_out * self.h_out() * self.w_out()
    }
}

/// 2-D convolution (cross-correlation) with zero padding, bias and activation.
///
/// `input` is `[n, c_in, h, w]`, `weight` `[c_out, c_in, kh, kw]`, `bias`
/// `[c_out]`; returns `[n, c_out, h_out, w_out]`. Same op as the `conv2d` and
/// `conv2d_3x3` kernels.
pub fn conv2d(input: &[f32], weight: &[f32], bias: &[f32], s: &Conv2dShape, act: Act) -> Vec<f32> {
    assert!(input.len() >= s.input_len(), "conv2d: input too short");
    assert!(weight.len() >= s.weight_len(), "conv2d: weight too short");
    assert!(bias.len() >= s.c_out, "conv2d: bias too short");
    let (ho, wo) = (s.h_out(), s.w_out());
    let mut out = vec![0.0f32; s.output_len()];
    for n in 0..s.n {
        for co in 0..s.c_out {
            for y in 0..ho {
                for x in 0..wo {
                    let mut acc = bias[co];
                    for ci in 0..s.c_in {
                        for ky in 0..s.kh {
                            let iy = (y * s.stride + ky) as isize - s.pad as isize;
                            if iy < 0 || iy >= s.h as isize {
                                continue;
                            }
                            for kx in 0..s.kw {
                                let ix = (x * s.stride + kx) as isize - s.pad as isize;
                                if ix < 0 || ix >= s.w as isize {
                                    continue;
                                }
                                let i = ((n * s.c_in + ci) * s.h + iy as usize) * s.w + ix as usize;
                                let k = ((co * s.c_in + ci) * s.kh + ky) * s.kw + kx;
                                acc += input[i] * weight[k];
                            }
                        }
                    }
                    out[((n * s.c_out + co) * ho + y) * wo + x] = act.apply(acc);
                }
            }
        }
    }
    out
}

/// Shape of a depthwise convolution (the integer arguments of `depthwise_conv2d`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthwiseShape {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl DepthwiseShape {
    /// Output height.
    pub fn h_out(&self) -> usize {
        conv_out_size(self.h, self.kh, self.stride, self.pad)
    }
    /// Output width.
    pub fn w_out(&self) -> usize {
        conv_out_size(self.w, self.kw, self.stride, self.pad)
    }
    /// The equivalent grouped convolution seen channel by channel.
    fn as_single_channel(&self) -> Conv2dShape {
        Conv2dShape { n: 1, c_in: 1, h: self.h, w: self.w, c_out: 1, kh: self.kh, kw: self.kw, stride: self.stride, pad: self.pad }
    }
}

/// Depthwise convolution (channel multiplier 1), zero padding, bias, activation.
///
/// `input` is `[n, c, h, w]`, `weight` `[c, 1, kh, kw]`, `bias` `[c]`;
/// returns `[n, c, h_out, w_out]`. Same op as the `depthwise_conv2d` kernel.
pub fn depthwise_conv2d(input: &[f32], weight: &[f32], bias: &[f32], s: &DepthwiseShape, act: Act) -> Vec<f32> {
    let plane = s.h * s.w;
    let taps = s.kh * s.kw;
    assert!(input.len() >= s.n * s.c * plane, "depthwise_conv2d: input too short");
    assert!(weight.len() >= s.c * taps, "depthwise_conv2d: weight too short");
    assert!(bias.len() >= s.c, "depthwise_conv2d: bias too short");
    let one = s.as_single_channel();
    let mut out = Vec::with_capacity(s.n * s.c * s.h_out() * s.w_out());
    for n in 0..s.n {
        for c in 0..s.c {
            let z = n * s.c + c;
            out.extend(conv2d(&input[z * plane..(z + 1) * plane], &weight[c * taps..(c + 1) * taps], &bias[c..c + 1], &one, act));
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn pool2d(input: &[f32], nc: usize, h: usize, w: usize, k: usize, stride: usize, init: f32, f: impl Fn(f32, f32) -> f32) -> Vec<f32> {
    assert!(input.len() >= nc * h * w, "pool2d: input too short");
    let (ho, wo) = (pool_out_size(h, k, stride), pool_out_size(w, k, stride));
    let mut out = vec![0.0f32; nc * ho * wo];
    for z in 0..nc {
        for y in 0..ho {
            for x in 0..wo {
                let mut acc = init;
                for ky in 0..k {
                    for kx in 0..k {
                        acc = f(acc, input[(z * h + y * stride + ky) * w + x * stride + kx]);
                    }
                }
                out[(z * ho + y) * wo + x] = acc;
            }
        }
    }
    out
}

/// Max pooling over `k x k` windows, no padding. `input` is `[nc, h, w]`
/// (batch and channels folded); returns `[nc, h_out, w_out]`.
pub fn max_pool2d(input: &[f32], nc: usize, h: usize, w: usize, k: usize, stride: usize) -> Vec<f32> {
    pool2d(input, nc, h, w, k, stride, f32::NEG_INFINITY, f32::max)
}

/// Average pooling over `k x k` windows, no padding, divisor always `k*k`.
/// `input` is `[nc, h, w]`; returns `[nc, h_out, w_out]`.
pub fn avg_pool2d(input: &[f32], nc: usize, h: usize, w: usize, k: usize, stride: usize) -> Vec<f32> {
    let div = (k * k) as f32;
    pool2d(input, nc, h, w, k, stride, 0.0, |a, b| a + b).into_iter().map(|s| s / div).collect()
}

/// Applies `act` to every element (the `activation.cl` kernels and every fused `ACT`).
pub fn activation(x: &[f32], act: Act) -> Vec<f32> {
    x.iter().map(|&v| act.apply(v)).collect()
}

/// `max(x, 0)` element-wise (kernel `relu`).
pub fn relu(x: &[f32]) -> Vec<f32> {
    activation(x, Act::Relu)
}

/// `min(max(x, 0), 6)` element-wise (kernel `relu6`).
pub fn relu6(x: &[f32]) -> Vec<f32> {
    activation(x, Act::Relu6)
}

/// `1 / (1 + exp(-x))` element-wise (kernel `sigmoid_act`).
pub fn sigmoid(x: &[f32]) -> Vec<f32> {
    activation(x, Act::Sigmoid)
}

/// `tanh(x)` element-wise (kernel `tanh_act`).
pub fn tanh(x: &[f32]) -> Vec<f32> {
    activation(x, Act::Tanh)
}

/// Per-channel bias on an NCHW tensor: `y[i] = x[i] + bias[(i / spatial) % c]`,
/// `spatial = h*w` (kernel `bias_add`).
pub fn bias_add(x: &[f32], bias: &[f32], c: usize, spatial: usize) -> Vec<f32> {
    assert!(bias.len() >= c, "bias_add: bias too short");
    x.iter().enumerate().map(|(i, &v)| v + bias[(i / spatial) % c]).collect()
}

/// `a[i] + b[i]` (kernel `eltwise_add`).
pub fn eltwise_add(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "eltwise_add: length mismatch");
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// `a[i] * b[i]` (kernel `eltwise_mul`).
pub fn eltwise_mul(a: &[f32], b: &[f32]) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "eltwise_mul: length mismatch");
    a.iter().zip(b).map(|(x, y)| x * y).collect()
}

/// `C[m x n] = A[m x k] * B[k x n]`, row-major (kernels `gemm_naive`, `gemm_tiled`).
pub fn gemm(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    assert!(a.len() >= m * k && b.len() >= k * n, "gemm: operand too short");
    let mut c = vec![0.0f32; m * n];
    for row in 0..m {
        for col in 0..n {
            let mut acc = 0.0f32;
            for i in 0..k {
                acc += a[row * k + i] * b[i * n + col];
            }
            c[row * n + col] = acc;
        }
    }
    c
}

/// Fully connected layer: `y[i, j] = act(bias[j] + sum_k x[i, k] * w[j, k])`.
///
/// `x` is `[n, k]`, `w` `[m, k]` (out x in, PyTorch `nn.Linear` layout),
/// `bias` `[m]`; returns `[n, m]` (kernel `dense`).
pub fn dense(x: &[f32], w: &[f32], bias: &[f32], n: usize, k: usize, m: usize, act: Act) -> Vec<f32> {
    assert!(x.len() >= n * k && w.len() >= m * k && bias.len() >= m, "dense: operand too short");
    let mut y = vec![0.0f32; n * m];
    for i in 0..n {
        for j in 0..m {
            let mut acc = 0.0f32;
            for t in 0..k {
                acc += x[i * k + t] * w[j * k + t];
            }
            y[i * m + j] = act.apply(acc + bias[j]);
        }
    }
    y
}

/// Numerically stable row-wise softmax of a `[rows, cols]` matrix (kernel `softmax`).
pub fn softmax(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    assert!(x.len() >= rows * cols, "softmax: input too short");
    let mut y = vec![0.0f32; rows * cols];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (j, &v) in row.iter().enumerate() {
            let e = (v - max).exp();
            y[r * cols + j] = e;
            sum += e;
        }
        for v in &mut y[r * cols..(r + 1) * cols] {
            *v /= sum;
        }
    }
    y
}

/// The first element where `got` and `want` differ by more than
/// `tol * max(1, |want|)` (i.e. `tol` absolute near zero, relative above 1),
/// as `(index, got, want)`. NaN never matches; a length difference is reported
/// at the index of the shorter length. `None` when they agree.
pub fn first_mismatch(got: &[f32], want: &[f32], tol: f32) -> Option<(usize, f32, f32)> {
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= tol * w.abs().max(1.0);
        if !ok {
            return Some((i, g, w));
        }
    }
    if got.len() != want.len() {
        let i = got.len().min(want.len());
        return Some((i, got.get(i).copied().unwrap_or(f32::NAN), want.get(i).copied().unwrap_or(f32::NAN)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv2d_hand_computed() {
        // 1x1x3x3 input, one 2x2 filter of ones, pad 1, stride 2 -> 2x2 output
        // windows (top-left corners at -1,-1 / -1,1 / 1,-1 / 1,1).
        let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let s = Conv2dShape { n: 1, c_in: 1, h: 3, w: 3, c_out: 1, kh: 2, kw: 2, stride: 2, pad: 1 };
        let out = conv2d(&input, &[1.0; 4], &[0.5], &s, Act::None);
        assert_eq!((s.h_out(), s.w_out()), (2, 2));
        assert_eq!(out, vec![1.5, 5.5, 11.5, 28.5]);
        let out = conv2d(&input, &[-1.0; 4], &[0.5], &s, Act::Relu);
        assert_eq!(out, vec![0.0; 4]);
    }

    #[test]
    fn small_ops_hand_computed() {
        assert_eq!(max_pool2d(&[1.0, 5.0, 3.0, 2.0], 1, 2, 2, 2, 2), vec![5.0]);
        assert_eq!(avg_pool2d(&[1.0, 5.0, 3.0, 3.0], 1, 2, 2, 2, 1), vec![3.0]);
        assert_eq!(gemm(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2, 2, 2), vec![19.0, 22.0, 43.0, 50.0]);
        assert_eq!(dense(&[1.0, 2.0], &[3.0, 4.0, -5.0, 0.0], &[1.0, 1.0], 1, 2, 2, Act::Relu), vec![12.0, 0.0]);
        assert_eq!(bias_add(&[0.0; 4], &[1.0, 2.0], 2, 2), vec![1.0, 1.0, 2.0, 2.0]);
        assert_eq!(relu6(&[-1.0, 3.0, 9.0]), vec![0.0, 3.0, 6.0]);
        let s = softmax(&[1000.0, 1000.0, 0.0, 0.0], 2, 2);
        assert_eq!(s, vec![0.5; 4]);
        assert!(first_mismatch(&[1.0, 2.0], &[1.0, 2.00001], 1e-4).is_none());
        assert_eq!(first_mismatch(&[1.0, 2.1], &[1.0, 2.0], 1e-4).map(|m| m.0), Some(1));
        assert!(first_mismatch(&[f32::NAN], &[f32::NAN], 1e-4).is_some());
        assert!(first_mismatch(&[1.0], &[1.0, 2.0], 1e-4).is_some());
    }
}
