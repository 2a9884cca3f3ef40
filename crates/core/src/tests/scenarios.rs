//! Scenarios: one story each, told through the simulated world.

use std::collections::BTreeSet;
use std::sync::Arc;

use invoke_parallel_protocol::STREAM_WINDOW;

use super::sim::*;

#[test]
fn spawns_minimum_at_creation() {
  let sim = Sim::new(config(4, 2, 0));
  assert_eq!(sim.world.len(), 2);
}

#[test]
fn minimum_zero_spawns_on_demand() {
  let mut sim = Sim::new(config(4, 0, 0));
  assert!(sim.world.is_empty());
  sim.submit(1, false);
  assert_eq!(sim.world.len(), 1);
  sim.settle_world();
  assert!(matches!(sim.settled[&1], Outcome::Resolved(..)));
}

#[test]
fn burst_spreads_over_limit_workers() {
  let mut sim = Sim::new(config(3, 1, 0));
  sim.start(1);
  sim.submit(1, false);
  sim.settle_world();
  for _ in 0..30 {
    sim.submit(1, false);
  }
  assert_eq!(sim.world.len(), 3, "a burst grows the pool to its limit");
  sim.start(2);
  sim.start(3);
  let loads: Vec<usize> = sim.world.values().map(|w| w.running.len()).collect();
  assert_eq!(loads.iter().sum::<usize>(), 30);
  assert!(loads.iter().all(|&l| l >= 9), "calls are balanced: {loads:?}");
}

#[test]
fn calls_made_one_at_a_time_take_turns_on_idle_workers() {
  let mut sim = Sim::new(config(2, 2, 0));
  sim.start(1);
  sim.start(2);
  sim.submit(1, false);
  sim.settle_world();
  let mut ran_on = Vec::new();
  for _ in 0..4 {
    sim.submit(1, false);
    let busy = sim.live().into_iter().find(|id| !sim.world[id].running.is_empty()).unwrap();
    ran_on.push(busy);
    sim.answer(busy, true);
  }
  assert_eq!(ran_on, [2, 1, 2, 1], "the load went to worker 1, so the calls alternate from worker 2");
}

#[test]
fn max_per_child_queues_the_rest() {
  let mut sim = Sim::new(config(2, 2, 1));
  sim.start(1);
  sim.start(2);
  sim.submit(1, false);
  sim.submit(1, false);
  sim.submit(1, false);
  assert_eq!(sim.sched.queued(), 1);
  sim.answer(1, true);
  assert_eq!(sim.sched.queued(), 0);
}

#[test]
fn crash_retries_then_gives_up() {
  let mut sim = Sim::new(config(1, 1, 0));
  sim.start(1);
  sim.submit(1, false);
  for attempt in 0..3 {
    let worker = *sim.world.keys().next().unwrap();
    if attempt > 0 {
      sim.start(worker);
    }
    assert_eq!(sim.world[&worker].running.len(), 1);
    sim.exit(worker, 1);
  }
  match &sim.settled[&1] {
    Outcome::Failed(f) => {
      assert_eq!(f.kind, FailureKind::WorkerDied);
      assert!(f.message.contains("gave up after 3 attempts"), "{}", f.message);
    }
    other => panic!("{other:?}"),
  }
}

#[test]
fn no_retry_fails_with_exit_details() {
  let mut sim = Sim::new(config(1, 1, 0));
  sim.start(1);
  sim.submit(1, true);
  sim.exit(1, 7);
  match &sim.settled[&1] {
    Outcome::Failed(f) => {
      assert_eq!(f.kind, FailureKind::WorkerDied);
      assert_eq!(f.pid, Some(1001));
      assert_eq!(f.status.as_ref().unwrap().code, Some(7));
    }
    other => panic!("{other:?}"),
  }
}

