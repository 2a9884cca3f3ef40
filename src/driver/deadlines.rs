use std::collections::BTreeSet;
use std::hash::Hash;

use crate::core::IdMap;

/// Every timer of a pool, behind one libuv timer set to the earliest. Re-arming a key moves its
/// deadline instead of adding one: a worker's idle timer is re-armed on every call under load,
/// and a call's timeout must go when the call settles.
pub struct Deadlines<K, V> {
  by_time: BTreeSet<(u64, K)>,
  by_key: IdMap<K, (u64, V)>,
}

impl<K: Copy + Ord + Hash, V> Default for Deadlines<K, V> {
  fn default() -> Self {
    Deadlines { by_time: BTreeSet::new(), by_key: IdMap::default() }
  }
}

impl<K: Copy + Ord + Hash, V> Deadlines<K, V> {
  /// Sets `key` to fire at `at` with `value`, replacing what it was armed with.
  pub fn arm(&mut self, key: K, at: u64, value: V) {
    if let Some((old, _)) = self.by_key.insert(key, (at, value)) {
      self.by_time.remove(&(old, key));
    }
    self.by_time.insert((at, key));
  }

  pub fn cancel(&mut self, key: K) {
    if let Some((at, _)) = self.by_key.remove(&key) {
      self.by_time.remove(&(at, key));
    }
  }

  #[cfg(test)]
  pub fn is_armed(&self, key: K) -> bool {
    self.by_key.contains_key(&key)
  }

  /// The earliest deadline, if any.
  pub fn next(&self) -> Option<u64> {
    self.by_time.first().map(|&(at, _)| at)
  }

  /// Takes one timer that is due at `now`, earliest first.
  pub fn pop_due(&mut self, now: u64) -> Option<(K, V)> {
    let &(at, key) = self.by_time.first()?;
    if at > now {
      return None;
    }
    self.by_time.remove(&(at, key));
    self.by_key.remove(&key).map(|(_, value)| (key, value))
  }

  #[cfg(test)]
  pub fn len(&self) -> usize {
    self.by_key.len()
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use proptest::prelude::*;
  use std::collections::HashMap;

  #[test]
  fn rearming_moves_the_deadline() {
    let mut d = Deadlines::default();
    d.arm(1, 10, "a");
    d.arm(2, 20, "b");
    d.arm(1, 30, "c");
    assert_eq!(d.len(), 2);
    assert_eq!(d.pop_due(25), Some((2, "b")));
    assert_eq!(d.pop_due(25), None);
    assert_eq!(d.next(), Some(30));
    assert_eq!(d.pop_due(30), Some((1, "c")));
    assert_eq!(d.next(), None);
  }

  #[test]
  fn a_cancelled_timer_never_fires() {
    let mut d = Deadlines::default();
    d.arm(7, 5, ());
    d.cancel(7);
    assert!(!d.is_armed(7));
    assert_eq!(d.pop_due(100), None);
  }

  proptest! {
    /// Against a plain map: the set fires exactly the keys whose latest arming is due and not
    /// cancelled, in deadline order, each once.
    #[test]
    fn fires_what_a_map_of_latest_armings_says(ops in prop::collection::vec((0u8..3, 0u8..8, 0u64..100), 0..200)) {
      let mut d = Deadlines::default();
      let mut model: HashMap<u8, u64> = HashMap::new();
      let mut now = 0;
      for (op, key, t) in ops {
        match op {
          0 => { d.arm(key, now + t, now + t); model.insert(key, now + t); }
          1 => { d.cancel(key); model.remove(&key); }
          _ => {
            now += t;
            let mut last = 0;
            while let Some((key, at)) = d.pop_due(now) {
              prop_assert!(at <= now && at >= last);
              prop_assert_eq!(model.remove(&key), Some(at));
              last = at;
            }
            prop_assert!(model.values().all(|&at| at > now));
          }
        }
        prop_assert_eq!(d.len(), model.len());
        prop_assert_eq!(d.next(), model.values().min().copied());
      }
    }
  }
}
