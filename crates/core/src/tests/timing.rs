//! Time enters the scheduler only with events (`handle_at`): the wait and run times of calls, the
//! pool's busy time, and what a traced call says of where it ran are computed from it.

use super::sim::*;

/// One worker, started at 1 ms; a call waits for it from 0, runs 2 ms.
#[test]
fn a_call_waits_from_its_submission_and_runs_from_its_dispatch() {
  let mut sim = Sim::new(config(1, 0, 0));
  sim.submit(1, false); // the load: it starts the worker
  sim.now = 1_000;
  sim.start(1);
  sim.answer(1, true);
  sim.now = 1_500;
  sim.submit(1, false); // call 2, dispatched at once
  sim.now = 3_500;
  assert!(sim.answer(1, true));
  let stats = sim.sched.stats_at(sim.now);
  // Loads are not calls: only call 2 counts.
  assert_eq!((stats.wait.count, stats.wait.p50, stats.run.p50, stats.run.max), (1, 0, 2_000, 2_000));
  // Busy while the load ran (nothing: it answered at 1 ms) and while call 2 ran.
  assert_eq!(stats.busy_us, 2_000);
  assert_eq!(stats.capacity_us, 3_500);
}

#[test]
fn a_queued_call_waits_until_a_worker_takes_it() {
  let mut sim = Sim::with_module(config(1, 1, 1));
  sim.submit(1, false); // call 2 runs
  sim.submit(1, false); // call 3 waits
  sim.now = 4_000;
  sim.answer(1, true);
  sim.now = 5_000;
  sim.answer(1, true);
  let stats = sim.sched.stats_at(sim.now);
  assert_eq!((stats.wait.count, stats.wait.min, stats.wait.max), (2, 0, 4_000));
  assert_eq!((stats.run.min, stats.run.max), (1_000, 4_000));
  // The worker ran calls from 0 to 5 ms without a break; then it is idle, and time still passes.
  assert_eq!(sim.sched.stats_at(10_000).busy_us, 5_000);
  assert_eq!(sim.sched.stats_at(10_000).capacity_us, 10_000);
}

/// Call 3 (traced: the simulation traces odd ids) is submitted at 1 ms, its worker dies at 2 ms,
/// and a new one answers it from 3 to 3.5 ms. (An untraced call that says `Traced` fails the
/// simulation's own checks.)
#[test]
fn a_traced_call_says_which_worker_and_attempt_answered_it() {
  let mut sim = Sim::with_module(config(1, 1, 0));
  sim.submit(1, false);
  assert!(sim.answer(1, true)); // call 2, untraced
  sim.now = 1_000;
  sim.submit(1, false);
  sim.now = 2_000;
  sim.exit(1, 1);
  sim.now = 3_000;
  sim.start(2);
  sim.now = 3_500;
  assert!(sim.answer(2, true));
  assert_eq!(sim.traced[&3], Some((Some(1002), 2, 2_000, 500)));
  assert_eq!(sim.traced.len(), 1);
}

/// `exit_expected`: what `invoke-parallel:worker-exit` says, and what counts as a death.
#[test]
fn an_exit_is_expected_only_when_the_pool_retired_or_force_closed_the_worker() {
  // Recycled after one call, then retired: expected.
  let mut sim = Sim::with_module(crate::PoolConfig { recycle_after: Some(1), ..config(2, 1, 0) });
  sim.submit(1, false);
  assert!(!sim.sched.exit_expected(1));
  assert!(sim.answer(1, true));
  assert!(sim.sched.exit_expected(1));
  // An uncaught exception: it leaves by itself, a death.
  let mut sim = Sim::with_module(config(2, 1, 0));
  sim.submit(1, false);
  sim.event(with_frame(1, Kind::Fatal, 2, |f| f.payload = b"error".to_vec()));
  assert!(!sim.sched.exit_expected(1));
  // Running and never asked to leave: a death.
  let sim = Sim::with_module(config(2, 1, 0));
  assert!(!sim.sched.exit_expected(1));
  // A forced close: expected.
  let mut sim = Sim::with_module(config(2, 1, 0));
  sim.event(crate::Event::Close { force: true });
  assert!(sim.sched.exit_expected(1));
}

/// Utilization is busy time over what `limit` workers could have had while the pool was open: a
/// closed pool has no capacity, so its stats stop with it. Before, `stats()` read after `close()`
/// kept falling toward 0 with every read, as if the closed pool's capacity went on.
#[test]
fn a_closed_pools_busy_time_and_capacity_stop_at_its_close() {
  let mut sim = Sim::with_module(config(1, 1, 0));
  sim.submit(1, false);
  sim.now = 2_000;
  assert!(sim.answer(1, true));
  sim.now = 4_000;
  sim.event(Event::Close { force: false });
  sim.settle_world();
  assert!(sim.sched.is_closed());
  let at_close = sim.sched.stats_at(sim.now);
  let later = sim.sched.stats_at(sim.now + 1_000_000);
  assert_eq!((later.busy_us, later.capacity_us), (at_close.busy_us, at_close.capacity_us));
  assert_eq!((at_close.busy_us, at_close.capacity_us), (2_000, 4_000));
}
