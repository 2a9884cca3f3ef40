//! The stall rule of adaptive dispatch: calls queued only by workers' bounds on calls that await,
//! with nothing progressing anywhere, grow those bounds when the stall timer fires; a worker
//! stuck among workers that work is not grown. Timers fire only when the world has nothing else
//! to do (no clock: a stall is "the timer fired and nothing progressed since it was armed").

use proptest::prelude::*;

use super::sim::*;
use crate::pace::{AWAIT_START, GROWTH};

/// Fires the stall timer if one is armed; false if none is.
fn fire_stall(sim: &mut Sim) -> bool {
  let Some(at) = sim.timers.iter().position(|t| *t == Timer::Stall) else { return false };
  sim.timers.remove(at);
  sim.event(Event::TimerFired { timer: Timer::Stall });
  true
}

/// How a call that waits for the barrier shows it: it awaits, or its result is a stream that
/// sends nothing before the barrier opens (opened, and not read, by a caller that reads later).
#[derive(Clone, Copy, Debug)]
enum Waits {
  Awaiting,
  Streaming,
}

/// `waiters` calls each wait until all of them have arrived (a barrier, an event bus whose `set`
/// comes last, streams opened before any is read), with `others` calls that answer at once
/// among them. Returns how often the stall timer fired.
fn run_barrier(sim: &mut Sim, waiters: &[Waits], others: usize) -> usize {
  let first = sim.next_call;
  let mut kinds = std::collections::HashMap::new();
  let mut other = others;
  for (n, &kind) in waiters.iter().enumerate() {
    kinds.insert(first + (n + others.min(n)) as CallId, kind);
    sim.submit(1, false);
    if other > 0 {
      other -= 1;
      sim.submit(1, false);
    }
  }
  for _ in 0..other {
    sim.submit(1, false);
  }
  let total = waiters.len() + others;
  let mut arrived = std::collections::BTreeSet::new();
  let mut fired = 0;
  for _ in 0..100_000 {
    let mut progressed = false;
    for id in sim.live() {
      let running: Vec<CallId> = sim.world[&id].running.iter().copied().collect();
      for call in running {
        if sim.settled.contains_key(&call) || arrived.contains(&call) {
          continue;
        }
        progressed = true;
        match kinds.get(&call) {
          None => {
            let w = sim.world.get_mut(&id).unwrap();
            w.running.remove(&call);
            w.news = true;
            sim.event(frame(id, Kind::Resolved, call));
          }
          Some(kind) => {
            arrived.insert(call);
            sim.world.get_mut(&id).unwrap().news = true;
            match kind {
              Waits::Awaiting => {
                sim.world.get_mut(&id).unwrap().awaiting.insert(call);
                sim.event(frame(id, Kind::Awaiting, call));
              }
              Waits::Streaming => sim.event(frame(id, Kind::StreamStart, call)),
            }
          }
        }
      }
    }
    if arrived.len() == waiters.len() {
      // The last one arrived: the barrier opens, every waiter answers.
      for id in sim.live() {
        while sim.answer(id, true) {}
      }
      arrived.clear();
      progressed = true;
    }
    if (first..first + total as CallId).all(|c| sim.settled.contains_key(&c)) {
      return fired;
    }
    if !progressed {
      assert!(fire_stall(sim), "stuck with no stall timer armed: {:?}", sim.world);
      fired += 1;
    }
  }
  panic!("the barrier never opened");
}

#[test]
fn a_barrier_of_33_on_one_worker_opens_after_one_stall() {
  // The timer armed as the 32nd call went out fires after they said they await: that was
  // progress, so it is armed again, and the next firing finds a whole interval without any.
  let mut sim = ready_pool(adaptive_config(1, 0));
  let fired = run_barrier(&mut sim, &[Waits::Awaiting; 33], 0);
  assert_eq!(fired, 2);
}

#[test]
fn a_barrier_of_32_needs_no_stall() {
  let mut sim = ready_pool(adaptive_config(1, 0));
  assert_eq!(run_barrier(&mut sim, &[Waits::Awaiting; 32], 0), 0);
}