#[test]
fn failed_starts_fail_queued_calls_after_retries() {
  let mut sim = Sim::new(config(1, 0, 0));
  sim.submit(1, false);
  for _ in 0..3 {
    let worker = *sim.world.keys().next().expect("a start is attempted");
    sim.world.remove(&worker);
    sim.event(Event::SpawnFailed { worker, reason: "ENOENT".into() });
  }
  match &sim.settled[&1] {
    Outcome::Failed(f) => {
      assert_eq!(f.kind, FailureKind::StartFailed);
      assert!(f.message.contains("ENOENT"));
    }
    other => panic!("{other:?}"),
  }
  assert!(sim.world.is_empty(), "no respawn storm after giving up");
  sim.submit(2, false);
  assert_eq!(sim.world.len(), 1, "a new call tries again");
}

#[test]
fn idle_worker_above_minimum_is_retired_but_not_a_busy_one() {
  let mut sim = Sim::new(config(2, 1, 1));
  sim.start(1);
  sim.submit(1, false);
  sim.submit(1, false);
  sim.start(2);
  sim.answer(2, true);
  let timer = sim.timers.pop().expect("idle timer armed");
  sim.submit(1, false);
  sim.event(Event::TimerFired { timer });
  assert!(!sim.world[&2].retired, "a stale timer does not retire a worker that worked since");
  sim.answer(2, true);
  let timer = sim.timers.pop().expect("idle timer armed again");
  sim.event(Event::TimerFired { timer });
  assert!(sim.world[&2].retired);
}

#[test]
fn graceful_close_finishes_calls_then_closes() {
  let mut sim = Sim::new(config(2, 1, 0));
  sim.start(1);
  sim.submit(1, false);
  sim.event(Event::Close { force: false });
  sim.submit(1, false);
  assert!(matches!(&sim.settled[&2], Outcome::Failed(f) if f.kind == FailureKind::Closed));
  assert!(!sim.world[&1].retired);
  sim.answer(1, true);
  assert!(matches!(sim.settled[&1], Outcome::Resolved(..)));
  assert!(sim.world[&1].retired);
  sim.exit(1, 0);
  assert!(sim.closed);
}

#[test]
fn forced_close_fails_calls_and_kills() {
  let mut sim = Sim::new(config(2, 1, 0));
  sim.start(1);
  sim.submit(1, false);
  sim.event(Event::Close { force: true });
  assert!(matches!(&sim.settled[&1], Outcome::Failed(f) if f.kind == FailureKind::Closed));
  assert!(sim.world[&1].killed);
  sim.exit(1, 0);
  assert!(sim.closed);
}

#[test]
fn cancel_drops_a_queued_call_without_sending_it() {
  let mut sim = Sim::new(config(1, 1, 1));
  sim.start(1);
  sim.submit(1, false);
  sim.submit(1, false);
  assert_eq!(sim.sched.queued(), 1);
  sim.event(Event::Cancel { call: 2 });
  assert_eq!(sim.sched.queued(), 0);
  sim.answer(1, true);
  assert!(sim.world[&1].running.is_empty(), "the cancelled call never reached the worker");
  assert!(!sim.settled.contains_key(&2), "the canceller settles it, not the scheduler");
}

#[test]
fn cancelled_call_keeps_its_slot_until_it_returns_and_others_are_untouched() {
  let mut sim = Sim::with_module(config(1, 1, 2));
  sim.submit(1, false);
  sim.submit(1, false);
  sim.submit(1, false);
  sim.event(Event::Cancel { call: 2 });
  assert_eq!(sim.sched.queued(), 1, "the cancelled call still occupies its slot");
  // The worker answers the cancelled call late: dropped, and the slot goes to the queued call.
  sim.answer(1, true);
  assert!(!sim.settled.contains_key(&2));
  assert_eq!(sim.sched.queued(), 0);
  sim.settle_world();
  assert!(matches!(sim.settled[&3], Outcome::Resolved(..)));
  assert!(matches!(sim.settled[&4], Outcome::Resolved(..)));
}

#[test]
fn a_cancelled_call_that_never_returns_gets_its_worker_killed_and_the_others_retried() {
  let mut sim = Sim::with_module(config(1, 1, 0));
  sim.submit(1, false);
  sim.submit(1, false);
  sim.event(Event::Cancel { call: 2 });
  let grace = sim.timers.iter().copied().find(|t| matches!(t, Timer::CancelGrace { .. })).unwrap();
  sim.event(Event::TimerFired { timer: grace });
  assert!(sim.world[&1].killed);
  sim.exit(1, 0);
  sim.settle_world();
  assert!(matches!(sim.settled[&3], Outcome::Resolved(..)), "the other call was retried elsewhere");
}

