use std::collections::BTreeSet;

use super::event::{CallId, ModuleId};
use super::id_hash::IdSet;
use super::pace::{MethodKey, Pace};

/// Where a worker is in its life. Changed only through [`Worker`]'s transition methods:
///
/// ```text
///                said Ready                  recycleAfter reached,
///   Starting ─────────────────▶ Ready ──────────────────────────────▶ Recycling
///      │                          │          or it asked (Recycle)        │
///      │ start deadline,          │ idle, close, fatal, corrupt,          │ idle: Retired,
///      │ corrupt, forced close    │ cancel ignored, forced close          │ or as Ready
///      │                          ▼                                       │
///      └──────────────────▶ Leaving(Leave) ◀─────────────────────────────┘
///                                 │ exited (and reaped)
///                                 ▼
///                              removed
/// ```
///
/// Every exit is news except one from `Leaving`: the scheduler asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
  /// Spawn requested; not yet ready for calls.
  Starting,
  Ready,
  /// Finishes the calls it has, takes nothing new, and is retired once idle.
  Recycling,
  /// On its way out: it takes no calls and its exit is awaited.
  Leaving(Leave),
}

/// Why a worker is leaving, which decides what its last words mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leave {
  /// Its channel was closed so it exits by itself: anything it sends now breaks the protocol.
  Retired,
  /// It reported an uncaught exception, after which it exits by itself.
  Exiting,
  /// Signalled: a start that never became ready, a cancelled call it did not stop, a forced close.
  Stopped,
  /// SIGKILLed for breaking the protocol: nothing it still sends is read.
  Shunned,
}

#[derive(Debug)]
pub struct Worker {
  state: WorkerState,
  /// Its place in the pool, 1 to `limit`: no other live worker has it (the worker's `workerId`).
  pub slot: u32,
  pub pid: Option<u32>,
  pub in_flight: BTreeSet<CallId>,
  /// Calls in flight that said they await something (or stream): they do not hold its thread.
  pub awaiting: BTreeSet<CallId>,
  /// How many of the calls holding its thread are of each method (a module load is of none):
  /// what it holds is costed from these at the costs its pace knows now.
  held_methods: Vec<(MethodKey, u32)>,
  /// How much it may be handed at once, from what it reports of itself.
  pub pace: Pace,
  pub modules: IdSet<ModuleId>,
  /// Changes whenever the worker gets work (a stale idle timer can tell it is stale); a lower
  /// one got work longer ago.
  pub generation: u64,
  /// Calls it has finished, for `recycleAfter`.
  pub completed: u64,
  /// It said it was ready, asked to be replaced (`Recycle`), reported an uncaught exception
  /// (`Fatal`): each is said once, and saying it again means nothing and breaks the protocol.
  /// What it said is not where it is: a worker stopped for a slow start may still say Ready.
  pub said_ready: bool,
  /// The pool's count of consecutive failed starts when this worker said Ready (which clears
  /// it): restored if that Ready turns out forged (a second one follows, the shim's own).
  pub failed_starts_before: u32,
  /// It said Ready twice: the first was forged, so it never really started (a failed start).
  pub forged_ready: bool,
  /// It answered a call or said one awaits since its latest `Pace`: a report has news to cover.
  pub news_since_pace: bool,
  pub asked_recycle: bool,
  pub sent_fatal: bool,
  /// The call its uncaught-exception report named, when that call was in flight on it, or the
  /// cancelled call it did not stop within the grace (the pool killed it over that): its death is
  /// that call's, not its other calls' (unless it breaks the protocol after all).
  pub died_of: Option<CallId>,
  /// Its channel ended (it closed its end, or the stream broke): nothing more comes from it, and
  /// it must exit by itself within the leave grace or be stopped.
  pub channel_ended: bool,
  /// Since when (the scheduler's clock) it has had a call in flight, while it has one: its busy
  /// time, for the pool's utilisation.
  pub busy_since: Option<u64>,
}

impl Worker {
  pub fn starting(slot: u32) -> Self {
    Worker {
      state: WorkerState::Starting,
      slot,
      pid: None,
      in_flight: BTreeSet::new(),
      awaiting: BTreeSet::new(),
      held_methods: Vec::new(),
      pace: Pace::default(),
      modules: IdSet::default(),
      generation: 0,
      completed: 0,
      said_ready: false,
      failed_starts_before: 0,
      forged_ready: false,
      news_since_pace: false,
      asked_recycle: false,
      sent_fatal: false,
      died_of: None,
      channel_ended: false,
      busy_since: None,
    }
  }

  pub fn state(&self) -> WorkerState {
    self.state
  }

