use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader, ReadBuf};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::inbox::{LifeEvent, LifeInbox, OutputRoom};
use crate::sys::{OutputPipe, PipeGauge};

/// A longer line is passed on in pieces of this size, so a worker cannot make the parent buffer
/// without bound.
pub(super) const MAX_LINE: usize = 64 * 1024;
/// Bytes of one worker's output that may wait for the JS thread to take them. Past that, its
/// pipes are not read until the JS thread catches up, so a worker that writes faster than the
/// parent handles its output blocks in `write`, as it would on a slow terminal: nothing is
/// dropped, and a busy parent holds at most this much (plus the pipes' own buffers) per worker.
const OUTPUT_BUDGET: usize = 1 << 20;

/// Whether the JS thread has every line a worker had written when JS stopped awaiting the pool,
/// read on the JS thread while the worker's output is read on the I/O thread. A worker writes its
/// output (synchronously, to a pipe) before it answers, so once a call has settled every line
/// written before its answer is in the pipe (its `PipeGauge`), in a read under way (`reading`), or
/// read (`read_bytes`, its line end counted in `seen`) until the JS thread has taken the line
/// (`taken`). The pool holds the event loop open until it has caught up with that much, so a
/// program that just ends does not lose a line, and one whose worker never stops writing still ends.
#[derive(Default)]
pub struct OutputProbe {
  /// The pipes' read ends while their readers hold them: cleared before they are closed, so a
  /// number reused for another descriptor is never asked.
  gauges: Mutex<[Option<PipeGauge>; 2]>,
  reading: AtomicUsize,
  read_bytes: AtomicU64,
  seen: AtomicU64,
  taken: AtomicU64,
  /// Reads and lines so far, so that the exit grace counts only while nothing comes.
  progress: AtomicU64,
  /// Readers waiting for the JS thread to take lines (for room in the budget).
  waiting_for_room: AtomicUsize,
  /// The JS thread waits to catch up: a read that brings no whole line is news too.
  watched: AtomicBool,
  /// What catching up means since JS stopped awaiting the pool (JS thread only).
  goal: Mutex<Option<Goal>>,
}

/// First every byte that was in the pipes is read, then every line whose end was read by then is taken.
#[derive(Clone, Copy)]
enum Goal {
  Read(u64),
  Taken(u64),
}

impl OutputProbe {
  /// On the JS thread: every line the worker had written when this was first asked (since
  /// `forget_goal`) has been taken. The bytes still in the pipes are counted before the reads'
  /// total is, so that bytes moving from a pipe to a read meanwhile are counted once at least.
  pub fn caught_up(&self) -> bool {
    let mut goal = self.goal.lock().unwrap_or_else(|e| e.into_inner());
    if goal.is_none() {
      let unread: u64 = {
        let gauges = self.gauges.lock().unwrap_or_else(|e| e.into_inner());
        gauges.iter().flatten().map(|gauge| gauge.unread() as u64).sum()
      };
      *goal = Some(Goal::Read(self.read_bytes.load(SeqCst) + unread));
    }
    if let Some(Goal::Read(bytes)) = *goal {
      if self.reading.load(SeqCst) > 0 || self.read_bytes.load(SeqCst) < bytes {
        return false;
      }
      *goal = Some(Goal::Taken(self.seen.load(SeqCst)));
    }
    matches!(*goal, Some(Goal::Taken(lines)) if self.taken.load(SeqCst) >= lines)
  }

  /// The portable driver reads pipe `index` on the JS thread itself: `gauge` while it is open.
  pub fn set_gauge(&self, index: usize, gauge: Option<PipeGauge>) {
    self.gauges.lock().unwrap_or_else(|e| e.into_inner())[index] = gauge;
  }

  /// On the JS thread (the portable driver): `bytes` read, whose `line_ends` whole lines went
  /// to JS with the read.
  pub fn read_on_loop(&self, bytes: usize, line_ends: u64) {
    self.read_bytes.fetch_add(bytes as u64, SeqCst);
    self.seen.fetch_add(line_ends, SeqCst);
    self.taken.fetch_add(line_ends, SeqCst);
    self.progress.fetch_add(1, SeqCst);
  }

  /// JS awaits the pool again: the next `caught_up` sets a new goal.
  pub fn forget_goal(&self) {
    *self.goal.lock().unwrap_or_else(|e| e.into_inner()) = None;
  }

  /// On the JS thread: a whole line was taken.
  pub fn took_line(&self) {
    self.taken.fetch_add(1, SeqCst);
  }

