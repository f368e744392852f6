//! The model of the typed API: programs grouped by kernel file (stem), each group with its
//! build variants, and every kernel's parameters as the bundle recorded them.

use clbake_core::clc::{classify, ParamType};
use clbake_core::format::{KernelRecord, ProgramEntry};

/// One program of the bundle, as the macro sees it.
#[derive(Clone, Debug)]
pub(crate) struct ProgramModel {
    /// Program name.
    pub name: String,
    /// The kernel file's relative path without `.cl`.
    pub stem: String,
    /// Build variant, empty when none.
    pub variant: String,
    /// Build options.
    pub options: String,
    /// Kernels in the bundle's order.
    pub kernels: Vec<KernelRecord>,
}

impl ProgramModel {
    pub(crate) fn from_entry(p: &ProgramEntry<'_>) -> Self {
        ProgramModel {
            name: p.name.to_string(),
            stem: p.stem.to_string(),
            variant: p.variant.to_string(),
            options: p.options.to_string(),
            kernels: p.kernels.iter().map(|k| k.to_record()).collect(),
        }
    }
}

/// Programs built from one kernel file.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// File stem (`conv2d` for `conv2d.cl`, `nchw/pool` for `nchw/pool.cl`).
    pub stem: String,
    /// (variant name, program index); the variant is `None` for a file without variants.
    pub members: Vec<(Option<String>, usize)>,
    /// Kernels of the first member.
    pub kernels: Vec<KernelRecord>,
    /// All members have the same kernels with the same Rust-level argument types, so one
    /// handle type serves them all and a variant enum selects among them.
    pub uniform: bool,
}

/// What decides whether two variants can share a handle: each kernel's name, index and
/// argument types (or why it has none).
fn type_key(p: &ProgramModel) -> Vec<(String, Result<Vec<ParamType>, String>)> {
    p.kernels
        .iter()
        .map(|k| {
            let types = match k.why_untyped() {
                Some((_, why)) => Err(why),
                None => k.params.iter().map(classify).collect::<Result<Vec<_>, _>>(),
            };
            (k.name.clone(), types)
        })
        .collect()
}

/// Groups `programs` by stem, in order of first appearance.
pub(crate) fn group(programs: &[ProgramModel]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, p) in programs.iter().enumerate() {
        let variant = (!p.variant.is_empty()).then(|| p.variant.clone());
        match groups.iter_mut().find(|g| g.stem == p.stem && variant.is_some() && g.members[0].0.is_some()) {
            Some(g) => g.members.push((variant, i)),
            None => groups.push(Group { stem: p.stem.clone(), members: vec![(variant, i)], kernels: p.kernels.clone(), uniform: true }),
        }
    }
    for g in &mut groups {
        let first = type_key(&programs[g.members[0].1]);
        g.uniform = g.members.iter().all(|&(_, i)| type_key(&programs[i]) == first);
        // A required work-group size that differs between variants (`-DTILE=8` vs 16) is
        // not one number: the docs then leave it out.
        for (k, kernel) in g.kernels.iter_mut().enumerate() {
            let reqd = kernel.reqd_work_group_size;
            if g.members.iter().any(|&(_, i)| programs[i].kernels.get(k).map(|o| o.reqd_work_group_size) != Some(reqd)) {
                kernel.reqd_work_group_size = None;
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use clbake_core::source::ProgramSource;
    use std::path::PathBuf;

    pub(crate) fn program(name: &str, stem: &str, variant: &str, options: &str, source: &str) -> ProgramModel {
        let p = ProgramSource::new(name, stem, variant, PathBuf::from(format!("{stem}.cl")), options, source.into());
        ProgramModel { name: name.into(), stem: stem.into(), variant: variant.into(), options: options.into(), kernels: p.kernels }
    }

    const CONV: &str = "__kernel void conv(__global const float* x, __global float* y, int n) {}";
    const TYPED: &str = "__kernel void scale(__global const T* x, __global T* y, int n) {}";

    #[test]
    fn groups_by_stem_with_uniform_and_typed_variants() {
        let ps = vec![
            program("conv_none", "conv", "none", "-DACT=0", CONV),
            program("conv_relu", "conv", "relu", "-DACT=1", CONV),
            program("pool", "pool", "", "", "__kernel void pool(__global float* x) {}"),
            program("scale_f32", "scale", "f32", "-DT=float", TYPED),
            program("scale_f16", "scale", "f16", "-DT=half", TYPED),
        ];
        let g = group(&ps);
        assert_eq!(g.len(), 3);
        assert_eq!((g[0].stem.as_str(), g[0].uniform), ("conv", true));
        assert_eq!(g[0].members, [(Some("none".into()), 0), (Some("relu".into()), 1)]);
        assert_eq!((g[1].stem.as_str(), g[1].members.as_slice()), ("pool", &[(None, 2)][..]));
        assert_eq!((g[2].stem.as_str(), g[2].uniform), ("scale", false));
        assert_eq!(g[0].kernels[0].params.len(), 3);
    }

    #[test]
    fn same_file_name_in_two_folders_is_two_groups() {
        let ps = vec![program("nchw/pool", "nchw/pool", "", "", CONV), program("nhwc/pool", "nhwc/pool", "", "", CONV)];
        let g = group(&ps);
        assert_eq!(g.iter().map(|g| g.stem.as_str()).collect::<Vec<_>>(), ["nchw/pool", "nhwc/pool"]);
    }
}
