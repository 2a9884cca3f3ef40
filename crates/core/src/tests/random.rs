//! Property tests: random worlds, random orders, and the promises that hold in all of them.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;

use super::sim::*;

#[derive(Clone, Debug)]
enum Step {
  Submit {
    module: u8,
    /// Means nothing (a module's first call loads it): kept so the saved seeds replay the same
    /// worlds.
    #[allow(dead_code)]
    load: bool,
    options: CallOptions,
  },
  Start(u8),
  FailStart(u8),
  Answer(u8, bool),
  Crash(u8),
  Corrupt(u8),
  FireTimer(u8),
  Cancel(u8),
  StreamItem(u8),
  Credit(u8),
  Recycle(u8),
  Fatal(u8),
  Rogue(u8, u32),
  Stubborn(u8),
  /// A well-formed frame that means nothing in the worker's state.
  Meaningless(u8, u8),
  Close,
  /// A worker says one of its calls awaits; `again`: one it said so of already (or a stream).
  Await(u8, bool),
  /// A worker reports how busy it was (busy per mille of the elapsed microseconds).
  Pace(u8, u16, u32),
}

fn step() -> impl Strategy<Value = Step> {
  prop_oneof![
    20 => (0u8..3, any::<bool>(), prop::bool::weighted(0.2), prop::option::weighted(0.2, 1u64..100))
      .prop_map(|(module, load, no_retry, timeout_ms)| Step::Submit { module, load, options: CallOptions { no_retry, timeout_ms, ..Default::default() } }),
    4 => any::<u8>().prop_map(Step::Cancel),
    4 => any::<u8>().prop_map(Step::StreamItem),
    2 => any::<u8>().prop_map(Step::Credit),
    2 => any::<u8>().prop_map(Step::Recycle),
    2 => any::<u8>().prop_map(Step::Fatal),
    1 => (any::<u8>(), 0u32..40).prop_map(|(w, call)| Step::Rogue(w, call)),
    2 => (any::<u8>(), any::<u8>()).prop_map(|(w, what)| Step::Meaningless(w, what)),
    15 => any::<u8>().prop_map(Step::Start),
    5 => any::<u8>().prop_map(Step::FailStart),
    25 => (any::<u8>(), any::<bool>()).prop_map(|(w, ok)| Step::Answer(w, ok)),
    5 => any::<u8>().prop_map(Step::Crash),
    3 => any::<u8>().prop_map(Step::Corrupt),
    5 => any::<u8>().prop_map(Step::FireTimer),
    2 => any::<u8>().prop_map(Step::Stubborn),
    1 => Just(Step::Close),
    6 => (any::<u8>(), prop::bool::weighted(0.1)).prop_map(|(w, again)| Step::Await(w, again)),
    6 => (any::<u8>(), 0u16..=1000, 0u32..20_000).prop_map(|(w, busy, elapsed)| Step::Pace(w, busy, elapsed)),
  ]
}

