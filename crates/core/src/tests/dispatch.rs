//! Adaptive dispatch: what a worker is handed, from what it reports, in a world with a virtual
//! clock of the tests' own (the scheduler has none).

use proptest::prelude::*;

use super::sim::*;
use crate::pace::{AWAIT_START, BUDGET_US, MIN_ALLOWANCE};
use crate::MethodId;

fn in_flight(sim: &Sim) -> Vec<usize> {
  sim.world.values().map(|w| w.running.len()).collect()
}

#[test]
fn synchronous_calls_go_two_at_a_time_until_the_worker_reports() {
  let mut sim = ready_pool(adaptive_config(2, 0));
  for _ in 0..40 {
    sim.submit(1, false);
  }
  assert_eq!(in_flight(&sim), [2, 2], "the running call and the next, on each worker");
  assert_eq!(sim.sched.queued(), 36);
}

/// Each worker says its calls await as it gets them, and reports a loop that is mostly idle.
fn await_all(sim: &mut Sim) {
  for _ in 0..1000 {
    let mut any = false;
    for id in sim.live() {
      if sim.await_one(id) {
        sim.pace(id, 20, 400);
        any = true;
      }
    }
    if !any {
      return;
    }
  }
}

#[test]
fn calls_that_await_overlap_while_the_worker_has_room() {
  // 200 calls that sleep: no call has answered, yet AWAIT_START run on each worker; once one
  // comes back on each, the rest go out (a burst of calls that await goes out in rounds).
  let mut sim = ready_pool(adaptive_config(2, 0));
  for _ in 0..200 {
    sim.submit(1, false);
  }
  await_all(&mut sim);
  assert_eq!(in_flight(&sim), [AWAIT_START as usize; 2]);
  for id in [1, 2] {
    sim.answer(id, true);
    sim.pace(id, 20, 400);
  }
  await_all(&mut sim);
  let running = in_flight(&sim);
  assert_eq!(running.iter().sum::<usize>(), 198);
  assert!(running.iter().all(|&n| n >= 50), "spread over both workers: {running:?}");
  assert_eq!(sim.sched.queued(), 0);
}

#[test]
fn a_worker_whose_calls_never_come_back_is_not_handed_more() {
  // Two workers, no maxPerChild: one's calls await forever, the other's compute. The stuck one
  // holds AWAIT_START of them; the other does the rest, two at a time.
  let mut sim = ready_pool(adaptive_config(2, 0));
  for _ in 0..200 {
    sim.submit(1, false);
  }
  let (stuck, working) = (1, 2);
  let mut done = 0;
  while done < 200 - AWAIT_START as usize {
    while sim.await_one(stuck) {
      sim.pace(stuck, 10, 1_000);
    }
    assert!(sim.answer(working, true), "the working worker has a call ({done} done)");
    sim.pace(working, 5_000, 5_000);
    done += 1;
  }
  assert_eq!(sim.world[&stuck].running.len(), AWAIT_START as usize);
  assert_eq!(sim.sched.queued(), 0);
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(64))]

  /// Whatever a stuck worker is handed, and however the calls that come back interleave with it,
  /// a worker none of whose calls have come back holds at most AWAIT_START calls that await, and
  /// every other call goes to the worker that answers.
  #[test]
  fn a_stuck_worker_holds_at_most_the_first_round(
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
        _ => { if sim.await_one(working) { sim.pace(working, 10, 1_000); } }
      }
      prop_assert!(sim.world[&stuck].running.len() <= AWAIT_START as usize + 2);
    }
  }
}

#[test]
fn calls_that_await_count_once_the_worker_is_saturated() {
  // Calls that await and then compute: once the loop is seen busy all the time and an answer says
  // what a call costs, only the allowance runs.
  let mut sim = ready_pool(adaptive_config(1, 0));
  for _ in 0..100 {
    sim.submit(1, false);
  }
  for _ in 0..10 {
    sim.await_one(1);
  }
  sim.pace(1, 6_000, 6_000);
  let before = in_flight(&sim)[0];
  assert!(before > 10, "a busy loop alone does not stop calls that await: {before}");
  sim.answer(1, true);
  sim.pace(1, 6_000, 6_000);
  while sim.await_one(1) {}
  let after = in_flight(&sim)[0];
  assert_eq!(after, before - 1, "a saturated worker whose calls are expensive gets nothing more");
  // As its calls finish, it is topped up to the allowance and no more.
  for _ in 0..after {
    sim.answer(1, true);
    sim.pace(1, 6_000, 6_000);
    while sim.await_one(1) {}
  }
  assert_eq!(in_flight(&sim)[0], MIN_ALLOWANCE as usize);
}

