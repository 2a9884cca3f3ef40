//! Deaths pinned on one of a worker's calls — by the worker's own report (an uncaught exception
//! from that call's flow), or by the pool, which killed it for not stopping that call when it was
//! cancelled: they cost the other calls on it no attempt, up to `max_excused` each, so a worker
//! that always blames another call cannot send a call around forever.

use std::collections::HashMap;

use proptest::prelude::*;

use super::sim::*;

/// Every call dispatched to `worker` is on it at once (`max_per_child` 0, eager).
fn one_worker() -> Sim {
  Sim::with_module(config(1, 1, 0))
}

/// The worker reports an uncaught exception from `culprit`'s flow and exits, as the shim does.
fn die_of(sim: &mut Sim, worker: WorkerId, culprit: CallId) {
  sim.world.get_mut(&worker).unwrap().running.remove(&culprit);
  sim.event(frame(worker, Kind::Fatal, culprit));
  sim.exit(worker, 70);
}

fn the_worker(sim: &mut Sim) -> WorkerId {
  let id = *sim.world.keys().next().expect("a worker");
  if !sim.world[&id].spawned {
    sim.start(id);
  }
  id
}

fn gave_up(outcome: &Outcome) -> Option<&Failure> {
  match outcome {
    Outcome::Failed(f) if f.kind == FailureKind::WorkerDied => Some(f),
    _ => None,
  }
}

#[test]
fn deaths_pinned_on_other_calls_cost_a_call_no_attempt() {
  let mut sim = one_worker();
  let innocent = sim.next_call;
  sim.submit(1, false);
  // Twice as many faulty calls beside it as it has attempts: each kills the worker it runs on.
  let faulty: Vec<CallId> = (0..6)
    .map(|_| {
      let id = sim.next_call;
      sim.submit(1, false);
      id
    })
    .collect();
  for culprit in &faulty {
    let worker = the_worker(&mut sim);
    assert!(sim.world[&worker].running.contains(&innocent), "the innocent call runs beside call {culprit}");
    die_of(&mut sim, worker, *culprit);
    assert!(matches!(sim.settled[culprit], Outcome::Rejected(_)), "the call at fault rejects with its error");
    assert!(!sim.settled.contains_key(&innocent), "the innocent call was sent again");
  }
  sim.settle_world();
  assert!(matches!(sim.settled[&innocent], Outcome::Resolved(..)));
  assert_eq!(sim.sched.stats().retried, 1 + 2 + 3 + 4 + 5 + 6, "every call left on a dead worker was retried");
}

/// The caller cancels `call` (settling it itself), and `worker` does not stop it within the grace:
/// the pool kills it (its exit is the caller's to play).
fn ignore_cancel(sim: &mut Sim, worker: WorkerId, call: CallId) {
  sim.settled.insert(call, Outcome::Failed(Failure::new(FailureKind::Closed, "cancelled by the test")));
  sim.event(Event::Cancel { call });
  let grace = Timer::CancelGrace { worker, call };
  assert!(sim.timers.contains(&grace), "the cancel grace was armed");
  sim.event(Event::TimerFired { timer: grace });
  let w = sim.world.get_mut(&worker).unwrap();
  assert!(w.sigkilled, "the worker was killed over the cancelled call");
  w.running.remove(&call);
}

fn killed(sim: &mut Sim, worker: WorkerId) {
  sim.world.remove(&worker);
  sim.event(Event::Exited {
    worker,
    status: ExitStatus { code: None, signal: Some(ExitSignal::Other("SIGKILL".into())) },
  });
}

#[test]
fn kills_over_cancelled_calls_their_workers_did_not_stop_cost_the_other_calls_no_attempt() {
  let mut sim = one_worker();
  let innocent = sim.next_call;
  sim.submit(1, false);
  for round in 0..6 {
    let ignored = sim.next_call;
    sim.submit(1, false);
    let worker = the_worker(&mut sim);
    assert!(sim.world[&worker].running.contains(&innocent), "the innocent call runs beside it (round {round})");
    ignore_cancel(&mut sim, worker, ignored);
    killed(&mut sim, worker);
    assert!(!sim.settled.contains_key(&innocent), "the innocent call was sent again (round {round})");
  }
  sim.settle_world();
  assert!(matches!(sim.settled[&innocent], Outcome::Resolved(..)));
}