#[test]
fn timeout_counts_from_dispatch_and_settles_once() {
  let mut sim = Sim::new(config(1, 1, 1));
  sim.start(1);
  sim.submit(1, false);
  sim.submit_with(1, CallOptions { timeout_ms: Some(50), ..Default::default() });
  assert!(sim.timers.iter().all(|t| !matches!(t, Timer::CallTimeout { .. })), "no clock runs while queued");
  sim.answer(1, true);
  let timeout = sim.timers.iter().copied().find(|t| matches!(t, Timer::CallTimeout { .. })).expect("armed at dispatch");
  sim.event(Event::TimerFired { timer: timeout });
  assert!(matches!(&sim.settled[&2], Outcome::Failed(f) if f.kind == FailureKind::TimedOut));
  sim.answer(1, true);
  assert_eq!(sim.settled.len(), 2, "the late answer is dropped");
}

#[test]
fn a_stream_passes_through_and_is_not_retried_once_started() {
  let mut sim = Sim::with_module(config(1, 1, 0));
  sim.submit(1, false);
  let mut out = Vec::new();
  sim.sched.handle(frame(1, Kind::StreamStart, 2), &mut out);
  sim.sched.handle(frame(1, Kind::Item, 2), &mut out);
  assert!(matches!(
    out[..],
    [Action::Deliver { piece: Piece::Started, .. }, Action::Deliver { piece: Piece::Item(_), .. }]
  ));
  sim.apply(out);
  sim.event(Event::Credit { call: 2, items: 8 });
  sim.exit(1, 1);
  match &sim.settled[&2] {
    Outcome::Failed(f) => assert!(f.message.contains("while streaming"), "{}", f.message),
    other => panic!("{other:?}"),
  }
}

#[test]
fn a_full_queue_refuses_a_call_then_says_when_it_has_room() {
  let mut sim = Sim::with_module(PoolConfig { max_queue: Some(1), ..config(1, 1, 1) });
  sim.submit(1, false);
  sim.submit(1, false);
  sim.submit(1, false);
  assert!(matches!(&sim.settled[&4], Outcome::Failed(f) if f.kind == FailureKind::QueueFull));
  assert!(!sim.sched.want_room(0), "one call for the worker's slot and one for the queue: no room");
  let mut out = Vec::new();
  sim.world.get_mut(&1).unwrap().running.remove(&2);
  sim.sched.handle(frame(1, Kind::Resolved, 2), &mut out);
  assert!(out.iter().any(|a| matches!(a, Action::Room)), "{out:?}");
  sim.apply(out);
  assert!(sim.sched.want_room(0));
  sim.submit(1, false);
  assert!(!sim.settled.contains_key(&5), "the call the room was for is accepted");
}

#[test]
fn module_loads_are_never_refused_for_a_full_queue() {
  let mut sim = Sim::new(PoolConfig { max_queue: Some(0), ..config(1, 0, 1) });
  sim.submit(1, false);
  sim.submit(2, false);
  assert!(sim.settled.is_empty(), "{:?}", sim.settled);
  sim.settle_world();
  assert!(sim.settled.values().all(|o| matches!(o, Outcome::Resolved(..))));
  assert_eq!(sim.sched.stats().completed, 0, "loads are not counted as calls");
}

#[test]
fn cancelling_queued_calls_keeps_the_others_in_order() {
  let mut sim = Sim::with_module(config(1, 1, 1));
  for _ in 0..300 {
    sim.submit(1, false);
  }
  // Calls 2..=301: call 2 runs, the rest wait. Cancel most of them, from anywhere in the queue.
  let cancelled: BTreeSet<CallId> = (3..=301).filter(|id| id % 3 != 0).collect();
  for &call in cancelled.iter().rev() {
    sim.settled.insert(call, Outcome::Failed(Failure::new(FailureKind::Closed, "cancelled by the test")));
    sim.event(Event::Cancel { call });
  }
  assert_eq!(sim.sched.queued(), 300 - 1 - cancelled.len());
  let mut order = Vec::new();
  while let Some(&call) = sim.world[&1].running.iter().next() {
    order.push(call);
    sim.answer(1, true);
  }
  let expected: Vec<CallId> = (2..=301).filter(|id| !cancelled.contains(id)).collect();
  assert_eq!(order, expected);
}

