use super::histogram::Summary;

/// A snapshot of a pool, for `pool.stats()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
  /// Workers alive: starting, ready or on their way out.
  pub workers: u32,
  /// Ready workers running at least one call.
  pub busy: u32,
  /// Ready workers running nothing.
  pub idle: u32,
  /// Calls waiting for a worker.
  pub queued: u32,
  /// Calls running on a worker (cancelled ones included until they return).
  pub running: u32,
  /// Calls that returned a value.
  pub completed: u64,
  /// Calls that threw, or that the pool failed (worker deaths, timeouts, closing).
  pub failed: u64,
  /// Times a call was sent again because its worker died.
  pub retried: u64,
  /// Answered method calls: from submission to the dispatch that answered, and from that
  /// dispatch to the answer (microseconds on the driver's clock).
  pub wait: Summary,
  pub run: Summary,
  /// Worker time spent with at least one call in flight, and what `limit` workers could have
  /// spent since the pool started: their ratio is the pool's utilisation.
  pub busy_us: u64,
  pub capacity_us: u64,
}