fn pick<T: Copy>(items: &[T], n: u8) -> Option<T> {
  (!items.is_empty()).then(|| items[n as usize % items.len()])
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(300))]

  /// Whatever happens, in whatever order: limits hold, nothing is sent to a worker that cannot take
  /// it, and once the world settles every call has settled exactly once and the queue is empty.
  #[test]
  fn random_worlds_keep_the_promises(
    limit in 1u32..5, minimum in 0u32..3, max_per_child in 0u32..4,
    max_queue in prop::option::weighted(0.3, 0usize..4), recycle_after in prop::option::weighted(0.3, 1u64..5),
    steps in prop::collection::vec(step(), 1..120),
    force in any::<bool>(),
    adaptive in any::<bool>(),
  ) {
    let minimum = minimum.min(limit);
    let mut sim = Sim::new(PoolConfig { max_queue, recycle_after, adaptive, ..config(limit, minimum, max_per_child) });
    for (i, s) in steps.into_iter().enumerate() {
      // Time passes unevenly between events (and sometimes not at all).
      sim.now += (i as u64 * 7919) % 3001;
      let live = sim.live();
      match s {
        Step::Submit { module, load: _, options } => if !sim.closed && sim.callable(module as ModuleId) {
          sim.submit_with(module as ModuleId, options)
        },
        Step::Cancel(n) => {
          let open: Vec<CallId> = sim.submitted.iter().copied().filter(|c| !sim.settled.contains_key(c)).collect();
          if let Some(call) = pick(&open, n) {
            // The caller settles a cancelled call itself; the scheduler must never settle it again.
            sim.settled.insert(call, Outcome::Failed(Failure::new(FailureKind::Closed, "cancelled by the test")));
            sim.event(Event::Cancel { call });
          }
        }
        Step::Start(n) => {
          let unstarted: Vec<_> = live.iter().copied().filter(|id| !sim.world[id].spawned).collect();
          if let Some(id) = pick(&unstarted, n) { sim.start(id) }
        }
        Step::FailStart(n) => {
          let unstarted: Vec<_> = live.iter().copied().filter(|id| !sim.world[id].spawned).collect();
          if let Some(id) = pick(&unstarted, n) {
            sim.world.remove(&id);
            sim.event(Event::SpawnFailed { worker: id, reason: "boom".into() });
          }
        }
        Step::Answer(n, ok) => if let Some(id) = pick(&live, n) { sim.answer(id, ok); },
        Step::Crash(n) => if let Some(id) = pick(&live, n) { sim.exit(id, 1) },
        Step::Corrupt(n) => if let Some(id) = pick(&live, n) {
          sim.event(Event::Corrupt { worker: id, reason: "bad".into() });
        },
        Step::FireTimer(n) => {
          if !sim.timers.is_empty() {
            let timer = sim.timers.remove(n as usize % sim.timers.len());
            sim.event(Event::TimerFired { timer });
          }
        }
        Step::Close => sim.event(Event::Close { force: false }),
        Step::StreamItem(n) => {
          // Calls the caller still waits for (a cancelled one's items are not delivered, so the
          // world would lose count of its credit).
          let busy: Vec<WorkerId> = live
            .iter()
            .copied()
            .filter(|id| sim.honest(*id) && sim.world[id].running.first().is_some_and(|c| !sim.settled.contains_key(c)))
            .collect();
          if let Some(id) = pick(&busy, n) {
            let call = *sim.world[&id].running.iter().next().unwrap();
            let kind = if n % 3 == 0 { Kind::StreamStart } else { Kind::Item };
            let credit = sim.credit.get(&call).copied();
            // A stream starts once, for a method call; its items stay within the credit granted.
            let proper = match kind {
              Kind::StreamStart => credit.is_none() && !sim.loads.contains_key(&call),
              _ => credit.is_some_and(|c| c > 0),
            };
            sim.event(frame(id, kind, call));
            if proper {
              prop_assert!(!sim.world[&id].killed, "a worker keeping to the protocol was killed");
            } else {
              prop_assert!(sim.world[&id].killed, "a {:?} out of turn for call {} was let through", kind, call);
            }
          }
        }
        Step::Recycle(n) => if let Some(id) = pick(&live, n) {
          if sim.honest(id) && !sim.world[&id].asked_recycle {
            sim.world.get_mut(&id).unwrap().asked_recycle = true;
            sim.event(frame(id, Kind::Recycle, 0));
            prop_assert!(!sim.world[&id].killed, "a worker asking once to be recycled was killed");
          }
        },
        Step::Meaningless(n, what) => if let Some(id) = pick(&live, n) {
          if sim.honest(id) {
            let running = sim.world[&id].running.iter().next().copied();
            let event = match (what % 5, running) {
              (0, _) => frame(id, Kind::Ready, 0),
              (1, _) => frame(id, Kind::Recycle, 1 + u32::from(what)),
              (2, Some(call)) => with_frame(id, Kind::Rejected, call, |f| f.with_handles = true),
              (3, Some(call)) => with_frame(id, Kind::Resolved, call, |f| f.module = 1_000 + u32::from(what)),
              (_, _) => with_frame(id, Kind::Ready, 0, |f| f.payload = vec![what]),
            };
            sim.event(event);
            prop_assert!(sim.world[&id].killed, "a meaningless frame from worker {} was let through", id);
          }
        },
        Step::Fatal(n) => if let Some(id) = pick(&live, n) {
          if sim.world[&id].ready {
            let call = sim.world[&id].running.iter().next().copied().unwrap_or(0);
            sim.world.get_mut(&id).unwrap().running.remove(&call);
            // The worker exits right after reporting.
            sim.world.get_mut(&id).unwrap().killed = true;
            sim.event(frame(id, Kind::Fatal, call));
          }
        },
        Step::Rogue(n, call) => if let Some(id) = pick(&live, n) {
          if sim.world[&id].ready && !sim.world[&id].running.contains(&call) {
            sim.event(frame(id, Kind::Resolved, call));
            let w = &sim.world[&id];
            prop_assert!(w.killed || w.retired, "a worker answering a call it never had is dropped");
          }
        },
        Step::Credit(n) => {
          let open: Vec<CallId> = sim.submitted.iter().copied().filter(|c| !sim.settled.contains_key(c)).collect();
          if let Some(call) = pick(&open, n) {
            sim.event(Event::Credit { call, items: 4 });
          }
        }
        Step::Stubborn(n) => if let Some(id) = pick(&live, n) { sim.world.get_mut(&id).unwrap().stubborn = true },
        Step::Await(n, again) => if let Some(id) = pick(&live, n) {
          if !sim.honest(id) {
            continue;
          }
          if !again {
            if sim.await_one(id) {
              prop_assert!(!sim.world[&id].killed, "a worker saying once that a call awaits was killed");
            }
          } else if let Some(call) = sim.world[&id].awaiting.first().copied().or_else(|| {
            sim.world[&id].running.iter().copied().find(|c| sim.credit.contains_key(c))
          }) {
            sim.event(frame(id, Kind::Awaiting, call));
            prop_assert!(sim.world[&id].killed, "worker {} said call {} awaits twice and was kept", id, call);
          }
        },
        Step::Pace(n, per_mille, elapsed) => if let Some(id) = pick(&live, n) {
          if sim.honest(id) {
            let busy = (u64::from(elapsed) * u64::from(per_mille) / 1000) as u32;
            let has_news = sim.world[&id].news || !sim.world[&id].running.is_empty();
            sim.pace(id, busy, elapsed);
            prop_assert_eq!(sim.world[&id].killed, !has_news, "a report of nothing while holding nothing, and only that, costs the worker");
          }
        },
      }
    }
    // Workers that will not leave, or never become ready, are gone within their deadlines: every
    // call still settles and the pool still closes.
    sim.settle_world_with_timers();
    prop_assert_eq!(sim.sched.queued(), 0, "queue drained once the world settled");
    for call in &sim.submitted {
      prop_assert!(sim.settled.contains_key(call), "call {} never settled", call);
    }
    sim.event(Event::Close { force });
    sim.settle_world_with_timers();
    prop_assert!(sim.closed, "pool closed once its workers exited");
    prop_assert_eq!(sim.sched.worker_count(), 0);
  }
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(200))]

  /// Whether a call is accepted depends on counts alone (limit, maxPerChild, maxQueue, the calls
  /// in the pool), never on how far the workers have got starting: the same calls are refused
  /// whether the other workers start between the calls or never.
  #[test]
  fn acceptance_does_not_depend_on_start_up(
    limit in 1u32..4, minimum in 0u32..3, max_per_child in 0u32..4, max_queue in 0usize..5,
    calls in 1usize..30, starts in prop::collection::vec(any::<bool>(), 30),
  ) {
    let config = PoolConfig { max_queue: Some(max_queue), ..config(limit, minimum.min(limit), max_per_child) };
    let refused_in = |start_between: bool| {
      // One worker has loaded the module (calls are only made once it is loaded), the rest have not started.
      let mut sim = Sim::new(config.clone());
      sim.submit(1, false);
      let first = sim.live()[0];
      sim.start(first);
      sim.answer(first, true);
      let mut refused = Vec::new();
      for (i, start) in starts.iter().take(calls).enumerate() {
        if start_between && *start {
          let unstarted: Vec<_> = sim.live().into_iter().filter(|id| !sim.world[id].spawned).collect();
          for id in unstarted {
            sim.start(id);
          }
        }
        let call = sim.next_call;
        sim.submit(1, false);
        if sim.settled.contains_key(&call) {
          refused.push(i);
        }
      }
      (refused, sim.sched.stats().queued)
    };
    let (cold, cold_queued) = refused_in(false);
    let (warm, warm_queued) = refused_in(true);
    prop_assert_eq!(&cold, &warm);
    prop_assert_eq!(cold_queued, warm_queued, "stats().queued counts the same way");
    let capacity = limit as usize * max_per_child.max(1) as usize;
    let accepted = calls.min(capacity + max_queue);
    prop_assert_eq!(cold, (accepted..calls).collect::<Vec<_>>());
    prop_assert_eq!(cold_queued as usize, accepted.saturating_sub(capacity));
  }
}