#[test]
fn cheap_calls_go_in_batches() {
  let mut sim = ready_pool(adaptive_config(1, 0));
  for _ in 0..5_000 {
    sim.submit(1, false);
  }
  // 4 µs a call: each report quadruples what the worker holds, up to the budget's worth.
  let mut held = Vec::new();
  for _ in 0..6 {
    let n = sim.world[&1].running.len();
    held.push(n);
    for _ in 0..n {
      sim.answer(1, true);
    }
    sim.pace(1, 4 * n as u32, 5 * n as u32);
  }
  assert_eq!(held, [2, 8, 32, 128, 512, 1000]);
  assert_eq!(BUDGET_US / 4, 1000);
}

#[test]
fn eager_dispatch_sends_everything_at_once() {
  let mut sim = ready_pool(PoolConfig { adaptive: false, ..adaptive_config(2, 0) });
  for _ in 0..40 {
    sim.submit(1, false);
  }
  assert_eq!(in_flight(&sim), [20, 20]);
}

#[test]
fn what_a_worker_says_of_its_pace_is_checked() {
  // Twice for one call, for a stream, before it is ready: each breaks the protocol.
  let mut sim = ready_pool(adaptive_config(1, 0));
  sim.submit(1, false);
  assert!(sim.await_one(1));
  let call = *sim.world[&1].awaiting.first().unwrap();
  sim.event(frame(1, Kind::Awaiting, call));
  assert!(sim.world[&1].killed, "said a call awaits twice");

  let mut sim = ready_pool(adaptive_config(1, 0));
  sim.submit(1, false);
  let call = *sim.world[&1].running.first().unwrap();
  sim.event(frame(1, Kind::StreamStart, call));
  sim.event(frame(1, Kind::Awaiting, call));
  assert!(sim.world[&1].killed, "said a stream awaits");

  let mut sim = Sim::new(adaptive_config(1, 0));
  sim.world.get_mut(&1).unwrap().spawned = true;
  sim.pace(1, 1, 2);
  assert!(sim.world[&1].killed, "reported its pace before it was ready");

  // A call it was never given: it says a call awaits before it answers it, so no race explains it.
  let mut sim = ready_pool(adaptive_config(1, 0));
  sim.event(frame(1, Kind::Awaiting, 999));
  assert!(sim.world[&1].killed, "said a call it does not have awaits");

  // One it answered already: the same.
  let mut sim = ready_pool(adaptive_config(1, 0));
  sim.submit(1, false);
  let call = *sim.world[&1].running.first().unwrap();
  sim.answer(1, true);
  sim.event(frame(1, Kind::Awaiting, call));
  assert!(sim.world[&1].killed, "said a call it answered awaits");

  // A cancelled call stays on its worker until it answers: its Awaiting crossing the Cancel is news.
  let mut sim = ready_pool(adaptive_config(1, 0));
  sim.submit(1, false);
  let call = *sim.world[&1].running.first().unwrap();
  sim.event(Event::Cancel { call });
  assert!(sim.await_one(1));
  assert!(!sim.world[&1].killed, "a cancelled call said it awaits before it read the Cancel");
}

#[test]
fn a_report_of_nothing_while_the_worker_holds_nothing_gets_it_killed() {
  // After news, or with a call to run (an honest worker's quiet report while its calls await):
  // fine, however many.
  let mut sim = ready_pool(adaptive_config(1, 0));
  sim.submit(1, false);
  assert!(sim.await_one(1));
  for _ in 0..1000 {
    sim.pace(1, 0, 10_000);
  }
  assert!(!sim.world[&1].killed);
  sim.answer(1, true);
  sim.pace(1, 10, 100);
  assert!(!sim.world[&1].killed, "the report after its last answer");
  sim.pace(1, 0, 10_000);
  assert!(sim.world[&1].killed, "a report of nothing with nothing to run");
}

#[test]
fn a_flood_of_reports_that_change_nothing_dispatches_nothing() {
  // A worker holding two calls, another 100 queued: idle reports of a worker whose room they do
  // not change leave every action list empty (no pass over the queue each).
  let mut sim = ready_pool(adaptive_config(1, 0));
  for _ in 0..100 {
    sim.submit(1, false);
  }
  sim.answer(1, true);
  sim.pace(1, 50_000, 50_000);
  let before = in_flight(&sim);
  for _ in 0..1000 {
    let mut out = Vec::new();
    sim.sched.handle(
      with_frame(1, Kind::Pace, 0, |f| f.payload = [0u32.to_le_bytes(), 1u32.to_le_bytes()].concat()),
      &mut out,
    );
    assert!(out.is_empty(), "{out:?}");
  }
  assert_eq!(in_flight(&sim), before);
}

