use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};
use tokio::task::JoinHandle;

use super::exit_watch::ExitWatch;
use super::settle::SettleQueue;
use super::spawn::{spawn_worker, SpawnConfig};
use super::worker_output::forward_output;
use crate::core::{Event, WorkerId};
use crate::fdpass::{recv_fds, send_fds};
use crate::protocol::{FrameDecoder, OutFrame, ReceivedHandles};

/// How long a worker whose channel closed may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// Writes are batched up to this size.
const WRITE_BATCH: usize = 256 * 1024;
/// A payload this large is written on its own rather than copied into the batch.
const DIRECT_WRITE: usize = 64 * 1024;

/// The parent's handle on one running worker.
pub struct WorkerLink {
  pub pid: u32,
  /// Dropping it closes the worker's channel, which tells the worker to exit.
  frames: Option<UnboundedSender<OutFrame>>,
}

impl WorkerLink {
  /// Spawns the worker and the two tasks that serve its channel: a writer, and a reader that
  /// also reaps the process and reports `Exited` once nothing more can come from it.
  pub fn start(
    worker: WorkerId,
    config: &SpawnConfig,
    inbox: WeakUnboundedSender<Event>,
    settle: &Arc<SettleQueue>,
  ) -> io::Result<WorkerLink> {
    let (mut child, channels) = spawn_worker(config)?;
    let output = forward_output(child.id(), child.stdout.take(), child.stderr.take(), settle.clone());
    let watch = ExitWatch::new(child);
    let pid = watch.pid();
    let (read_half, write_half) = into_tokio(channels.frames)?.into_split();
    let handle_channel = Arc::new(channels.handles);
    let (frames, outbox) = unbounded_channel();
    tokio::spawn(write_frames(write_half, handle_channel.clone(), outbox));
    let decoder = FrameDecoder::with_limit(config.max_message_size);
    tokio::spawn(read_until_exit(worker, read_half, decoder, handle_channel, watch, output, inbox));
    Ok(WorkerLink { pid, frames: Some(frames) })
  }

  pub fn send(&self, frame: OutFrame) {
    if let Some(frames) = &self.frames {
      // A closed writer means the worker is going away; its exit will account for the call.
      let _ = frames.send(frame);
    }
  }

  pub fn retire(&mut self) {
    self.frames = None;
  }

  pub fn kill(&self, signal: i32) {
    // SAFETY: kill has no memory-safety requirements; the pid is not reaped until `Exited`
    // is handled, after which this link no longer exists.
    unsafe { libc::kill(self.pid as libc::pid_t, signal) };
  }
}

fn into_tokio(fd: OwnedFd) -> io::Result<UnixStream> {
  let stream = std::os::unix::net::UnixStream::from(fd);
  stream.set_nonblocking(true)?;
  UnixStream::from_std(stream)
}

async fn write_frames(
  mut socket: OwnedWriteHalf,
  handle_channel: Arc<OwnedFd>,
  mut outbox: UnboundedReceiver<OutFrame>,
) {
  let mut buf = Vec::with_capacity(64 * 1024);
  while let Some(first) = outbox.recv().await {
    let mut next = Some(first);
    // Small frames are gathered into one write; a large payload is written from where it is.
    while let Some(frame) = next.take() {
      if send_handles(&handle_channel, &frame).await.is_err() {
        return;
      }
      buf.extend_from_slice(&frame.header());
      if frame.payload.len() < DIRECT_WRITE {
        buf.extend_from_slice(&frame.payload);
      } else if socket.write_all(&buf).await.is_err() || socket.write_all(&frame.payload).await.is_err() {
        return;
      } else {
        buf.clear();
      }
      if buf.len() < WRITE_BATCH {
        next = outbox.try_recv().ok();
      }
    }
    if !buf.is_empty() && socket.write_all(&buf).await.is_err() {
      return;
    }
    buf.clear();
  }
  let _ = socket.shutdown().await;
}

/// A frame's descriptors go out on the handle channel before the frame itself is written, so the
/// worker always finds them waiting when it reads the frame.
async fn send_handles(handle_channel: &OwnedFd, frame: &OutFrame) -> io::Result<()> {
  if frame.handles.is_empty() {
    return Ok(());
  }
  let fds = frame.handles.raw();
  loop {
    match send_fds(handle_channel.as_raw_fd(), &fds) {
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => tokio::time::sleep(Duration::from_millis(1)).await,
      other => return other,
    }
  }
}

async fn read_until_exit(
  worker: WorkerId,
  mut socket: OwnedReadHalf,
  mut decoder: FrameDecoder,
  handle_channel: Arc<OwnedFd>,
  watch: ExitWatch,
  output: Vec<JoinHandle<()>>,
  inbox: WeakUnboundedSender<Event>,
) {
  let mut healthy = true;
  while healthy {
    tokio::select! {
      // Straight into the decoder's buffer.
      read = socket.read_buf(decoder.read_buffer()) => match read {
        Ok(0) | Err(_) => break,
        Ok(_) => healthy = deliver(worker, &mut decoder, &handle_channel, &inbox),
      },
      // The process is gone, but what it wrote before exiting still sits in the socket.
      _ = watch.exited() => {
        while healthy {
          match socket.try_read_buf(decoder.read_buffer()) {
            Ok(0) | Err(_) => break,
            Ok(_) => healthy = deliver(worker, &mut decoder, &handle_channel, &inbox),
          }
        }
        break;
      }
    }
  }
  if tokio::time::timeout(EXIT_GRACE, watch.exited()).await.is_err() {
    // SAFETY: as in `WorkerLink::kill`; the pid is still ours until reaped below.
    unsafe { libc::kill(watch.pid() as libc::pid_t, libc::SIGKILL) };
    watch.exited().await;
  }
  let status = watch.reap();
  // Everything the worker printed is passed on before its exit is news (a grandchild holding the
  // pipes open gets a moment, not forever).
  let _ = tokio::time::timeout(EXIT_GRACE, join_all(output)).await;
  report(&inbox, Event::Exited { worker, status });
}

async fn join_all(tasks: Vec<JoinHandle<()>>) {
  for task in tasks {
    let _ = task.await;
  }
}

/// Events reach the pool only while it exists; an abandoned pool's workers just exit.
fn report(inbox: &WeakUnboundedSender<Event>, event: Event) {
  if let Some(inbox) = inbox.upgrade() {
    let _ = inbox.send(event);
  }
}

/// Passes on every whole frame the decoder holds; false once the stream is corrupt.
fn deliver(
  worker: WorkerId,
  decoder: &mut FrameDecoder,
  handle_channel: &OwnedFd,
  inbox: &WeakUnboundedSender<Event>,
) -> bool {
  let Some(inbox) = inbox.upgrade() else { return true };
  loop {
    let problem = match decoder.next_frame() {
      Ok(Some(mut frame)) => {
        if !frame.with_handles {
          let _ = inbox.send(Event::Frame { worker, frame });
          continue;
        }
        // The worker sent the descriptors before the frame, so they are already queued.
        match recv_fds(handle_channel.as_raw_fd(), false) {
          Ok(fds) => {
            frame.handles = ReceivedHandles(fds);
            let _ = inbox.send(Event::Frame { worker, frame });
            continue;
          }
          Err(err) => format!("a frame announced handles that did not arrive ({err})"),
        }
      }
      Ok(None) => return true,
      Err(err) => err.to_string(),
    };
    let _ = inbox.send(Event::Corrupt { worker, reason: problem });
    return false;
  }
}