#[test]
fn the_bound_grows_fourfold_per_stall_and_no_further_than_needed() {
  // 129 waiters: 32, then 128 (the stall), then 512 (a second one).
  let mut sim = ready_pool(adaptive_config(1, 0));
  for _ in 0..129 {
    sim.submit(1, false);
  }
  while sim.await_one(1) {}
  assert_eq!(sim.world[&1].running.len(), AWAIT_START as usize);
  assert!(fire_stall(&mut sim));
  assert_eq!(sim.world[&1].running.len(), AWAIT_START as usize, "calls said they await since it was armed");
  // A stall: room for 128, which go out as those before them say they await.
  assert!(fire_stall(&mut sim));
  while sim.await_one(1) {}
  assert_eq!(sim.world[&1].running.len(), (AWAIT_START * GROWTH) as usize);
  assert!(fire_stall(&mut sim));
  assert_eq!(sim.world[&1].running.len(), (AWAIT_START * GROWTH) as usize);
  assert!(fire_stall(&mut sim));
  while sim.await_one(1) {}
  assert_eq!(sim.world[&1].running.len(), 129);
  assert!(!sim.timers.contains(&Timer::Stall), "nothing queued: no stall to watch for");
}

#[test]
fn a_stall_grows_no_further_than_max_per_child() {
  let mut sim = ready_pool(adaptive_config(1, 40));
  for _ in 0..50 {
    sim.submit(1, false);
  }
  while sim.await_one(1) {}
  while sim.world[&1].running.len() < 40 {
    assert!(fire_stall(&mut sim), "{} running, {:?}", sim.world[&1].running.len(), sim.timers);
    while sim.await_one(1) {}
  }
  assert_eq!(sim.world[&1].running.len(), 40);
  fire_stall(&mut sim);
  assert!(!sim.timers.contains(&Timer::Stall), "held back by maxPerChild, which no stall lifts");
}

#[test]
fn a_saturated_worker_whose_calls_compute_is_no_stall() {
  // Its calls await and then compute: they come back by themselves, and it is full, not stalled.
  let mut sim = ready_pool(adaptive_config(1, 0));
  for _ in 0..300 {
    sim.submit(1, false);
  }
  while sim.await_one(1) {}
  sim.answer(1, true);
  sim.pace(1, 9_000, 10_000);
  while sim.await_one(1) {}
  sim.pace(1, 9_000, 10_000);
  let held = sim.world[&1].running.len();
  for _ in 0..10 {
    fire_stall(&mut sim);
  }
  assert_eq!(sim.world[&1].running.len(), held);
  assert!(!sim.timers.contains(&Timer::Stall));
}

#[test]
fn streams_opened_in_a_busy_burst_are_grown_though_their_worker_last_looked_saturated() {
  // Starting 32 streams kept the loop busy (each sent its window of items); then the worker,
  // waiting for readers, has no news to report: its saturated verdict stays, and no answer
  // explains it.
  let mut sim = ready_pool(adaptive_config(1, 0));
  for _ in 0..40 {
    sim.submit(1, false);
  }
  let start_all = |sim: &mut Sim| loop {
    let fresh: Vec<CallId> = sim.world[&1].running.iter().copied().filter(|c| !sim.credit.contains_key(c)).collect();
    if fresh.is_empty() {
      return;
    }
    for call in fresh {
      sim.event(frame(1, Kind::StreamStart, call));
    }
  };
  start_all(&mut sim);
  sim.pace(1, 9_000, 10_000);
  assert_eq!(sim.world[&1].running.len(), AWAIT_START as usize);
  while fire_stall(&mut sim) {
    start_all(&mut sim);
  }
  assert_eq!(sim.world[&1].running.len(), 40);
}

