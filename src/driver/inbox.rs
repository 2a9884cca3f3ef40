//! The way news of a pool's workers crosses from the I/O thread to the pool's JS thread.

use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};
use tokio::sync::OwnedSemaphorePermit;

use super::uv::{send_wake_up, RawHandle};
use super::worker_output::OutputProbe;
use crate::core::{ExitStatus, WorkerId};
use crate::sys::Channel;

/// What the I/O thread tells a pool.
pub enum LifeEvent {
  Spawned {
    worker: WorkerId,
    pid: u32,
    channel: Channel,
    /// Present when its output is captured.
    output: Option<Arc<OutputProbe>>,
  },
  SpawnFailed {
    worker: WorkerId,
    reason: String,
  },
  /// A line the worker wrote, when the pool captures worker output. Its `room` in the worker's
  /// output budget is given back when the event is dropped, once the JS thread has the line.
  Output {
    pid: u32,
    stderr: bool,
    line: String,
    room: OutputRoom,
    /// The worker's probe, when the line was whole (it ended with a line end the probe counted).
    taken: Option<Arc<OutputProbe>>,
  },
  /// A worker's pipe was read while the JS thread waits to catch up with its output.
  OutputRead,
  /// Reaped, after everything it printed was passed on.
  Exited {
    worker: WorkerId,
    status: ExitStatus,
  },
}

/// A line's share of its worker's budget, given back when the JS thread takes the line.
pub struct OutputRoom(#[allow(dead_code)] pub OwnedSemaphorePermit);

/// The way from the I/O thread to one pool on its JS thread: a queue, and a libuv async handle
/// that wakes that loop. Once the pool closes the handle, events are dropped (a dropped
/// `Spawned` closes the worker's channel, so the worker exits by itself).
pub struct LifeInbox {
  tx: Sender<LifeEvent>,
  wake: Mutex<Option<SendHandle>>,
}

struct SendHandle(RawHandle);
// SAFETY: only uv_async_send is called through it, which libuv allows from any thread, and only
// under the mutex that `disconnect` takes before the handle is closed.
unsafe impl Send for SendHandle {}

impl LifeInbox {
  pub fn new(wake: RawHandle) -> (Arc<LifeInbox>, Receiver<LifeEvent>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (Arc::new(LifeInbox { tx, wake: Mutex::new(Some(SendHandle(wake))) }), rx)
  }

  pub fn send(&self, event: LifeEvent) {
    let Ok(wake) = self.wake.lock() else { return };
    if let Some(handle) = wake.as_ref() {
      let _ = self.tx.send(event);
      // SAFETY: the handle stays open while it is in the mutex.
      unsafe { send_wake_up(handle.0) };
    }
  }

  /// On the JS thread, before the async handle is closed.
  pub fn disconnect(&self) {
    if let Ok(mut wake) = self.wake.lock() {
      *wake = None;
    }
  }
}
