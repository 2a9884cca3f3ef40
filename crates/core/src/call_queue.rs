//! The calls waiting for a worker: the highest priority first, first in, first out within a
//! priority, and a call that failed over goes back to the front of its priority. A cancelled call
//! leaves from anywhere in it, which must cost the same however long the queue is: its entry
//! stays where it is, marked, and is dropped when it reaches the front. The marks are swept out
//! once they outnumber the live entries, so the queue never holds more than about twice what is
//! live. Each priority in use has its own line; taking the front costs O(log p) for p priorities.

use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};

use super::event::CallId;
use super::id_hash::IdSet;

/// Names one entry; never reused over the queue's life, so a stale mark cannot hit a new entry.
pub type Ticket = u64;

/// Marks below this many are never swept: a sweep walks the whole queue.
const SWEEP_AT: usize = 64;

/// A call's `priority`: a higher one leaves the queue first. Ordered as numbers are, with -0 the
/// same as 0 and NaN (which the JS layer refuses) as 0, so the order is total.
#[derive(Clone, Copy, Debug, Default)]
pub struct Priority(f64);

impl Priority {
  pub fn new(value: f64) -> Self {
    Priority(if value == 0.0 || value.is_nan() { 0.0 } else { value })
  }

  pub fn value(self) -> f64 {
    self.0
  }
}

impl PartialEq for Priority {
  fn eq(&self, other: &Self) -> bool {
    self.cmp(other) == Ordering::Equal
  }
}

impl Eq for Priority {}

impl PartialOrd for Priority {
  fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
    Some(self.cmp(other))
  }
}

impl Ord for Priority {
  fn cmp(&self, other: &Self) -> Ordering {
    self.0.total_cmp(&other.0)
  }
}

#[derive(Debug, Default)]
pub struct CallQueue {
  /// One line per priority with entries (live or marked), the highest last; the default
  /// priority's line may be empty.
  lines: BTreeMap<Priority, VecDeque<(Ticket, CallId)>>,
  /// Entries in `lines`, marked ones included.
  entries: usize,
  removed: IdSet<Ticket>,
  next: Ticket,
}

impl CallQueue {
  /// Live entries.
  pub fn len(&self) -> usize {
    self.entries - self.removed.len()
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  /// Behind every entry of its priority.
  pub fn push_back(&mut self, call: CallId, priority: Priority) -> Ticket {
    let ticket = self.ticket();
    self.entries += 1;
    self.lines.entry(priority).or_default().push_back((ticket, call));
    ticket
  }

  /// Ahead of every entry of its priority (behind those of higher ones).
  pub fn push_front(&mut self, call: CallId, priority: Priority) -> Ticket {
    let ticket = self.ticket();
    self.entries += 1;
    self.lines.entry(priority).or_default().push_front((ticket, call));
    ticket
  }

  /// Takes out the entry `ticket` names. It must be live: handed out and not popped or removed.
  pub fn remove(&mut self, ticket: Ticket) {
    self.removed.insert(ticket);
    if self.removed.len() > SWEEP_AT && self.removed.len() > self.len() {
      let removed = std::mem::take(&mut self.removed);
      for line in self.lines.values_mut() {
        line.retain(|(ticket, _)| !removed.contains(ticket));
      }
      self.lines.retain(|priority, line| !line.is_empty() || *priority == Priority::default());
      self.entries = self.lines.values().map(VecDeque::len).sum();
    }
  }

  /// The first live entry.
  pub fn front(&mut self) -> Option<CallId> {
    let priority = self.front_line()?;
    self.lines[&priority].front().map(|&(_, call)| call)
  }

  pub fn pop_front(&mut self) -> Option<CallId> {
    let priority = self.front_line()?;
    let line = self.lines.get_mut(&priority).expect("front_line names a line");
    let (_, call) = line.pop_front().expect("front_line names a line with a live front");
    self.entries -= 1;
    if line.is_empty() {
      self.drop_line(priority);
    }
    Some(call)
  }

  /// The priority of the line whose front is the first live entry, the marks ahead of it dropped.
  fn front_line(&mut self) -> Option<Priority> {
    loop {
      // Only the default line stays when empty; any other is dropped once it empties.
      let (&priority, line) = self.lines.iter_mut().rev().find(|(_, line)| !line.is_empty())?;
      while let Some(&(ticket, _)) = line.front() {
        if self.removed.is_empty() || !self.removed.remove(&ticket) {
          return Some(priority);
        }
        line.pop_front();
        self.entries -= 1;
      }
      self.drop_line(priority);
    }
  }

  /// Forgets an empty line, except the default priority's: most queues only ever use that one,
  /// and keeping it saves an allocation per call that passes through the queue.
  fn drop_line(&mut self, priority: Priority) {
    if priority != Priority::default() {
      self.lines.remove(&priority);
    }
  }

  pub fn clear(&mut self) {
    self.lines.clear();
    self.entries = 0;
    self.removed.clear();
  }

  /// Live entries, front first.
  pub fn iter(&self) -> impl Iterator<Item = CallId> + '_ {
    self.lines.values().rev().flatten().filter(|(ticket, _)| !self.removed.contains(ticket)).map(|(_, call)| *call)
  }

