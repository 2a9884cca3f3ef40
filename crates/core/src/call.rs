use invoke_parallel_protocol::STREAM_WINDOW;

use super::call_queue::Ticket;
use super::event::{CallOptions, Job, ModuleId, WorkerId};
use super::pace::MethodKey;

/// Where a call is. Changed only through [`Call`]'s transition methods:
///
/// ```text
///   submitted ──▶ Queued{ticket} ──dispatch──▶ Running{worker, stream} ──answered──▶ done
///                  ▲    │                          │          │
///                  │    │ cancelled                │ worker   │ cancelled, timed out
///                  │    ▼                          │ died     ▼
///                  │   done           retried ◀────┘   Abandoned{worker, stream} ──answered,──▶ done
///                  └──────────────────────┘                                        worker died
/// ```
///
/// A call that is done leaves the scheduler's table: it is settled exactly once on the way, by
/// the scheduler or (cancelled) by its caller. Once abandoned it is never sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
  /// Waiting for a worker, at its place in the queue.
  Queued { ticket: Ticket },
  /// Sent to `worker`. `stream` is the credit of its streamed result once that has begun: items
  /// the worker may still send (the window, plus credit granted since, minus items received).
  Running { worker: WorkerId, stream: Option<u32> },
  /// Settled already (cancelled or timed out) but still running on `worker`, which keeps its
  /// slot until the call returns or the worker dies. What it sends goes nowhere.
  Abandoned { worker: WorkerId, stream: Option<u32> },
}

#[derive(Debug)]
pub struct Call {
  pub module: ModuleId,
  pub job: Job,
  pub options: CallOptions,
  /// Times it was sent.
  pub attempts: u32,
  /// Of those, the ones whose worker died of another call's uncaught exception (by the worker's
  /// report) and did not count against its attempts (`PoolConfig::max_excused`).
  pub excused: u32,
  /// Its `timeout` clock is running.
  pub clocked: bool,
  /// When it was submitted and (latest) dispatched, on the scheduler's clock: its wait and run
  /// times, for the stats.
  pub submitted_us: u64,
  pub dispatched_us: u64,
  /// Someone traces it: its answer comes with where and how it ran (`Action::Traced`).
  pub traced: bool,
  /// Grants of credit to its stream so far: a timer armed while it waited on its reader is stale
  /// once this moved.
  pub reads: u32,
  state: CallState,
}

impl Call {
  pub fn queued(module: ModuleId, job: Job, options: CallOptions, ticket: Ticket) -> Self {
    Call {
      module,
      job,
      options,
      attempts: 0,
      excused: 0,
      clocked: false,
      submitted_us: 0,
      dispatched_us: 0,
      traced: false,
      reads: 0,
      state: CallState::Queued { ticket },
    }
  }

  /// A method call, as opposed to loading a module: only those count for `maxQueue` and stats.
  pub fn is_method(&self) -> bool {
    matches!(self.job, Job::Invoke { .. })
  }

  /// The method it invokes (None for a module load), as adaptive dispatch costs it.
  pub fn method(&self) -> Option<MethodKey> {
    match self.job {
      Job::Invoke { method, .. } => Some((self.module, method)),
      Job::Load { .. } => None,
    }
  }

  pub fn is_load(&self) -> bool {
    matches!(self.job, Job::Load { .. })
  }

  pub fn ticket(&self) -> Option<Ticket> {
    match self.state {
      CallState::Queued { ticket } => Some(ticket),
      _ => None,
    }
  }

  /// The worker it runs on, abandoned or not.
  pub fn worker(&self) -> Option<WorkerId> {
    match self.state {
      CallState::Queued { .. } => None,
      CallState::Running { worker, .. } | CallState::Abandoned { worker, .. } => Some(worker),
    }
  }

  pub fn is_abandoned(&self) -> bool {
    matches!(self.state, CallState::Abandoned { .. })
  }

  /// Items of its stream the worker may still send, once its result is a stream.
  pub fn stream_credit(&self) -> Option<u32> {
    match self.state {
      CallState::Queued { .. } => None,
      CallState::Running { stream, .. } | CallState::Abandoned { stream, .. } => stream,
    }
  }

  /// Its stream has begun and its worker has sent all the items it had credit for: it waits on
  /// the caller's reader.
  pub fn waits_on_reader(&self) -> bool {
    self.stream_credit() == Some(0) && !self.is_abandoned()
  }

  /// Its result is a stream that has begun: the caller has items, so it is never sent again.
  pub fn is_streaming(&self) -> bool {
    self.stream_credit().is_some()
  }

  /// Queued → Running on `worker`.
  pub fn dispatch(&mut self, worker: WorkerId) {
    debug_assert!(matches!(self.state, CallState::Queued { .. }), "dispatched a call that is not queued");
    self.attempts += 1;
    self.state = CallState::Running { worker, stream: None };
  }

  /// Running → Queued again (its worker died; it is retried).
  pub fn requeue(&mut self, ticket: Ticket) {
    debug_assert!(matches!(self.state, CallState::Running { stream: None, .. }), "requeued a call that cannot be");
    self.state = CallState::Queued { ticket };
  }

  /// Running → Abandoned; the worker it keeps running on. None for a queued call (dropped by the
  /// caller) or one already abandoned.
  pub fn abandon(&mut self) -> Option<WorkerId> {
    match self.state {
      CallState::Running { worker, stream } => {
        self.state = CallState::Abandoned { worker, stream };
        Some(worker)
      }
      CallState::Queued { .. } | CallState::Abandoned { .. } => None,
    }
  }

  /// Its result became a stream: the worker may send a window of items.
  pub fn start_stream(&mut self) {
    self.set_stream(Some(STREAM_WINDOW));
  }

  /// One item of its stream arrived (the scheduler checked there was credit for it).
  pub fn take_item(&mut self) {
    let credit = self.stream_credit().map(|c| c - 1);
    self.set_stream(credit);
  }

  /// The caller read `items` more: the worker may send that many more.
  pub fn grant(&mut self, items: u32) {
    let credit = self.stream_credit().map(|c| c.saturating_add(items));
    self.reads = self.reads.wrapping_add(1);
    self.set_stream(credit);
  }

  fn set_stream(&mut self, credit: Option<u32>) {
    match &mut self.state {
      CallState::Running { stream, .. } | CallState::Abandoned { stream, .. } => *stream = credit,
      CallState::Queued { .. } => debug_assert!(false, "a queued call has no stream"),
    }
  }
}