#[test]
fn eager_dispatch_never_watches_for_a_stall() {
  let mut sim = ready_pool(PoolConfig { adaptive: false, ..adaptive_config(1, 10) });
  for _ in 0..20 {
    sim.submit(1, false);
  }
  assert!(!sim.timers.contains(&Timer::Stall));
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(48))]

  /// Barriers of sizes around the bound and its growth, on one to three workers, with calls that
  /// answer at once among the waiters, and waiters that stream: every call settles.
  #[test]
  fn calls_waiting_on_later_calls_always_settle(
    limit in 1u32..4,
    size in prop_oneof![Just(31usize), Just(32), Just(33), Just(64), Just(65), Just(128), Just(129), Just(130), 1usize..600],
    streams in prop::collection::vec(any::<bool>(), 1..8),
    others in 0usize..40,
    capped in any::<bool>(),
  ) {
    let cap = if capped { size as u32 + others as u32 } else { 0 };
    let mut sim = ready_pool(adaptive_config(limit, cap));
    let kinds: Vec<Waits> =
      (0..size).map(|n| if streams[n % streams.len()] { Waits::Streaming } else { Waits::Awaiting }).collect();
    let fired = run_barrier(&mut sim, &kinds, others);
    // Each stall at least quadruples the room of a worker at its bound.
    prop_assert!(fired <= 2 * 5, "{fired} stalls");
  }

  /// A stuck worker beside one whose calls compute: however the stall timer's firings interleave
  /// with the working worker's answers, the stuck one holds at most the first round.
  #[test]
  fn a_stuck_worker_among_working_ones_is_not_grown(
    calls in 1usize..400,
    steps in prop::collection::vec(0u8..3, 1..2_000),
  ) {
    let mut sim = ready_pool(adaptive_config(2, 0));
    for _ in 0..calls {
      sim.submit(1, false);
    }
    let (stuck, working) = (1, 2);
    for step in steps {
      match step {
        0 => { if sim.await_one(stuck) { sim.pace(stuck, 10, 1_000); } }
        1 => { if sim.answer(working, true) { sim.pace(working, 5_000, 5_000); } }
        _ => { fire_stall(&mut sim); }
      }
      prop_assert!(sim.world[&stuck].running.len() <= AWAIT_START as usize + 2);
    }
  }
}

#[test]
fn calls_answering_beside_a_barrier_do_not_hold_it_shut() {
  // A cheap method called steadily at a higher priority (a health check, a request handler) beside
  // 40 calls waiting on a barrier in the same worker: each answer used to count as progress, so
  // the stall timer never found a quiet interval and the barrier stayed shut while they flowed.
  const TICK: crate::event::MethodId = 7;
  let mut sim = ready_pool(adaptive_config(1, 0));
  let tick = |sim: &mut Sim| {
    sim.method = TICK;
    sim.submit_with(1, CallOptions { priority: crate::call_queue::Priority::new(1.0), ..Default::default() });
    sim.method = 0;
    while sim.answer(1, true) {}
    sim.pace(1, 10, 1_000);
  };
  // The tick is measured first: a synchronous method, so it has room beside the waiters.
  tick(&mut sim);
  for _ in 0..40 {
    sim.submit(1, false);
  }
  while sim.await_one(1) {}
  assert_eq!(sim.world[&1].running.len(), AWAIT_START as usize);
  for _ in 0..20 {
    if sim.world[&1].running.len() == 40 {
      break;
    }
    // A tick answers in every interval, then the interval ends.
    sim.method = TICK;
    sim.submit_with(1, CallOptions { priority: crate::call_queue::Priority::new(1.0), ..Default::default() });
    sim.method = 0;
    let ticks: Vec<CallId> =
      sim.world[&1].running.iter().copied().filter(|c| !sim.world[&1].awaiting.contains(c)).collect();
    for call in ticks {
      sim.world.get_mut(&1).unwrap().running.remove(&call);
      sim.event(frame(1, Kind::Resolved, call));
    }
    fire_stall(&mut sim);
    while sim.await_one(1) {}
  }
  assert_eq!(sim.world[&1].running.len(), 40, "the barrier's last waiters were never sent");
}
