use std::os::fd::OwnedFd;
use std::process::{ChildStderr, ChildStdout};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

use super::lifecycle::{LifeEvent, LifeInbox};

/// A longer line is passed on in pieces of this size, so a worker cannot make the parent buffer
/// without bound.
const MAX_LINE: usize = 64 * 1024;

/// Passes a worker's captured stdout and stderr to JS line by line. The returned tasks end when
/// the pipes do.
pub fn forward_output(
  pid: u32,
  stdout: Option<ChildStdout>,
  stderr: Option<ChildStderr>,
  inbox: Arc<LifeInbox>,
) -> Vec<JoinHandle<()>> {
  let mut tasks = Vec::new();
  if let Some(out) = stdout.and_then(|s| pipe::Receiver::from_owned_fd(OwnedFd::from(s)).ok()) {
    tasks.push(tokio::spawn(forward_lines(pid, false, out, inbox.clone())));
  }
  if let Some(err) = stderr.and_then(|s| pipe::Receiver::from_owned_fd(OwnedFd::from(s)).ok()) {
    tasks.push(tokio::spawn(forward_lines(pid, true, err, inbox)));
  }
  tasks
}

async fn forward_lines(pid: u32, stderr: bool, stream: impl AsyncRead + Unpin, inbox: Arc<LifeInbox>) {
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
        inbox.send(LifeEvent::Output { pid, stderr, line: String::from_utf8_lossy(&line).into_owned() });
      }
    }
  }
}
