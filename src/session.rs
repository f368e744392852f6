//! [`Session`]: an OpenCL context and in-order queue on one chosen device, cheap to clone
//! and to share between threads.

use crate::Error;
use clbake_core::cl::{self, DeviceInfo, DeviceSelector};
use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A device, a context on it and an in-order command queue. Clones share them.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    device: DeviceInfo,
    context: Context,
    queue: CommandQueue,
    setup_time: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("device", &self.inner.device.fingerprint.describe()).finish()
    }
}

impl Session {
    /// Opens a session on the device `CLBAKE_DEVICE` names (an index, see `clbake
    /// devices`), or the default one: the first GPU, else device 0. An unparsable
    /// `CLBAKE_DEVICE` is an error naming it.
    pub fn from_env() -> Result<Self, Error> {
        Self::new(DeviceSelector::from_env()?)
    }

    /// Opens a session on the selected device.
    pub fn new(selector: DeviceSelector) -> Result<Self, Error> {
        let start = Instant::now();
        let all = cl::devices()?;
        let device = selector.pick(&all)?.clone();
        let context = Context::from_device(&device.device()).map_err(Error::api("clCreateContext"))?;
        #[allow(deprecated)] // clCreateCommandQueue: the OpenCL 1.2 call, for 1.2 drivers
        let queue = CommandQueue::create_default(&context, 0).map_err(Error::api("clCreateCommandQueue"))?;
        Ok(Session { inner: Arc::new(Inner { device, context, queue, setup_time: start.elapsed() }) })
    }

    /// The device, with its fingerprint.
    pub fn device(&self) -> &DeviceInfo {
        &self.inner.device
    }

    /// The context (holding only this device).
    pub fn context(&self) -> &Context {
        &self.inner.context
    }

    /// The in-order command queue.
    pub fn queue(&self) -> &CommandQueue {
        &self.inner.queue
    }

    /// Time taken to enumerate devices and create the context and queue.
    pub fn setup_time(&self) -> Duration {
        self.inner.setup_time
    }

    /// Waits until every command of the queue has finished.
    pub fn finish(&self) -> Result<(), Error> {
        self.inner.queue.finish().map_err(Error::api("clFinish"))
    }
}
