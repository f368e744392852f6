//! Known answers: what a declared launch computes, recorded at bake time and replayed by
//! the runtime the first time a binary is served on a device (see
//! [`crate::format::KnownAnswer`]). Both sides fill the arguments with
//! [`set_shape_args`] and digest the outputs here, so they can only disagree when the driver
//! runs the binary differently.

use super::args::set_shape_args;
use super::ClError;
use crate::clc::directives::TuneValue;
use crate::clc::{classify, ParamInfo, ParamType, ScalarKind, ValueType};
use crate::format::{ArgValue, KnownAnswer, OutputDigest, MAX_SAMPLE_BYTES};
use crate::hash::Hash128;
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::kernel::Kernel;

/// The element type of buffer parameter `param` of `params`, if it is a buffer.
fn elem_of(params: &[ParamInfo], param: u32) -> Option<ValueType> {
    match classify(params.get(param as usize)?) {
        Ok(ParamType::Pointer { elem, .. }) => Some(elem),
        _ => None,
    }
}

/// Evenly spaced elements of `bytes` (elements of `elem_size` bytes), at most
/// [`MAX_SAMPLE_BYTES`] of them in all.
fn samples(bytes: &[u8], elem_size: usize) -> Vec<u8> {
    let elem_size = elem_size.max(1);
    let n = bytes.len() / elem_size;
    let max = (MAX_SAMPLE_BYTES as usize / elem_size).max(1);
    let stride = n.div_ceil(max).max(1);
    (0..n).step_by(stride).take(max).flat_map(|i| bytes[i * elem_size..(i + 1) * elem_size].iter().copied()).collect()
}

/// Digests the outputs of a launch: hash of each buffer and evenly spaced samples.
pub fn digest(params: &[ParamInfo], outputs: &[(u32, Vec<u8>)]) -> Vec<OutputDigest> {
    outputs
        .iter()
        .map(|(param, bytes)| {
            let size = elem_of(params, *param).map_or(1, |e| e.scalar.size());
            OutputDigest { param: *param, bytes: bytes.len() as u64, hash: Hash128::of(bytes), samples: samples(bytes, size) }
        })
        .collect()
}

/// Scalar values of `bytes` as f64, for comparisons within a tolerance.
fn as_floats(scalar: ScalarKind, bytes: &[u8]) -> Vec<f64> {
    match scalar {
        ScalarKind::Float => bytes.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        ScalarKind::Double => bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default())).collect(),
        ScalarKind::Half => bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f64()).collect(),
        _ => Vec::new(),
    }
}

/// Compares the outputs of a replay with the recorded answer; `Err` says what differs.
pub fn compare(expected: &KnownAnswer, params: &[ParamInfo], outputs: &[(u32, Vec<u8>)]) -> Result<(), String> {
    for want in &expected.outputs {
        let Some((_, got)) = outputs.iter().find(|(p, _)| *p == want.param) else {
            return Err(format!("output {} was not produced", want.param));
        };
        let name = params.get(want.param as usize).map_or("?", |p| p.name.as_str());
        if got.len() as u64 != want.bytes {
            return Err(format!("`{name}` has {} bytes, {} recorded", got.len(), want.bytes));
        }
        if Hash128::of(got) == want.hash {
            continue;
        }
        let elem = elem_of(params, want.param);
        let tolerant = expected.tolerance > 0.0 && elem.is_some_and(|e| e.scalar.is_float());
        if !tolerant {
            return Err(format!("`{name}` differs from the recorded result (bit for bit)"));
        }
        let scalar = elem.map_or(ScalarKind::Float, |e| e.scalar);
        let size = scalar.size();
        let mine = as_floats(scalar, &samples(got, size));
        let theirs = as_floats(scalar, &want.samples);
        let tol = f64::from(expected.tolerance);
        if let Some((i, (a, b))) = mine
            .iter()
            .zip(&theirs)
            .enumerate()
            .find(|(_, (a, b))| !(a == b || (a.is_nan() && b.is_nan()) || (*a - *b).abs() <= tol * b.abs().max(1.0)))
        {
            return Err(format!("`{name}` sample {i}: {a} where {b} was recorded (tolerance {tol})"));
        }
    }
    Ok(())
}