#[test]
fn a_live_id_is_refused_without_touching_the_call_or_module_that_has_it() {
  let mut sim = Sim::with_module(config(1, 1, 0));
  sim.submit(1, false);
  let payload = Job::Invoke { payload: Arc::from(&b"other"[..]), handles: Default::default(), method: 0 };
  let mut out = Vec::new();
  sim.sched.handle(Event::Submit { call: 2, module: 1, job: payload, options: CallOptions::default() }, &mut out);
  assert!(
    matches!(&out[..], [Action::Settle { call: 2, outcome: Outcome::Failed(f) }] if f.kind == FailureKind::DuplicateId),
    "{out:?}"
  );
  // A load whose id is a loaded module's would make workers think they have it.
  let load = Job::Load { path: Arc::from(&b"/other.js"[..]) };
  let mut out = Vec::new();
  sim.sched.handle(Event::Submit { call: 1, module: 1, job: load, options: CallOptions::default() }, &mut out);
  assert!(
    matches!(&out[..], [Action::Settle { call: 1, outcome: Outcome::Failed(f) }] if f.kind == FailureKind::DuplicateId),
    "{out:?}"
  );
  assert!(sim.sched.id_in_use(1) && sim.sched.id_in_use(2));
  sim.answer(1, true);
  assert!(matches!(sim.settled[&2], Outcome::Resolved(..)), "the live call settles as its own");
  assert_eq!(sim.sched.stats().running, 0);
  sim.submit(1, false);
  assert!(sim.world[&1].running.contains(&3), "module 1 is still callable");
}

#[test]
fn recycle_after_retires_a_worker_once_its_calls_are_done_and_replaces_it() {
  let mut sim = Sim::new(PoolConfig { recycle_after: Some(2), ..config(1, 1, 0) });
  sim.start(1);
  sim.submit(1, false);
  sim.submit(1, false);
  sim.submit(1, false);
  sim.answer(1, true);
  assert!(!sim.world[&1].retired);
  sim.answer(1, true);
  assert!(!sim.world[&1].retired, "it still has a call");
  sim.answer(1, true);
  assert!(sim.world[&1].retired);
  sim.exit(1, 0);
  assert_eq!(sim.world.len(), 1, "the minimum is restored with a fresh worker");
}

#[test]
fn a_fatal_error_rejects_the_call_it_belongs_to_and_fails_the_others_over() {
  let mut sim = Sim::with_module(config(1, 1, 0));
  sim.submit(1, false);
  sim.submit(1, false);
  sim.world.get_mut(&1).unwrap().running.remove(&2);
  sim.event(frame(1, Kind::Fatal, 2));
  assert!(matches!(sim.settled[&2], Outcome::Rejected(_)));
  sim.exit(1, 1);
  sim.settle_world();
  assert!(matches!(sim.settled[&3], Outcome::Resolved(..)), "the other call ran again elsewhere");
}

#[test]
fn answering_a_call_never_given_gets_the_worker_killed() {
  let mut sim = Sim::new(config(1, 1, 0));
  sim.start(1);
  sim.event(frame(1, Kind::Resolved, 77));
  assert!(sim.world[&1].killed);
}

#[test]
fn a_frame_after_the_channel_was_closed_gets_the_worker_killed() {
  let mut sim = Sim::new(PoolConfig { idle_timeout_ms: Some(10), ..config(2, 0, 1) });
  sim.submit(1, false);
  sim.start(1);
  sim.answer(1, true);
  let timer = sim.timers.pop().expect("idle timer");
  sim.event(Event::TimerFired { timer });
  assert!(sim.world[&1].retired);
  sim.event(frame(1, Kind::Ready, 0));
  assert!(sim.world[&1].killed);
}