/// Bulk work of the given costs (µs) on `limit` workers that run their calls one after another in
/// the order they got them and report after each: the time the last one finishes.
fn makespan(config: PoolConfig, costs: &[u64]) -> u64 {
  let calls: Vec<(MethodId, u64)> = costs.iter().map(|&c| (0, c)).collect();
  busy_times(config, &calls).into_iter().max().unwrap_or(0)
}

/// The same for calls of several methods (method, cost in µs), submitted in that order: how long
/// each worker was busy.
fn busy_times(config: PoolConfig, calls: &[(MethodId, u64)]) -> Vec<u64> {
  let limit = config.limit as u64;
  let mut sim = ready_pool(config);
  let first = sim.next_call;
  for &(method, _) in calls {
    sim.method = method;
    sim.submit(1, false);
  }
  let cost = |call: CallId| calls[(call - first) as usize].1;
  let mut now = 0u64;
  let mut started: Vec<Option<u64>> = vec![None; limit as usize + 1];
  let mut reported = vec![0u64; limit as usize + 1];
  let mut busy = vec![0u64; limit as usize + 1];
  let mut finished = 0;
  while finished < calls.len() {
    let mut next = None;
    for id in 1..=limit {
      let Some(&call) = sim.world[&id].running.first() else { continue };
      let start = *started[id as usize].get_or_insert(now);
      let end = start + cost(call);
      if next.is_none_or(|(_, at)| end < at) {
        next = Some((id, end));
      }
    }
    let (id, end) = next.expect("some worker has a call");
    now = end;
    let call = *sim.world[&id].running.first().unwrap();
    busy[id as usize] += cost(call);
    sim.answer(id, true);
    let elapsed = now - reported[id as usize];
    sim.pace(id, cost(call) as u32, elapsed as u32);
    reported[id as usize] = now;
    started[id as usize] = None;
    finished += 1;
  }
  busy.remove(0);
  busy
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(200))]

  /// Bulk calls all submitted at once finish within what one-at-a-time dispatch guarantees (the
  /// mean per worker plus the longest call), plus the call each worker holds beyond the running
  /// one and the batch of cheap calls it holds: a budget's worth at the cost measured, so up to
  /// eight budgets where costs vary eightfold. Heavy-tailed work of calls that are never cheap
  /// (a millisecond or more, the tail up to 200 ms), or work whose costs vary up to eightfold
  /// around any base cost.
  #[test]
  fn bulk_work_is_balanced(
    limit in 2u32..5,
    costs in prop_oneof![
      prop::collection::vec(prop_oneof![8 => 1_000u64..5_000, 2 => 5_000u64..200_000], 1..200),
      (1u64..3_000, prop::collection::vec(1u64..=8, 1..400))
        .prop_map(|(base, factors)| factors.into_iter().map(|f| base * f).collect()),
    ],
  ) {
    let total: u64 = costs.iter().sum();
    let longest = *costs.iter().max().unwrap();
    let bound = total / u64::from(limit) + 2 * longest + 8 * BUDGET_US;
    let span = makespan(adaptive_config(limit, 0), &costs);
    prop_assert!(span <= bound, "makespan {} over {} (total {}, longest {})", span, bound, total, longest);
  }
}

#[test]
fn eager_dispatch_is_unbalanced_where_adaptive_is_not() {
  // Every other call is heavy, so an even split by count puts all heavy calls on one worker.
  let costs: Vec<u64> = (0..100).map(|i| if i % 2 == 0 { 10_000 } else { 10 }).collect();
  let eager = makespan(PoolConfig { adaptive: false, ..adaptive_config(2, 0) }, &costs);
  let balanced = makespan(adaptive_config(2, 0), &costs);
  let total: u64 = costs.iter().sum();
  assert!(eager >= total * 9 / 10, "eager: {eager} of {total}");
  assert!(balanced <= total / 2 + 2 * 10_000 + BUDGET_US, "adaptive: {balanced} of {total}");
}

#[test]
fn a_quiet_report_gives_a_saturated_worker_room_again() {
  // Two calls that await forever, a saturated verdict, a call waiting: the worker's report while
  // nothing happens (its loop idle) is what lets the call go.
  let mut sim = ready_pool(adaptive_config(1, 0));
  sim.submit(1, false);
  sim.answer(1, true);
  sim.pace(1, 6_000, 6_000);
  for _ in 0..3 {
    sim.submit(1, false);
  }
  while sim.await_one(1) {}
  sim.pace(1, 6_000, 6_000);
  assert_eq!((in_flight(&sim)[0], sim.sched.queued()), (2, 1), "saturated, two calls awaiting");
  sim.pace(1, 50, 10_000);
  assert_eq!((in_flight(&sim)[0], sim.sched.queued()), (3, 0), "an idle loop has room");
}

