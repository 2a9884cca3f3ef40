use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::inbox::{LifeEvent, LifeInbox, OutputRoom};
use crate::sys::OutputPipe;

/// A longer line is passed on in pieces of this size, so a worker cannot make the parent buffer
/// without bound.
pub(super) const MAX_LINE: usize = 64 * 1024;
/// Bytes of one worker's output that may wait for the JS thread to take them. Past that, its
/// pipes are not read until the JS thread catches up, so a worker that writes faster than the
/// parent handles its output blocks in `write`, as it would on a slow terminal: nothing is
/// dropped, and a busy parent holds at most this much (plus the pipes' own buffers) per worker.
const OUTPUT_BUDGET: usize = 1 << 20;

/// Passes a worker's captured stdout and stderr to JS line by line. The returned tasks end when
/// the pipes do.
pub fn forward_output(
  pid: u32,
  stdout: Option<OutputPipe>,
  stderr: Option<OutputPipe>,
  inbox: Arc<LifeInbox>,
) -> Vec<JoinHandle<()>> {
  let mut tasks = Vec::new();
  let budget = Arc::new(Semaphore::new(OUTPUT_BUDGET));
  if let Some(out) = stdout {
    tasks.push(tokio::spawn(forward_lines(pid, false, out, inbox.clone(), budget.clone())));
  }
  if let Some(err) = stderr {
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
        // Waiting here is the flow control: the pipe is not read again until there is room.
        let Ok(room) = budget.clone().acquire_many_owned(line.len().max(1) as u32).await else { return };
        let text = String::from_utf8_lossy(&line).into_owned();
        inbox.send(LifeEvent::Output { pid, stderr, line: text, room: OutputRoom(room) });
        line = next;
        if read == 0 {
          return;
        }
      }
    }
  }
}

/// How many bytes at the end of `bytes` begin a UTF-8 character that continues past them.
pub(super) fn cut_character(bytes: &[u8]) -> usize {
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
