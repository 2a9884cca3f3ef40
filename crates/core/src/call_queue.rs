//! The calls waiting for a worker: first in, first out, and a call that failed over goes back to
//! the front. A cancelled call leaves from anywhere in it, which must cost the same however long
//! the queue is: its entry stays where it is, marked, and is dropped when it reaches the front.
//! The marks are swept out once they outnumber the live entries, so the queue never holds more
//! than about twice what is live.

use std::collections::VecDeque;

use super::event::CallId;
use super::id_hash::IdSet;

/// Names one entry; never reused over the queue's life, so a stale mark cannot hit a new entry.
pub type Ticket = u64;

/// Marks below this many are never swept: a sweep walks the whole queue.
const SWEEP_AT: usize = 64;

#[derive(Debug, Default)]
pub struct CallQueue {
  entries: VecDeque<(Ticket, CallId)>,
  removed: IdSet<Ticket>,
  next: Ticket,
}

impl CallQueue {
  /// Live entries.
  pub fn len(&self) -> usize {
    self.entries.len() - self.removed.len()
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  pub fn push_back(&mut self, call: CallId) -> Ticket {
    let ticket = self.ticket();
    self.entries.push_back((ticket, call));
    ticket
  }

  pub fn push_front(&mut self, call: CallId) -> Ticket {
    let ticket = self.ticket();
    self.entries.push_front((ticket, call));
    ticket
  }

  /// Takes out the entry `ticket` names. It must be live: handed out and not popped or removed.
  pub fn remove(&mut self, ticket: Ticket) {
    self.removed.insert(ticket);
    if self.removed.len() > SWEEP_AT && self.removed.len() > self.len() {
      let removed = std::mem::take(&mut self.removed);
      self.entries.retain(|(ticket, _)| !removed.contains(ticket));
    }
  }

  /// The first live entry.
  pub fn front(&mut self) -> Option<CallId> {
    while let Some(&(ticket, call)) = self.entries.front() {
      if self.removed.is_empty() || !self.removed.remove(&ticket) {
        return Some(call);
      }
      self.entries.pop_front();
    }
    None
  }

  pub fn pop_front(&mut self) -> Option<CallId> {
    let call = self.front()?;
    self.entries.pop_front();
    Some(call)
  }

  pub fn clear(&mut self) {
    self.entries.clear();
    self.removed.clear();
  }

  /// Live entries, front first.
  pub fn iter(&self) -> impl Iterator<Item = CallId> + '_ {
    self.entries.iter().filter(|(ticket, _)| !self.removed.contains(ticket)).map(|(_, call)| *call)
  }

  fn ticket(&mut self) -> Ticket {
    self.next += 1;
    self.next
  }
}

#[cfg(test)]
mod tests {
  use std::collections::VecDeque;

  use proptest::prelude::*;

  use super::*;

  #[derive(Clone, Debug)]
  enum Op {
    Back,
    Front,
    Pop,
    Remove(usize),
  }

  proptest! {
    /// The queue behaves exactly like a plain deque whose removals walk it.
    #[test]
    fn behaves_like_a_deque(ops in prop::collection::vec(prop_oneof![
      3 => Just(Op::Back), 1 => Just(Op::Front), 2 => Just(Op::Pop), 3 => any::<usize>().prop_map(Op::Remove),
    ], 0..600)) {
      let mut queue = CallQueue::default();
      let mut model: VecDeque<(Ticket, CallId)> = VecDeque::new();
      let mut next_call = 0;
      for op in ops {
        match op {
          Op::Back => { next_call += 1; model.push_back((queue.push_back(next_call), next_call)) }
          Op::Front => { next_call += 1; model.push_front((queue.push_front(next_call), next_call)) }
          Op::Pop => prop_assert_eq!(queue.pop_front(), model.pop_front().map(|(_, call)| call)),
          Op::Remove(n) => if !model.is_empty() {
            let (ticket, _) = model.remove(n % model.len()).unwrap();
            queue.remove(ticket);
          },
        }
        prop_assert_eq!(queue.len(), model.len());
        prop_assert!(queue.entries.len() <= 2 * model.len() + SWEEP_AT + 1, "marks are swept");
        prop_assert_eq!(queue.iter().collect::<Vec<_>>(), model.iter().map(|(_, call)| *call).collect::<Vec<_>>());
      }
    }
  }
}
