//! Durations in microseconds, kept as counts in buckets of bounded relative width, so a pool that
//! has run billions of calls answers its percentiles in the same memory as one that ran ten.

/// Sub-buckets per power of two: a bucket is at most 1/16 of its values wide (6.25%).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Values below `SUB` get one exact bucket each; every power of two above gets `SUB` buckets.
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

#[derive(Clone, Debug)]
pub struct Histogram {
  counts: Box<[u64; BUCKETS]>,
  count: u64,
  sum: u128,
  min: u64,
  max: u64,
}

impl Default for Histogram {
  fn default() -> Self {
    Histogram { counts: Box::new([0; BUCKETS]), count: 0, sum: 0, min: u64::MAX, max: 0 }
  }
}

/// A distribution as `pool.stats()` reports it, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
  pub count: u64,
  pub mean: u64,
  pub min: u64,
  pub max: u64,
  pub p50: u64,
  pub p90: u64,
  pub p99: u64,
}

impl Histogram {
  pub fn record(&mut self, us: u64) {
    self.counts[bucket(us)] += 1;
    self.count += 1;
    self.sum += u128::from(us);
    self.min = self.min.min(us);
    self.max = self.max.max(us);
  }

  pub fn summary(&self) -> Summary {
    if self.count == 0 {
      return Summary::default();
    }
    Summary {
      count: self.count,
      mean: (self.sum / u128::from(self.count)) as u64,
      min: self.min,
      max: self.max,
      p50: self.quantile(0.50),
      p90: self.quantile(0.90),
      p99: self.quantile(0.99),
    }
  }

  /// The smallest recorded value's bucket such that at least `q` of the values are at or below
  /// it, as that bucket's middle, kept within the values seen (so one value reads back exactly
  /// as itself at the extremes).
  fn quantile(&self, q: f64) -> u64 {
    let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
    let mut seen = 0;
    for (index, &n) in self.counts.iter().enumerate() {
      seen += n;
      if seen >= rank {
        let (low, high) = bounds(index);
        return (low + (high - low) / 2).clamp(self.min, self.max);
      }
    }
    self.max
  }
}

fn bucket(us: u64) -> usize {
  if us < SUB as u64 {
    return us as usize;
  }
  let top = 63 - us.leading_zeros();
  let shift = top - SUB_BITS;
  let sub = ((us >> shift) as usize) & (SUB - 1);
  SUB + (shift as usize) * SUB + sub
}

/// The values bucket `index` holds: `[low, high]`.
fn bounds(index: usize) -> (u64, u64) {
  if index < SUB {
    return (index as u64, index as u64);
  }
  let shift = ((index - SUB) / SUB) as u32;
  let sub = ((index - SUB) % SUB) as u64;
  let low = (SUB as u64 + sub) << shift;
  let width = 1u64 << shift;
  (low, low.saturating_add(width - 1))
}

#[cfg(test)]
mod tests {
  use proptest::prelude::*;

  use super::*;

  #[test]
  fn an_empty_histogram_says_nothing() {
    assert_eq!(Histogram::default().summary(), Summary::default());
  }

  #[test]
  fn every_value_falls_in_a_bucket_that_holds_it() {
    for us in (0..5000).chain([u64::MAX, u64::MAX - 1, 1 << 40, (1 << 40) - 1]) {
      let (low, high) = bounds(bucket(us));
      assert!(low <= us && us <= high, "{us} in [{low}, {high}]");
    }
  }

  proptest! {
    /// Each percentile is within a bucket's width (1/16) of the exact one, of values of any size.
    #[test]
    fn percentiles_are_within_a_sixteenth_of_the_exact_ones(
      values in prop::collection::vec(prop_oneof![0u64..100, 0u64..100_000, 0u64..u64::MAX / 2], 1..400),
    ) {
      let mut h = Histogram::default();
      for &v in &values {
        h.record(v);
      }
      let mut sorted = values.clone();
      sorted.sort_unstable();
      let s = h.summary();
      prop_assert_eq!(s.count, values.len() as u64);
      prop_assert_eq!(s.min, sorted[0]);
      prop_assert_eq!(s.max, *sorted.last().unwrap());
      for (q, got) in [(0.5, s.p50), (0.9, s.p90), (0.99, s.p99)] {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        let exact = sorted[rank - 1];
        let slack = exact / 16 + 1;
        prop_assert!(got.abs_diff(exact) <= slack, "p{} = {} for exact {}", q * 100.0, got, exact);
      }
    }
  }
}
