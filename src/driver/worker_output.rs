use std::os::fd::OwnedFd;
use std::process::{ChildStderr, ChildStdout};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::unix::pipe;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::lifecycle::{LifeEvent, LifeInbox};

/// A longer line is passed on in pieces of this size, so a worker cannot make the parent buffer
/// without bound.
const MAX_LINE: usize = 64 * 1024;
/// Bytes of one worker's output that may wait for the JS thread to take them. Past that, its
/// pipes are not read until the JS thread catches up, so a worker that writes faster than the
/// parent handles its output blocks in `write`, as it would on a slow terminal: nothing is
/// dropped, and a busy parent holds at most this much (plus the pipes' own buffers) per worker.
const OUTPUT_BUDGET: usize = 1 << 20;

/// A line's share of its worker's budget, given back when the JS thread takes the line.
pub struct OutputRoom(#[allow(dead_code)] OwnedSemaphorePermit);

/// Passes a worker's captured stdout and stderr to JS line by line. The returned tasks end when
/// the pipes do.
pub fn forward_output(
  pid: u32,
  stdout: Option<ChildStdout>,
  stderr: Option<ChildStderr>,
  inbox: Arc<LifeInbox>,
) -> Vec<JoinHandle<()>> {
  let mut tasks = Vec::new();
  let budget = Arc::new(Semaphore::new(OUTPUT_BUDGET));
  if let Some(out) = stdout.and_then(|s| pipe::Receiver::from_owned_fd(OwnedFd::from(s)).ok()) {
    tasks.push(tokio::spawn(forward_lines(pid, false, out, inbox.clone(), budget.clone())));
  }
  if let Some(err) = stderr.and_then(|s| pipe::Receiver::from_owned_fd(OwnedFd::from(s)).ok()) {
    tasks.push(tokio::spawn(forward_lines(pid, true, err, inbox, budget)));
  }
  tasks
}

async fn forward_lines(
  pid: u32,
  stderr: bool,
  stream: impl AsyncRead + Unpin,
  inbox: Arc<LifeInbox>,
  budget: Arc<Semaphore>,
) {
  let mut reader = BufReader::new(stream);
  let mut line = Vec::new();
  loop {
    line.clear();
    let mut limited = (&mut reader).take(MAX_LINE as u64);
    match limited.read_until(b'\n', &mut line).await {
      Ok(0) | Err(_) => return,
      Ok(_) => {
        if line.last() == Some(&b'\n') {
          line.pop();
        }
        // Waiting here is the flow control: the pipe is not read again until there is room.
        let Ok(room) = budget.clone().acquire_many_owned(line.len().max(1) as u32).await else { return };
        let line = String::from_utf8_lossy(&line).into_owned();
        inbox.send(LifeEvent::Output { pid, stderr, line, room: OutputRoom(room) });
      }
    }
  }
}
