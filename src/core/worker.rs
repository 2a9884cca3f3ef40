use std::collections::BTreeSet;

use super::id_hash::IdSet;

use super::event::{CallId, ModuleId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
  /// Spawn requested; not yet ready for calls.
  Starting,
  Ready,
  /// Finishes the calls it has, takes nothing new, and is retired once idle (recycling).
  Draining,
  /// Its channel is closed (or it was killed); it takes no calls and its exit is awaited.
  Leaving,
}

#[derive(Debug)]
pub struct Worker {
  pub state: WorkerState,
  pub pid: Option<u32>,
  pub in_flight: BTreeSet<CallId>,
  pub modules: IdSet<ModuleId>,
  /// Changes whenever the worker gets work (a stale idle timer can tell it is stale); a lower
  /// one got work longer ago.
  pub generation: u64,
  /// Set when the scheduler retired or killed it on purpose: its exit is not news.
  pub expected_exit: bool,
  /// The pool closed its channel: anything it sends now breaks the protocol.
  pub channel_closed: bool,
  /// Calls it has finished, for `recycleAfter`.
  pub completed: u64,
  /// SIGKILLed for breaking the protocol: later frames from it are not news.
  pub killed: bool,
  /// It said it was ready, asked to be replaced (`Recycle`), reported an uncaught exception
  /// (`Fatal`): each is said once, and saying it again means nothing and breaks the protocol.
  pub said_ready: bool,
  pub asked_recycle: bool,
  pub sent_fatal: bool,
}

impl Worker {
  pub fn starting() -> Self {
    Worker {
      state: WorkerState::Starting,
      pid: None,
      in_flight: BTreeSet::new(),
      modules: IdSet::default(),
      generation: 0,
      expected_exit: false,
      channel_closed: false,
      completed: 0,
      killed: false,
      asked_recycle: false,
      said_ready: false,
      sent_fatal: false,
    }
  }

  pub fn load(&self) -> usize {
    self.in_flight.len()
  }
}
