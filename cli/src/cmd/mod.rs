//! Sub-commands of the `clbake` tool, one module each.

pub mod bake;
pub mod cache;
pub mod demo;
pub mod demo_cmd;
pub mod devices;
pub mod errors;
pub mod inspect;
pub mod output;
pub mod remote;
pub mod rust_name;
pub mod tune;

pub(crate) use crate::kernels;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