#[test]
fn a_retired_worker_may_still_report_its_pace_but_says_nothing_else() {
  // Its last answers and their Pace leave in one write; the answer retires it (recycleAfter).
  let mut sim = ready_pool(PoolConfig { recycle_after: Some(1), ..adaptive_config(1, 0) });
  sim.submit(1, false);
  sim.answer(1, true);
  assert!(sim.world[&1].retired);
  sim.pace(1, 10, 100);
  assert!(!sim.world[&1].killed, "a Pace sent with its last answer is not a lie");
  sim.event(frame(1, Kind::Awaiting, 2));
  assert!(sim.world[&1].killed, "anything else after its channel closed is");
}

/// The case: one cheap call (`inc`) before 300 CPU-bound ones (most 1-4 ms, one in 25 of
/// 120 ms), on two workers.
fn cheap_then_expensive(expensive: &[u64]) -> Vec<(MethodId, u64)> {
  std::iter::once((1, 5)).chain(expensive.iter().map(|&c| (2, c))).collect()
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(100))]

  /// Random mixes of cheap and expensive methods, in runs of random length: the busiest worker is
  /// busy at most the mean plus the longest call, the call it holds beyond it, and the budget's
  /// worth of calls each cheap run may leave on it (measured per method, an expensive method is
  /// never sized by a cheap one's cost).
  #[test]
  fn mixed_methods_are_balanced(
    limit in 2u32..4,
    runs in prop::collection::vec(
      (0u32..4, prop_oneof![
        prop::collection::vec(1u64..30, 1..200),
        prop::collection::vec(prop_oneof![24 => 1_000u64..4_000, 1 => 100_000u64..140_000], 1..200),
      ]),
      1..6,
    ),
  ) {
    let calls: Vec<(MethodId, u64)> = runs
      .iter()
      .flat_map(|(method, costs)| {
        // A method is cheap or expensive by its run's costs: the two kinds get their own numbers.
        let kind = u32::from(costs[0] >= 1_000);
        costs.iter().map(move |&c| (method * 2 + kind, c))
      })
      .collect();
    let busy = busy_times(adaptive_config(limit, 0), &calls);
    let total: u64 = busy.iter().sum();
    let longest = calls.iter().map(|&(_, c)| c).max().unwrap();
    let bound = total / u64::from(limit) + 2 * longest + (runs.len() as u64 + 1) * BUDGET_US;
    let busiest = *busy.iter().max().unwrap();
    prop_assert!(busiest <= bound, "busiest {} over {} (busy {:?}, longest {})", busiest, bound, busy, longest);
  }

  /// One cheap call before 300 CPU-bound ones: balanced as if the cheap one were not there.
  #[test]
  fn a_cheap_call_does_not_size_a_batch_of_expensive_ones(
    expensive in prop::collection::vec(prop_oneof![24 => 1_000u64..4_000, 1 => 120_000u64..=120_000], 300),
  ) {
    let busy = busy_times(adaptive_config(2, 0), &cheap_then_expensive(&expensive));
    let total: u64 = busy.iter().sum();
    let busiest = *busy.iter().max().unwrap();
    let longest = *expensive.iter().max().unwrap();
    // One-at-a-time dispatch's bound (the mean plus the longest call) plus the next call each
    // worker holds (the longest again, at worst): never a batch sized by the cheap call.
    prop_assert!(busiest <= total / 2 + 2 * longest + BUDGET_US, "busy {:?} (longest {})", busy, longest);
  }
}

#[test]
fn a_started_stream_frees_its_place_at_once() {
  // Streams paced by their reader: the worker's generators wait for credit, its thread is idle,
  // and it sends nothing more until the caller reads. The calls queued behind them must go now:
  // a caller that opens three streams before reading any waited forever for the third.
  let mut sim = ready_pool(adaptive_config(1, 0));
  for _ in 0..3 {
    sim.submit(1, false);
  }
  assert_eq!(in_flight(&sim), [2]);
  let running: Vec<CallId> = sim.world[&1].running.iter().copied().collect();
  for call in running {
    sim.event(frame(1, Kind::StreamStart, call));
  }
  assert_eq!(in_flight(&sim), [3], "the third call waits behind two started streams");
  assert_eq!(sim.sched.queued(), 0);
}