/// Converts launch-line values to stored argument values.
pub fn arg_values(values: &[TuneValue]) -> Vec<ArgValue> {
    values
        .iter()
        .map(|v| match v {
            TuneValue::Int(i) => ArgValue::Int(*i),
            TuneValue::Float(f) => ArgValue::Float(*f),
        })
        .collect()
}

/// Runs `kernel` once as `answer` describes, on `queue`, and returns its outputs.
pub fn run(
    context: &Context,
    queue: &CommandQueue,
    kernel: &Kernel,
    params: &[ParamInfo],
    answer: &KnownAnswer,
) -> Result<Vec<(u32, Vec<u8>)>, ClError> {
    let values: Vec<TuneValue> = answer
        .args
        .iter()
        .map(|a| match a {
            ArgValue::Int(i) => TuneValue::Int(*i),
            ArgValue::Float(f) => TuneValue::Float(*f),
        })
        .collect();
    if values.len() != params.len() {
        return Err(ClError::Api { call: "clSetKernelArg", code: opencl3::error_codes::CL_INVALID_KERNEL_ARGS });
    }
    let args = set_shape_args(context, kernel, params, &values, answer.seed)?;
    let global: Vec<usize> = answer.global.iter().map(|&g| g as usize).collect();
    let local: Option<Vec<usize>> = answer.local.as_ref().map(|l| l.iter().map(|&x| x as usize).collect());
    super::enqueue(queue, kernel, &global, local.as_deref())?;
    queue.finish().map_err(ClError::api("clFinish"))?;
    args.outputs(queue)
}

/// Replays `answer` with `kernel` and compares: `Ok(Ok(()))` when the device computes what
/// was recorded, `Ok(Err(difference))` when it does not, `Err` when the launch itself failed.
pub fn replay(
    context: &Context,
    queue: &CommandQueue,
    kernel: &Kernel,
    params: &[ParamInfo],
    answer: &KnownAnswer,
) -> Result<Result<(), String>, ClError> {
    let outputs = run(context, queue, kernel, params, answer)?;
    Ok(compare(answer, params, &outputs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clc::{AccessQualifier, AddressQualifier, TypeQualifiers};

    fn out_param() -> Vec<ParamInfo> {
        vec![ParamInfo {
            name: "y".into(),
            address: AddressQualifier::Global,
            access: AccessQualifier::None,
            type_name: "float*".into(),
            type_qualifiers: TypeQualifiers(0),
        }]
    }

    fn floats(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn exact_and_tolerant_comparisons() {
        let params = out_param();
        let recorded = floats(&[1.0, 2.0, 3.0]);
        let answer = |tolerance| KnownAnswer {
            kernel: "k".into(),
            global: vec![3],
            local: None,
            args: vec![ArgValue::Int(3)],
            tolerance,
            seed: 1,
            outputs: digest(&params, &[(0, recorded.clone())]),
        };
        assert_eq!(compare(&answer(0.0), &params, &[(0, recorded.clone())]), Ok(()));
        let near = floats(&[1.0, 2.000_001, 3.0]);
        assert!(compare(&answer(0.0), &params, &[(0, near.clone())]).unwrap_err().contains("bit for bit"));
        assert_eq!(compare(&answer(1e-5), &params, &[(0, near)]), Ok(()));
        let far = floats(&[1.0, 6.0, 3.0]);
        assert!(compare(&answer(1e-5), &params, &[(0, far)]).unwrap_err().contains("sample 1: 6 where 2 was recorded"));
        assert!(compare(&answer(0.0), &params, &[(0, floats(&[1.0]))]).unwrap_err().contains("bytes"));
        assert!(compare(&answer(0.0), &params, &[]).unwrap_err().contains("not produced"));
    }

    #[test]
    fn samples_are_bounded_and_spread() {
        let big: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let s = samples(&big, 4);
        assert!(s.len() <= MAX_SAMPLE_BYTES as usize && s.len() >= MAX_SAMPLE_BYTES as usize / 2);
        let last = u32::from_le_bytes(s[s.len() - 4..].try_into().unwrap());
        assert!(last > 90_000, "samples reach the end of the buffer: {last}");
        assert_eq!(samples(&[1, 2, 3], 4), Vec::<u8>::new());
    }
}
