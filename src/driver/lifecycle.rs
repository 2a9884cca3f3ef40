//! The slow half of a worker's life, on the I/O thread: starting the process (a fork of a large
//! parent takes milliseconds the JS thread should not wait for), passing on its output, and
//! reaping it. The fast half, its frames, runs on the JS thread (`worker_channel`).

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use tokio::task::JoinHandle;

use super::exit_watch::ExitWatch;
use super::runtime::io_handle;
use super::spawn::{spawn_worker, SpawnConfig};
use super::uv::{send_wake_up, RawHandle};
use super::worker_output::{forward_output, OutputRoom};
use crate::core::{ExitStatus, WorkerId};

/// How long a worker's output may stay open after it exited (a grandchild holding the pipes)
/// before its exit is reported anyway.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// What the I/O thread tells a pool.
pub enum LifeEvent {
  Spawned {
    worker: WorkerId,
    pid: u32,
    frames: OwnedFd,
    handles: OwnedFd,
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
  },
  /// Reaped, after everything it printed was passed on.
  Exited {
    worker: WorkerId,
    status: ExitStatus,
  },
}

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

/// Starts worker `worker` on the I/O thread and follows it until it is reaped.
pub fn start_worker(worker: WorkerId, config: Arc<SpawnConfig>, inbox: Arc<LifeInbox>) {
  io_handle().spawn(async move {
    let (mut child, channels) = match spawn_worker(&config) {
      Ok(started) => started,
      Err(err) => {
        let reason = format!("could not run {} in {}: {err}", config.exec_path, config.cwd);
        return inbox.send(LifeEvent::SpawnFailed { worker, reason });
      }
    };
    let output = forward_output(child.id(), child.stdout.take(), child.stderr.take(), inbox.clone());
    let watch = ExitWatch::new(child);
    let pid = watch.pid();
    inbox.send(LifeEvent::Spawned { worker, pid, frames: channels.frames, handles: channels.handles });
    watch.exited().await;
    let status = watch.reap();
    let _ = tokio::time::timeout(OUTPUT_GRACE, join_all(output)).await;
    inbox.send(LifeEvent::Exited { worker, status });
  });
}

async fn join_all(tasks: Vec<JoinHandle<()>>) {
  for task in tasks {
    let _ = task.await;
  }
}