#[test]
fn a_worker_that_always_blames_another_call_gets_a_call_sent_a_bounded_number_of_times() {
  let mut sim = one_worker();
  let culprit = sim.next_call;
  sim.submit(1, false);
  let mut sends = 0;
  while !sim.settled.contains_key(&culprit) {
    // A fresh scapegoat beside it each time, for the worker's report to name.
    let scapegoat = sim.next_call;
    sim.submit(1, false);
    let worker = the_worker(&mut sim);
    assert!(sim.world[&worker].running.contains(&culprit));
    sends += 1;
    assert!(sends <= 20, "the call is still being sent after {sends} deaths");
    die_of(&mut sim, worker, scapegoat);
  }
  assert_eq!(sends, sim.config.max_attempts + sim.config.max_excused);
  let failure = gave_up(&sim.settled[&culprit]).expect("the call gave up");
  assert!(
    failure.message.ends_with("gave up after 3 attempts (and 4 more deaths pinned on other calls)"),
    "{}",
    failure.message
  );
}

#[test]
fn a_report_naming_a_call_not_on_the_worker_pins_the_death_on_nobody() {
  for named in [0, 999] {
    let mut sim = one_worker();
    let call = sim.next_call;
    sim.submit(1, false);
    for _ in 0..3 {
      let worker = the_worker(&mut sim);
      sim.event(frame(worker, Kind::Fatal, named));
      sim.exit(worker, 70);
    }
    assert!(gave_up(&sim.settled[&call]).is_some(), "three unpinned deaths spend its attempts (named {named})");
  }
}

#[test]
fn a_worker_that_breaks_the_protocol_after_its_report_died_of_nothing_it_named() {
  let mut sim = one_worker();
  let call = sim.next_call;
  sim.submit(1, false);
  for _ in 0..3 {
    let scapegoat = sim.next_call;
    sim.submit(1, false);
    let worker = the_worker(&mut sim);
    sim.world.get_mut(&worker).unwrap().running.remove(&scapegoat);
    sim.event(frame(worker, Kind::Fatal, scapegoat));
    sim.event(Event::Corrupt { worker, reason: "garbage after its report".into() });
    sim.exit(worker, 70);
  }
  assert!(gave_up(&sim.settled[&call]).is_some(), "its deaths counted");
}

#[test]
fn no_retry_and_streaming_calls_are_not_sent_again_whoever_the_death_is_pinned_on() {
  let mut sim = one_worker();
  let (no_retry, streaming, culprit) = (sim.next_call, sim.next_call + 1, sim.next_call + 2);
  sim.submit(1, true);
  sim.submit(1, false);
  sim.submit(1, false);
  sim.event(frame(1, Kind::StreamStart, streaming));
  die_of(&mut sim, 1, culprit);
  assert!(gave_up(&sim.settled[&no_retry]).is_some_and(|f| f.message.contains("noRetry")));
  assert!(gave_up(&sim.settled[&streaming]).is_some_and(|f| f.message.contains("streaming")));
}

/// What happens to a worker in the property below.
#[derive(Clone, Debug)]
enum Turn {
  Submit {
    no_retry: bool,
  },
  Start(u8),
  Answer(u8),
  /// It reports an uncaught exception naming `named` (one of its calls, another worker's, or
  /// none), may answer some calls, may break the protocol, then exits.
  Fatal {
    worker: u8,
    named: Named,
    answers: u8,
    corrupt: bool,
  },
  /// It exits with no report.
  Crash(u8),
  /// One of its calls is cancelled and it does not stop it: the pool kills it.
  IgnoreCancel {
    worker: u8,
    call: u8,
  },
}

#[derive(Clone, Copy, Debug)]
enum Named {
  OneOfItsCalls(u8),
  AnotherWorkersCall(u8),
  NoCall(u32),
}

fn turn() -> impl Strategy<Value = Turn> {
  let named = prop_oneof![
    6 => any::<u8>().prop_map(Named::OneOfItsCalls),
    1 => any::<u8>().prop_map(Named::AnotherWorkersCall),
    1 => prop_oneof![Just(0u32), 5_000u32..6_000].prop_map(Named::NoCall),
  ];
  prop_oneof![
    6 => prop::bool::weighted(0.1).prop_map(|no_retry| Turn::Submit { no_retry }),
    4 => any::<u8>().prop_map(Turn::Start),
    4 => any::<u8>().prop_map(Turn::Answer),
    4 => (any::<u8>(), named, 0u8..3, prop::bool::weighted(0.15))
      .prop_map(|(worker, named, answers, corrupt)| Turn::Fatal { worker, named, answers, corrupt }),
    1 => any::<u8>().prop_map(Turn::Crash),
    2 => (any::<u8>(), any::<u8>()).prop_map(|(worker, call)| Turn::IgnoreCancel { worker, call }),
  ]
}

fn pick<T: Copy>(items: &[T], n: u8) -> Option<T> {
  (!items.is_empty()).then(|| items[n as usize % items.len()])
}

