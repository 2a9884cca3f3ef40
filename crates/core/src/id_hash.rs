use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for the pool's own ids (calls, modules, workers): small integers from our counters,
/// so nobody can choose them to collide, and the SipHash that std defaults to (a defence against
/// chosen keys) is wasted work on every call. Multiply-rotate, as in rustc's FxHash.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl IdHasher {
  fn add(&mut self, word: u64) {
    self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
  }
}

impl Hasher for IdHasher {
  fn finish(&self) -> u64 {
    self.0
  }

  fn write(&mut self, bytes: &[u8]) {
    for &byte in bytes {
      self.add(u64::from(byte));
    }
  }

  fn write_u32(&mut self, n: u32) {
    self.add(u64::from(n));
  }

  fn write_u64(&mut self, n: u64) {
    self.add(n);
  }

  fn write_usize(&mut self, n: usize) {
    self.add(n as u64);
  }

  fn write_isize(&mut self, n: isize) {
    self.add(n as u64);
  }
}

pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;
