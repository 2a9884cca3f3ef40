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
  // The bytes of a character a piece's end cut in two start the next piece.
  let mut line = Vec::new();
  loop {
    let carried = line.len();
    let mut limited = (&mut reader).take((MAX_LINE - carried) as u64);
    match limited.read_until(b'\n', &mut line).await {
      Err(_) => return,
      Ok(0) if carried == 0 => return,
      Ok(read) => {
        let whole = line.last() == Some(&b'\n');
        if whole {
          line.pop();
        }
        let cut = if whole || read == 0 { 0 } else { cut_character(&line) };
        let next = line.split_off(line.len() - cut);
        inbox.send(LifeEvent::Output { pid, stderr, line: String::from_utf8_lossy(&line).into_owned() });
        line = next;
        if read == 0 {
          return;
        }
      }
    }
  }
}

/// How many bytes at the end of `bytes` begin a UTF-8 character that continues past them.
fn cut_character(bytes: &[u8]) -> usize {
  for back in 1..=bytes.len().min(3) {
    let byte = bytes[bytes.len() - back];
    if byte & 0xc0 == 0x80 {
      continue;
    }
    let width = match byte {
      0xc0..=0xdf => 2,
      0xe0..=0xef => 3,
      0xf0..=0xf7 => 4,
      _ => 1,
    };
    return if width > back { back } else { 0 };
  }
  0
}

#[cfg(test)]
mod tests {
  use super::cut_character;

  #[test]
  fn a_character_cut_at_the_end_is_found_and_a_whole_one_is_not() {
    for text in ["a", "é", "─", "😀"] {
      let bytes = format!("xy{text}").into_bytes();
      for cut in 0..text.len() {
        let piece = &bytes[..bytes.len() - cut];
        let expected = if cut == 0 { 0 } else { text.len() - cut };
        assert_eq!(cut_character(piece), expected, "{text} less {cut} bytes");
      }
    }
    assert_eq!(cut_character(&[0x80, 0x80, 0x80]), 0, "stray continuation bytes are not held back");
  }
}