  pub fn watch(&self, on: bool) {
    self.watched.store(on, SeqCst);
  }

  pub fn progress(&self) -> u64 {
    self.progress.load(SeqCst)
  }

  /// A reader waits for the JS thread, not for the worker: its output has not ended.
  pub fn waiting_for_room(&self) -> bool {
    self.waiting_for_room.load(SeqCst) > 0
  }
}

/// A pipe whose reads are counted into its worker's probe.
struct Counted<R> {
  inner: R,
  probe: Arc<OutputProbe>,
  inbox: Arc<LifeInbox>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
  fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
    let this = self.get_mut();
    this.probe.reading.fetch_add(1, SeqCst);
    let before = buf.filled().len();
    let result = Pin::new(&mut this.inner).poll_read(cx, buf);
    let read = &buf.filled()[before..];
    if !read.is_empty() {
      let ends = read.iter().filter(|b| **b == b'\n').count() as u64;
      this.probe.seen.fetch_add(ends, SeqCst);
      this.probe.read_bytes.fetch_add(read.len() as u64, SeqCst);
      this.probe.progress.fetch_add(1, SeqCst);
      if this.probe.watched.load(SeqCst) {
        this.inbox.send(LifeEvent::OutputRead);
      }
    }
    this.probe.reading.fetch_sub(1, SeqCst);
    result
  }
}

/// Clears its pipe from the probe when the reader ends, before the pipe is closed (declared after
/// the reader, it is dropped first).
struct Forget {
  probe: Arc<OutputProbe>,
  index: usize,
}

impl Drop for Forget {
  fn drop(&mut self) {
    self.probe.gauges.lock().unwrap_or_else(|e| e.into_inner())[self.index] = None;
  }
}

/// Passes a worker's captured stdout and stderr to JS line by line. The returned tasks end when
/// the pipes do.
pub fn forward_output(
  pid: u32,
  stdout: Option<OutputPipe>,
  stderr: Option<OutputPipe>,
  inbox: Arc<LifeInbox>,
  probe: &Arc<OutputProbe>,
) -> Vec<JoinHandle<()>> {
  let mut tasks = Vec::new();
  let budget = Arc::new(Semaphore::new(OUTPUT_BUDGET));
  for (index, pipe) in [stdout, stderr].into_iter().enumerate() {
    let Some(pipe) = pipe else { continue };
    probe.gauges.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(PipeGauge::of(&pipe));
    let counted = Counted { inner: pipe, probe: probe.clone(), inbox: inbox.clone() };
    let forget = Forget { probe: probe.clone(), index };
    tasks.push(tokio::spawn(forward_lines(pid, index == 1, counted, inbox.clone(), budget.clone(), forget)));
  }
  tasks
}

async fn forward_lines<R: AsyncRead + Unpin>(
  pid: u32,
  stderr: bool,
  stream: Counted<R>,
  inbox: Arc<LifeInbox>,
  budget: Arc<Semaphore>,
  forget: Forget,
) {
  let probe = forget.probe.clone();
  let mut reader = BufReader::new(stream);
  let _forget = forget;
  // The bytes of a character a piece's end cut in two start the next piece.
  let mut line = Vec::new();
  let mut after_piece = false;
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
        if ends_piece(whole, &line, std::mem::take(&mut after_piece)) {
          probe.took_line();
          continue;
        }
        after_piece = !whole && read > 0;
        let cut = if whole || read == 0 { 0 } else { cut_character(&line) };
        let next = line.split_off(line.len() - cut);
        // Waiting here is the flow control: the pipe is not read again until there is room.
        probe.waiting_for_room.fetch_add(1, SeqCst);
        let room = budget.clone().acquire_many_owned(line.len().max(1) as u32).await;
        probe.waiting_for_room.fetch_sub(1, SeqCst);
        let Ok(room) = room else { return };
        let text = String::from_utf8_lossy(&line).into_owned();
        probe.progress.fetch_add(1, SeqCst);
        let taken = whole.then(|| probe.clone());
        inbox.send(LifeEvent::Output { pid, stderr, line: text, room: OutputRoom(room), taken });
        line = next;
        if read == 0 {
          return;
        }
      }
    }
  }
}

/// Whether a line end is only the end of the piece passed on just before (`after_piece`: a line
/// of exactly `MAX_LINE` bytes, or a multiple): it ends that line, and no empty line follows it.
pub(super) fn ends_piece(whole: bool, line: &[u8], after_piece: bool) -> bool {
  whole && line.is_empty() && after_piece
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
