//! The slow half of a worker's life, on the I/O thread: starting the process (a fork of a large
//! parent takes milliseconds the JS thread should not wait for), passing on its output, and
//! reaping it. The fast half, its frames, runs on the JS thread (`worker_channel`).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::inbox::{LifeEvent, LifeInbox};
use super::runtime::io_handle;
use super::spawn::{spawn_worker, SpawnConfig};
use super::worker_output::forward_output;
use crate::core::WorkerId;

/// How long a worker's output may stay open after it exited (a grandchild holding the pipes)
/// before its exit is reported anyway.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Starts worker `worker` (in pool slot `slot`) on the I/O thread and follows it until it is reaped.
pub fn start_worker(worker: WorkerId, slot: u32, config: Arc<SpawnConfig>, inbox: Arc<LifeInbox>) {
  io_handle().spawn(async move {
    let (mut process, channel) = match spawn_worker(&config, slot) {
      Ok(started) => started,
      Err(err) => {
        let reason = format!("could not run {} in {}: {err}", config.exec_path, config.cwd);
        return inbox.send(LifeEvent::SpawnFailed { worker, reason });
      }
    };
    let pid = process.id();
    let (stdout, stderr) = process.take_output();
    let output = forward_output(pid, stdout, stderr, inbox.clone());
    inbox.send(LifeEvent::Spawned { worker, pid, channel });
    process.exited().await;
    let status = process.reap();
    let _ = tokio::time::timeout(OUTPUT_GRACE, join_all(output)).await;
    inbox.send(LifeEvent::Exited { worker, status });
  });
}

async fn join_all(tasks: Vec<JoinHandle<()>>) {
  for task in tasks {
    let _ = task.await;
  }
}