/// What the pool must have counted of a call's deaths so far: excused ones, and ones that cost
/// an attempt.
#[derive(Default, Clone, Copy, Debug)]
struct Deaths {
  excused: u32,
  counted: u32,
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(400))]

  /// Random mixes of calls on random workers, and deaths pinned on random calls (honestly, on a
  /// call elsewhere or on none, with the protocol broken after; or by the pool, on a cancelled
  /// call the worker did not stop): each call gives up exactly when
  /// the deaths not pinned on another call, plus those past `max_excused`, reach `max_attempts`;
  /// none is sent more than `max_attempts + max_excused` times; every call settles once.
  #[test]
  fn deaths_cost_attempts_only_when_not_pinned_on_another_call(
    limit in 1u32..4, max_excused in 0u32..5, max_attempts in 1u32..4,
    turns in prop::collection::vec(turn(), 1..150),
  ) {
    let mut sim = Sim::with_module(PoolConfig { max_excused, max_attempts, ..config(limit, 1, 0) });
    let mut deaths: HashMap<CallId, Deaths> = HashMap::new();
    let mut no_retry: HashMap<CallId, bool> = HashMap::new();
    for turn in turns {
      let live = sim.live();
      match turn {
        Turn::Submit { no_retry: nr } => {
          no_retry.insert(sim.next_call, nr);
          sim.submit(1, nr);
        }
        Turn::Start(n) => {
          let unstarted: Vec<_> = live.iter().copied().filter(|id| !sim.world[id].spawned).collect();
          if let Some(id) = pick(&unstarted, n) { sim.start(id) }
        }
        Turn::Answer(n) => if let Some(id) = pick(&live, n) { sim.answer(id, true); },
        Turn::Crash(n) | Turn::Fatal { worker: n, .. } | Turn::IgnoreCancel { worker: n, .. } => {
          let ready: Vec<_> = live.iter().copied().filter(|id| sim.world[id].ready).collect();
          let Some(worker) = pick(&ready, n) else { continue };
          let mut pinned = false;
          if let Turn::IgnoreCancel { call, .. } = turn {
            let open: Vec<CallId> =
              sim.world[&worker].running.iter().copied().filter(|c| !sim.settled.contains_key(c)).collect();
            let Some(cancelled) = pick(&open, call) else { continue };
            ignore_cancel(&mut sim, worker, cancelled);
            pinned = true;
          }
          if let Turn::Fatal { named, answers, corrupt, .. } = turn {
            let own: Vec<CallId> = sim.world[&worker].running.iter().copied().collect();
            let elsewhere: Vec<CallId> = sim.world.iter()
              .filter(|(id, _)| **id != worker)
              .flat_map(|(_, w)| w.running.iter().copied())
              .collect();
            let call = match named {
              Named::OneOfItsCalls(i) => pick(&own, i),
              Named::AnotherWorkersCall(i) => pick(&elsewhere, i),
              Named::NoCall(id) => Some(id),
            }.unwrap_or(0);
            pinned = own.contains(&call);
            sim.world.get_mut(&worker).unwrap().running.remove(&call);
            sim.event(frame(worker, Kind::Fatal, call));
            if pinned {
              prop_assert!(matches!(sim.settled.get(&call), Some(Outcome::Rejected(_))), "the call at fault rejects");
            }
            for _ in 0..answers {
              sim.answer(worker, true);
            }
            if corrupt {
              sim.event(Event::Corrupt { worker, reason: "garbage".into() });
              pinned = false;
            }
          }
          let on_it: Vec<CallId> = sim.world[&worker].running.iter().copied().collect();
          sim.exit(worker, 70);
          for call in on_it {
            let d = deaths.entry(call).or_default();
            if pinned && d.excused < max_excused {
              d.excused += 1;
            } else {
              d.counted += 1;
            }
            let should_fail = no_retry.get(&call).copied().unwrap_or(false) || d.counted >= max_attempts;
            let failed = sim.settled.get(&call).and_then(gave_up);
            prop_assert_eq!(failed.is_some(), should_fail, "call {} after {:?} (pinned: {}): {:?}", call, d, pinned, failed);
          }
        }
      }
      for call in sim.dispatched.iter() {
        let sends = sim.dispatched.iter().filter(|c| *c == call).count() as u32;
        prop_assert!(sends <= max_attempts + max_excused, "call {} sent {} times", call, sends);
      }
    }
    sim.settle_world();
    for call in &sim.submitted {
      prop_assert!(sim.settled.contains_key(call), "call {} never settled", call);
    }
  }
}