#[test]
fn a_worker_loads_the_pools_modules_in_order_before_the_one_it_needs() {
  let mut sim = Sim::new(config(2, 1, 1));
  sim.start(1);
  // Module 1 (a register hook, say), then module 2 which depends on it having run.
  sim.submit(1, false);
  sim.answer(1, true);
  sim.submit(2, false);
  sim.answer(1, true);
  // Two calls on module 2 at once: the second goes to a new worker.
  sim.submit(2, false);
  sim.submit(2, false);
  let mut out = Vec::new();
  let new_worker = *sim.world.keys().last().unwrap();
  sim.world.get_mut(&new_worker).unwrap().spawned = true;
  sim.sched.handle(Event::Spawned { worker: new_worker, pid: 2000 }, &mut out);
  sim.world.get_mut(&new_worker).unwrap().ready = true;
  sim.sched.handle(frame(new_worker, Kind::Ready, 0), &mut out);
  let loads: Vec<ModuleId> = out
    .iter()
    .filter_map(|a| match a {
      Action::Send { worker, message: ToWorker::Load { module, .. } } if *worker == new_worker => Some(*module),
      _ => None,
    })
    .collect();
  assert_eq!(loads, vec![1, 2], "module 1 first, then the module the call needs");
  sim.apply(out);
}

/// Fires the armed timer that `matches` picks.
fn fire(sim: &mut Sim, matches: impl Fn(&Timer) -> bool) {
  let at = sim.timers.iter().position(matches).expect("timer armed");
  let timer = sim.timers.remove(at);
  sim.event(Event::TimerFired { timer });
}

#[test]
fn a_start_that_never_becomes_ready_is_a_failed_start_counted_against_retries() {
  let mut sim = Sim::new(config(1, 1, 0));
  sim.submit(1, false);
  // retries: 2, so the third start that hangs fails the waiting call.
  for attempt in 0..3 {
    let worker = *sim.world.keys().next().unwrap();
    assert!(!sim.settled.contains_key(&1), "settled after {attempt} failed starts");
    fire(&mut sim, |t| *t == Timer::StartDeadline { worker });
    assert!(sim.world[&worker].sigkilled);
    sim.exit(worker, 0);
  }
  match &sim.settled[&1] {
    Outcome::Failed(f) => {
      assert_eq!(f.kind, FailureKind::StartFailed);
      assert!(f.message.contains("did not become ready within 500 ms"), "{}", f.message);
    }
    other => panic!("{other:?}"),
  }
}

#[test]
fn a_deadline_for_a_worker_that_became_ready_does_nothing() {
  let mut sim = Sim::new(config(1, 1, 0));
  sim.start(1);
  fire(&mut sim, |t| *t == Timer::StartDeadline { worker: 1 });
  assert!(!sim.world[&1].killed);
}

#[test]
fn a_retired_worker_that_stays_gets_sigterm_then_sigkill_and_its_slot_goes_to_a_new_one() {
  let mut sim = Sim::new(PoolConfig { recycle_after: Some(1), ..config(1, 1, 0) });
  sim.start(1);
  sim.submit(1, false);
  sim.answer(1, true);
  sim.submit(1, false);
  sim.answer(1, true);
  assert!(sim.world[&1].retired);
  // Its exit handler spins (or it is stopped): it does not go.
  sim.world.get_mut(&1).unwrap().stubborn = true;
  sim.submit(1, false);
  assert_eq!(sim.sched.queued(), 1, "waits: the leaving worker still counts against limit");
  fire(&mut sim, |t| *t == Timer::LeaveGrace { worker: 1 });
  assert!(sim.world[&1].killed && !sim.world[&1].sigkilled, "SIGTERM first");
  fire(&mut sim, |t| *t == Timer::TermGrace { worker: 1 });
  assert!(sim.world[&1].sigkilled);
  sim.exit(1, 0);
  sim.settle_world();
  assert!(matches!(sim.settled[&3], Outcome::Resolved(..)), "the call ran on a new worker");
}