#[derive(Clone, Debug)]
enum Turn {
  Submit(i8),
  Cancel(u8),
  Answer(u8),
  Crash(u8),
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(300))]

  /// Calls leave the queue by priority, then in the order they came; one whose worker died goes
  /// back ahead of the others of its priority. Checked on every call a worker is sent, through
  /// random submissions, cancellations (queued or running), answers and crashes.
  #[test]
  fn dispatch_is_by_priority_then_fifo(
    limit in 1u32..3,
    turns in prop::collection::vec(prop_oneof![
      6 => (-2i8..3).prop_map(Turn::Submit), 2 => any::<u8>().prop_map(Turn::Cancel),
      4 => any::<u8>().prop_map(Turn::Answer), 1 => any::<u8>().prop_map(Turn::Crash),
    ], 1..150),
  ) {
    let mut sim = Sim::with_module(config(limit, limit, 1));
    sim.settle_world();
    // The calls waiting, as (priority, place): a lower place goes first within a priority.
    let mut waiting: BTreeMap<CallId, (i8, i64)> = BTreeMap::new();
    let (mut next_back, mut next_front) = (0i64, 0i64);
    let mut priorities: HashMap<CallId, i8> = HashMap::new();
    sim.dispatched.clear();
    for turn in turns {
      let mut crashed = Vec::new();
      match turn {
        Turn::Submit(p) => {
          let call = sim.next_call;
          waiting.insert(call, (p, next_back));
          priorities.insert(call, p);
          next_back += 1;
          sim.submit_with(1, CallOptions { priority: Priority::new(p.into()), ..Default::default() });
        }
        Turn::Cancel(n) => {
          let open: Vec<CallId> = sim.submitted.iter().copied().filter(|c| !sim.settled.contains_key(c)).collect();
          if let Some(call) = pick(&open, n) {
            waiting.remove(&call);
            sim.settled.insert(call, Outcome::Failed(Failure::new(FailureKind::Closed, "cancelled by the test")));
            sim.event(Event::Cancel { call });
          }
        }
        Turn::Answer(n) => if let Some(id) = pick(&sim.live(), n) { sim.answer(id, true); },
        Turn::Crash(n) => if let Some(id) = pick(&sim.live(), n) {
          crashed = sim.world[&id].running.iter().copied().collect();
          sim.exit(id, 1);
        },
      }
      // A crashed worker's calls that were not given up on go back to the front of their priority.
      for call in crashed {
        if !sim.settled.contains_key(&call) {
          next_front -= 1;
          waiting.insert(call, (priorities[&call], next_front));
        }
      }
      // Replacement workers start, and what they are sent counts as dispatched too.
      loop {
        let unstarted: Vec<_> = sim.live().into_iter().filter(|id| !sim.world[id].spawned).collect();
        if unstarted.is_empty() { break }
        for id in unstarted { sim.start(id) }
      }
      for call in std::mem::take(&mut sim.dispatched) {
        let first = waiting.iter().min_by_key(|(_, (p, place))| (std::cmp::Reverse(*p), *place)).map(|(c, _)| *c);
        prop_assert_eq!(Some(call), first, "dispatched {} while {:?} waited", call, waiting);
        waiting.remove(&call);
      }
    }
  }
}
