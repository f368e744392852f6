//! An OpenCL context and queue on one chosen device.

use crate::LoadError;
use clbake_core::cl::{self, ClError, DeviceInfo, DeviceSelector};
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use std::time::{Duration, Instant};

/// A device, a context on it and an in-order command queue.
pub struct Session {
    /// The device.
    pub device: DeviceInfo,
    /// Context holding only that device.
    pub context: Context,
    /// In-order queue on the device.
    pub queue: CommandQueue,
    /// Time taken to enumerate devices and create the context and queue.
    pub setup_time: Duration,
}

impl Session {
    /// Opens a session on the device `CLBAKE_DEVICE` names, or the default one.
    pub fn from_env() -> Result<Self, LoadError> {
        Self::new(DeviceSelector::from_env())
    }

    /// Opens a session on the selected device.
    pub fn new(selector: DeviceSelector) -> Result<Self, LoadError> {
        let start = Instant::now();
        let all = cl::devices()?;
        let device = selector.pick(&all)?.clone();
        let context = Context::from_device(&device.device()).map_err(ClError::api("clCreateContext"))?;
        #[allow(deprecated)]
        let queue = CommandQueue::create_default(&context, 0).map_err(ClError::api("clCreateCommandQueue"))?;
        Ok(Session { device, context, queue, setup_time: start.elapsed() })
    }
}