#[test]
fn a_graceful_close_ends_when_its_only_worker_was_already_leaving_and_stays() {
  let mut sim = Sim::new(PoolConfig { idle_timeout_ms: Some(10), ..config(1, 0, 0) });
  sim.submit(1, false);
  sim.start(1);
  sim.answer(1, true);
  fire(&mut sim, |t| matches!(t, Timer::Idle { .. }));
  assert!(sim.world[&1].retired);
  sim.world.get_mut(&1).unwrap().stubborn = true;
  sim.event(Event::Close { force: false });
  sim.settle_world_with_timers();
  assert!(sim.closed);
}

#[test]
fn a_timed_call_waiting_on_a_start_that_hangs_times_out() {
  let mut sim = Sim::new(config(1, 1, 0));
  sim.submit_with(1, CallOptions { timeout_ms: Some(50), ..Default::default() });
  fire(&mut sim, |t| matches!(t, Timer::CallTimeout { .. }));
  assert!(matches!(&sim.settled[&1], Outcome::Failed(f) if f.kind == FailureKind::TimedOut));
  assert_eq!(sim.sched.queued(), 0);
}

#[test]
fn a_timed_call_queued_behind_busy_ready_workers_starts_its_clock_when_they_are_gone() {
  let mut sim = Sim::new(PoolConfig { recycle_after: Some(1), ..config(1, 1, 1) });
  sim.start(1);
  sim.submit(1, false);
  sim.answer(1, true);
  sim.submit(1, false);
  sim.submit_with(1, CallOptions { timeout_ms: Some(50), ..Default::default() });
  assert!(sim.timers.iter().all(|t| !matches!(t, Timer::CallTimeout { .. })), "no clock behind a ready worker");
  // The worker finishes and is recycled; its replacement hangs at start.
  sim.answer(1, true);
  assert!(sim.world[&1].retired);
  fire(&mut sim, |t| matches!(t, Timer::CallTimeout { .. }));
  assert!(matches!(&sim.settled[&3], Outcome::Failed(f) if f.kind == FailureKind::TimedOut));
}

/// What cancelling a queued call costs the scheduler, at 2,000 and 400,000 queued (a figure, not
/// a check): `cargo test --release cancel_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn cancel_cost() {
  for queued in [2_000u32, 400_000] {
    let mut sim = Sim::with_module(config(1, 1, 1));
    let payload: Arc<[u8]> = Arc::from(&b"args"[..]);
    let mut out = Vec::new();
    for call in 2..queued + 3 {
      let job = Job::Invoke { payload: payload.clone(), handles: Default::default(), method: 0 };
      sim.sched.handle(Event::Submit { call, module: 1, job, options: CallOptions::default() }, &mut out);
    }
    out.clear();
    let cancelled: Vec<CallId> = (3..queued + 3).rev().step_by((queued / 2_000) as usize).collect();
    let start = std::time::Instant::now();
    for &call in &cancelled {
      sim.sched.handle(Event::Cancel { call }, &mut out);
    }
    let micros = start.elapsed().as_secs_f64() * 1e6 / cancelled.len() as f64;
    println!("{queued} queued: {micros:.3} µs per cancel ({} cancelled)", cancelled.len());
  }
}

#[test]
fn a_stream_item_beyond_the_credit_window_gets_the_worker_killed() {
  let mut sim = Sim::with_module(config(1, 1, 0));
  sim.submit(1, false);
  sim.event(frame(1, Kind::StreamStart, 2));
  for _ in 0..STREAM_WINDOW {
    sim.event(frame(1, Kind::Item, 2));
  }
  assert!(!sim.world[&1].killed, "the window itself is allowed");
  sim.event(Event::Credit { call: 2, items: 2 });
  sim.event(frame(1, Kind::Item, 2));
  sim.event(frame(1, Kind::Item, 2));
  assert!(!sim.world[&1].killed, "so is what the caller granted since");
  sim.event(frame(1, Kind::Item, 2));
  assert!(sim.world[&1].killed, "one item more breaks the protocol");
  sim.exit(1, 1);
  assert!(matches!(&sim.settled[&2], Outcome::Failed(f) if f.message.contains("while streaming")));
}