  pub fn load(&self) -> usize {
    self.in_flight.len()
  }

  /// Calls in flight that hold its thread: running synchronously or waiting to.
  pub fn held(&self) -> usize {
    self.in_flight.len() - self.awaiting.len()
  }

  /// Microseconds of work the calls holding its thread are thought to cost (`Pace::charge`).
  pub fn held_cost(&self) -> u64 {
    self.held_methods.iter().map(|&(m, n)| self.pace.charge(m).saturating_mul(u64::from(n))).sum()
  }

  /// Calls that await, or hold its thread and may await (`Pace::may_await`): what its room for
  /// calls that await counts.
  pub fn awaiting_load(&self) -> usize {
    let may_await: u32 = self.held_methods.iter().filter(|&&(m, _)| self.pace.may_await(m)).map(|&(_, n)| n).sum();
    self.awaiting.len() + may_await as usize
  }

  /// The call, of `method` (None for a module load), is sent to it.
  pub fn put_on(&mut self, call: CallId, method: Option<MethodKey>) {
    self.in_flight.insert(call);
    self.count_held(method, true);
  }

  /// The call, of `method`, stopped holding its thread: it awaits, or streams.
  pub fn set_awaiting(&mut self, call: CallId, method: Option<MethodKey>) {
    if self.in_flight.contains(&call) && self.awaiting.insert(call) {
      self.count_held(method, false);
    }
  }

  /// The call, of `method`, left it (answered, or failed over); false if it was not in flight.
  pub fn take_off(&mut self, call: &CallId, method: Option<MethodKey>) -> bool {
    let awaited = self.awaiting.remove(call);
    let was_on = self.in_flight.remove(call);
    if was_on && !awaited {
      self.count_held(method, false);
    }
    was_on
  }

  fn count_held(&mut self, method: Option<MethodKey>, more: bool) {
    let Some(method) = method else { return };
    match self.held_methods.iter().position(|&(m, _)| m == method) {
      Some(at) if more => self.held_methods[at].1 += 1,
      Some(at) => {
        self.held_methods[at].1 -= 1;
        if self.held_methods[at].1 == 0 {
          self.held_methods.swap_remove(at);
        }
      }
      None => {
        debug_assert!(more, "a held call of a method not counted");
        self.held_methods.push((method, 1));
      }
    }
  }

  /// Forgets every call (a forced close).
  pub fn clear_calls(&mut self) {
    self.in_flight.clear();
    self.awaiting.clear();
    self.held_methods.clear();
  }

  /// How many held calls of each method it counts, sorted, for tests.
  #[cfg(test)]
  pub fn held_methods(&self) -> Vec<(MethodKey, u32)> {
    let mut counts = self.held_methods.clone();
    counts.sort_unstable();
    counts
  }

  pub fn is_starting(&self) -> bool {
    self.state == WorkerState::Starting
  }

  pub fn is_ready(&self) -> bool {
    self.state == WorkerState::Ready
  }

  pub fn is_leaving(&self) -> bool {
    matches!(self.state, WorkerState::Leaving(_))
  }

  /// Not on its way out (it counts towards `minimum`).
  pub fn is_staying(&self) -> bool {
    matches!(self.state, WorkerState::Starting | WorkerState::Ready)
  }

  /// Killed for breaking the protocol: nothing it sends is news.
  pub fn is_shunned(&self) -> bool {
    self.state == WorkerState::Leaving(Leave::Shunned)
  }

  /// Signalled to stop (a start that never became ready, a cancel it ignored, a forced close).
  pub fn is_stopped(&self) -> bool {
    self.state == WorkerState::Leaving(Leave::Stopped)
  }

  /// Retired: it may send nothing more.
  pub fn is_retired(&self) -> bool {
    self.state == WorkerState::Leaving(Leave::Retired)
  }

  /// Starting → Ready; true if it was starting.
  pub fn become_ready(&mut self) -> bool {
    let was_starting = self.is_starting();
    if was_starting {
      self.state = WorkerState::Ready;
    }
    was_starting
  }

  /// Ready → Recycling; true if it was ready.
  pub fn recycle(&mut self) -> bool {
    let was_ready = self.is_ready();
    if was_ready {
      self.state = WorkerState::Recycling;
    }
    was_ready
  }

  /// Any state → Leaving. A worker already leaving keeps its first reason, except that breaking
  /// the protocol overrides any: from then on nothing it sends is read.
  pub fn leave(&mut self, why: Leave) {
    match self.state {
      WorkerState::Leaving(_) if why != Leave::Shunned => {}
      _ => self.state = WorkerState::Leaving(why),
    }
  }
}
