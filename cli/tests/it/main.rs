//! Integration tests against a real OpenCL driver (PoCL on the CPU). One binary, topic modules.
//!
//! Tests that need a fresh process (the load path of a start-up, a device chosen through
//! `POCL_DEVICES`, a patched executable) run the `clbake` binary; the others run in-process.

mod common;

mod build;
mod cache;
mod cli;
mod demo;
mod drivers;
mod example;
mod faults;
mod kernels;
mod load;
mod reference;
mod remote;
mod trust;
mod typed;