#[test]
fn frames_that_mean_nothing_in_the_workers_state_get_it_killed() {
  let item_first = |sim: &mut Sim| sim.event(frame(1, Kind::Item, 2));
  let load_streams = |sim: &mut Sim| {
    sim.submit(2, false);
    sim.event(frame(1, Kind::StreamStart, 3));
  };
  let ready_again = |sim: &mut Sim| sim.event(frame(1, Kind::Ready, 0));
  let recycle_twice = |sim: &mut Sim| {
    sim.event(frame(1, Kind::Recycle, 0));
    sim.event(frame(1, Kind::Recycle, 0));
  };
  for bad in [item_first, load_streams, ready_again, recycle_twice] {
    let mut sim = Sim::with_module(config(1, 1, 2));
    sim.submit(1, false);
    let mut out = Vec::new();
    bad(&mut sim);
    assert!(sim.world[&1].killed);
    // Once killed, nothing it sends reaches a caller.
    sim.sched.handle(frame(1, Kind::Resolved, 2), &mut out);
    assert!(out.is_empty(), "{out:?}");
  }
}

/// What one call costs the scheduler and the codec together, submitted, encoded, answered,
/// decoded and settled (a figure, not a check): `cargo test --release hot_path_cost -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn hot_path_cost() {
  use invoke_parallel_protocol::{FrameDecoder, Header};
  let config = PoolConfig { idle_timeout_ms: None, start_timeout_ms: None, ..config(1, 1, 0) };
  let (mut sched, _) = Scheduler::new(config);
  let mut out = Vec::new();
  sched.handle(Event::Spawned { worker: 1, pid: 1 }, &mut out);
  sched.handle(frame(1, Kind::Ready, 0), &mut out);
  let job = Job::Load { path: Arc::from(&b"/m.js"[..]) };
  sched.handle(Event::Submit { call: 1, module: 1, job, options: CallOptions::default() }, &mut out);
  sched.handle(frame(1, Kind::Resolved, 1), &mut out);
  let payload: Arc<[u8]> = Arc::from(&b"[\"echo\",[{\"i\":1,\"s\":\"hello\"}]]"[..]);
  let mut decoder = FrameDecoder::new();
  let calls = 2_000_000u32;
  let start = std::time::Instant::now();
  let mut sink = 0usize;
  for call in 2..calls + 2 {
    out.clear();
    let job = Job::Invoke { payload: payload.clone(), handles: Default::default(), method: 0 };
    sched.handle(Event::Submit { call, module: 1, job, options: CallOptions::default() }, &mut out);
    for action in out.drain(..) {
      if let Action::Send { message, .. } = action {
        let encoded = message.encode();
        sink += encoded.header[0] as usize + encoded.payload.len();
      }
    }
    let reply = Header { kind: Kind::Resolved as u8, with_handles: false, call, module: 0, payload_len: 16 };
    decoder.push(&reply.encode());
    decoder.push(&[7u8; 16]);
    let message = decoder.next_message(|| Err("none".into())).unwrap().unwrap();
    sched.handle(Event::Message { worker: 1, message }, &mut out);
    sink += out.len();
  }
  println!("{:.1} ns per call (sink {sink})", start.elapsed().as_nanos() as f64 / f64::from(calls));
}

#[test]
fn a_gone_workers_slot_is_reused_lowest_first() {
  let mut sim = Sim::new(config(3, 3, 0));
  sim.settle_world();
  let slots = |sim: &Sim| sim.world.iter().map(|(id, w)| (*id, w.slot)).collect::<Vec<_>>();
  assert_eq!(slots(&sim), [(1, 1), (2, 2), (3, 3)]);
  // A slot frees when its worker has exited, not before: a killed worker still holds it.
  sim.event(Event::Corrupt { worker: 1, reason: "bad".into() });
  assert!(sim.world[&1].killed);
  sim.exit(3, 1);
  sim.exit(1, 1);
  assert_eq!(slots(&sim), [(2, 2), (4, 3), (5, 1)]);
}