  fn ticket(&mut self) -> Ticket {
    self.next += 1;
    self.next
  }
}

#[cfg(test)]
mod tests {
  use proptest::prelude::*;

  use super::*;

  #[derive(Clone, Debug)]
  enum Op {
    Back(i8),
    Front(i8),
    Pop,
    Remove(usize),
  }

  /// The model: entries in the order they were put in (a front push goes first), popped as the
  /// first one of the highest priority.
  fn model_front(model: &[(Ticket, CallId, i8)]) -> Option<usize> {
    let top = model.iter().map(|e| e.2).max()?;
    model.iter().position(|e| e.2 == top)
  }

  proptest! {
    /// The queue behaves exactly like a plain list walked for its highest priority.
    #[test]
    fn behaves_like_a_list_by_priority(ops in prop::collection::vec(prop_oneof![
      3 => (-2i8..3).prop_map(Op::Back), 1 => (-2i8..3).prop_map(Op::Front), 2 => Just(Op::Pop),
      3 => any::<usize>().prop_map(Op::Remove),
    ], 0..600)) {
      let mut queue = CallQueue::default();
      let mut model: Vec<(Ticket, CallId, i8)> = Vec::new();
      let mut next_call = 0;
      for op in ops {
        match op {
          Op::Back(p) => {
            next_call += 1;
            model.push((queue.push_back(next_call, Priority::new(p.into())), next_call, p))
          }
          Op::Front(p) => {
            next_call += 1;
            model.insert(0, (queue.push_front(next_call, Priority::new(p.into())), next_call, p))
          }
          Op::Pop => prop_assert_eq!(queue.pop_front(), model_front(&model).map(|i| model.remove(i).1)),
          Op::Remove(n) => if !model.is_empty() {
            let (ticket, _, _) = model.remove(n % model.len());
            queue.remove(ticket);
          },
        }
        prop_assert_eq!(queue.len(), model.len());
        prop_assert!(queue.entries <= 2 * model.len() + SWEEP_AT + 1, "marks are swept");
        let mut expected = model.clone();
        expected.sort_by_key(|e| std::cmp::Reverse(e.2));
        prop_assert_eq!(queue.iter().collect::<Vec<_>>(), expected.iter().map(|e| e.1).collect::<Vec<_>>());
      }
    }
  }

  #[test]
  fn priorities_are_ordered_as_numbers() {
    let order = [f64::NEG_INFINITY, -1e300, -1.5, -0.0, 0.0, f64::NAN, 1e-300, 2.0, f64::INFINITY];
    let priorities: Vec<Priority> = order.iter().map(|&p| Priority::new(p)).collect();
    assert!(priorities.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(Priority::new(-0.0), Priority::new(0.0));
    assert_eq!(Priority::new(f64::NAN), Priority::default());
  }
}
