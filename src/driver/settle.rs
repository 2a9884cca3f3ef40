use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};

use crate::core::{CallId, Failure, Outcome, Piece};

/// What the JS thread has to hear about.
#[derive(Debug)]
pub enum Settled {
  Call(CallId, Outcome),
  /// Part of a streamed result; the call is still running.
  Piece(CallId, Piece),
  Report(Failure),
  /// The queue refused a call for being full, and has room again.
  Room,
  Closed,
  /// A line a worker wrote, when the pool captures worker output.
  Output {
    pid: u32,
    stderr: bool,
    line: String,
  },
}

/// Settlements wait here for the JS thread, which is woken at most once per batch: everything
/// that arrives before it runs is settled in the same callback.
pub struct SettleQueue {
  tx: Sender<Settled>,
  rx: Receiver<Settled>,
  scheduled: AtomicBool,
  wake: Box<dyn Fn() + Send + Sync>,
}

impl SettleQueue {
  pub fn new(wake: Box<dyn Fn() + Send + Sync>) -> Self {
    let (tx, rx) = crossbeam_channel::unbounded();
    SettleQueue { tx, rx, scheduled: AtomicBool::new(false), wake }
  }

  pub fn push(&self, item: Settled) {
    // The receiver lives in `self`, so the send cannot fail.
    let _ = self.tx.send(item);
  }

  /// Wakes the JS thread if something is waiting and no wake-up is already on its way.
  pub fn flush(&self) {
    if !self.rx.is_empty() && !self.scheduled.swap(true, Ordering::AcqRel) {
      (self.wake)();
    }
  }

  /// On the JS thread: takes everything queued. The flag is cleared first, so an item pushed
  /// during the drain either is taken now or schedules another wake-up.
  pub fn drain(&self) -> impl Iterator<Item = Settled> + '_ {
    self.scheduled.store(false, Ordering::Release);
    self.rx.try_iter()
  }
}
