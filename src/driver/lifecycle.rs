//! The slow half of a worker's life, on the I/O thread: starting the process (a fork of a large
//! parent takes milliseconds the JS thread should not wait for), passing on its output, and
//! reaping it. The fast half, its frames, runs on the JS thread (`worker_channel`).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::inbox::{LifeEvent, LifeInbox};
use super::runtime::io_handle;
use super::spawn::{spawn_worker, SpawnConfig};
use super::worker_output::{forward_output, OutputProbe};
use crate::core::WorkerId;

/// How long a worker's output may stay open after it exited with nothing coming through (a
/// grandchild holding the pipes) before its exit is reported anyway. Output that still flows, or
/// waits for the JS thread to take it, is waited for.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);
/// Graces waited at most: a grandchild that never stops writing delays the exit by a minute.
const OUTPUT_GRACES_AT_MOST: u32 = 30;

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
    let probe = Arc::new(OutputProbe::default());
    let output = forward_output(pid, stdout, stderr, inbox.clone(), &probe);
    let captured = (!output.is_empty()).then(|| probe.clone());
    inbox.send(LifeEvent::Spawned { worker, pid, channel, output: captured });
    process.exited().await;
    let status = process.reap();
    // The process is gone (nothing here kills anything): this only bounds how long its exit
    // waits for pipes a grandchild may hold open.
    let mut ended = Box::pin(join_all(output));
    for _ in 0..OUTPUT_GRACES_AT_MOST {
      let before = probe.progress();
      match tokio::time::timeout(OUTPUT_GRACE, &mut ended).await {
        Ok(()) => break,
        Err(_) if probe.progress() != before || probe.waiting_for_room() => continue,
        Err(_) => break,
      }
    }
    inbox.send(LifeEvent::Exited { worker, status });
  });
}

async fn join_all(tasks: Vec<JoinHandle<()>>) {
  for task in tasks {
    let _ = task.await;
  }
}