#[test]
fn a_start_that_breaks_the_protocol_before_ready_is_a_failed_start_counted_against_retries() {
  // Garbage on the channel (a preload writing to fd 3), or a Pace before Ready: either way the
  // worker never became ready, so `retries` applies and the pool stops starting workers.
  let garbage = |sim: &mut Sim, worker| sim.event(Event::Corrupt { worker, reason: "a frame of 13 bytes".into() });
  let early_pace = |sim: &mut Sim, worker| sim.pace(worker, 1, 2);
  for breaks in [garbage, early_pace] {
    let mut sim = Sim::new(config(1, 1, 0));
    sim.submit(1, false);
    let mut spawned = 0;
    while let Some(&worker) = sim.world.keys().next() {
      spawned += 1;
      assert!(spawned <= 3, "a start after the retries were spent");
      assert!(!sim.settled.contains_key(&1), "settled after {} failed starts", spawned - 1);
      sim.world.get_mut(&worker).unwrap().spawned = true;
      sim.event(Event::Spawned { worker, pid: 100 + worker as u32 });
      breaks(&mut sim, worker);
      assert!(sim.world[&worker].sigkilled);
      sim.exit(worker, 0);
    }
    assert_eq!(spawned, 3, "retries: 2");
    match &sim.settled[&1] {
      Outcome::Failed(f) => {
        assert_eq!(f.kind, FailureKind::StartFailed);
        assert!(f.message.contains("(3 attempts)") && f.message.contains("before it was ready"), "{}", f.message);
      }
      other => panic!("{other:?}"),
    }
    // The start deadlines still armed for the dead workers change nothing.
    while let Some(timer) = sim.timers.pop() {
      sim.event(Event::TimerFired { timer });
    }
    assert!(sim.world.is_empty(), "no worker started once the retries were spent");
  }
}

/// What one idle Pace frame from a worker holding a call costs the codec and the scheduler (a
/// figure, not a check): `cargo test --release pace_flood_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn pace_flood_cost() {
  use invoke_parallel_protocol::{FrameDecoder, Header};
  let config = PoolConfig { idle_timeout_ms: None, start_timeout_ms: None, adaptive: true, ..config(2, 2, 0) };
  let (mut sched, _) = Scheduler::new(config);
  let mut out = Vec::new();
  for worker in [1, 2] {
    sched.handle(Event::Spawned { worker, pid: worker as u32 }, &mut out);
    sched.handle(frame(worker, Kind::Ready, 0), &mut out);
  }
  let job = Job::Load { path: Arc::from(&b"/m.js"[..]) };
  sched.handle(Event::Submit { call: 1, module: 1, job, options: CallOptions::default() }, &mut out);
  sched.handle(frame(1, Kind::Resolved, 1), &mut out);
  for call in 2..200 {
    let job = Job::Invoke { payload: Arc::from(&b"x"[..]), handles: Default::default(), method: 0 };
    sched.handle(Event::Submit { call, module: 1, job, options: CallOptions::default() }, &mut out);
  }
  let header = Header { kind: Kind::Pace as u8, with_handles: false, call: 0, module: 0, payload_len: 8 };
  let mut bytes = Vec::new();
  for _ in 0..1024 {
    bytes.extend_from_slice(&header.encode());
    bytes.extend_from_slice(&[0, 0, 0, 0, 0x10, 0x27, 0, 0]);
  }
  let mut decoder = FrameDecoder::new();
  let rounds = 2_000u32;
  let start = std::time::Instant::now();
  for _ in 0..rounds {
    decoder.push(&bytes);
    while let Some(message) = decoder.next_message(|| Err("none".into())).unwrap() {
      out.clear();
      sched.handle(Event::Message { worker: 1, message }, &mut out);
    }
  }
  let both = start.elapsed().as_nanos() as f64 / f64::from(rounds * 1024);
  let start = std::time::Instant::now();
  let mut sink = 0;
  for _ in 0..rounds {
    decoder.push(&bytes);
    while let Some(message) = decoder.next_message(|| Err("none".into())).unwrap() {
      sink += usize::from(matches!(message, FromWorker::Pace { .. }));
    }
  }
  let decoding = start.elapsed().as_nanos() as f64 / f64::from(rounds * 1024);
  println!("{both:.1} ns per Pace frame, {decoding:.1} of them decoding (sink {sink})");
}
