//! Attacks on the stall rule: random mixes of calls waiting on a barrier, cheap calls at random
//! priorities, calls that open the barrier, cancels, reports of a saturated or idle loop and
//! timers firing in any order, on one to three workers. The barrier is outside the workers (a
//! server, a lock file): an opener releases the waiters that have arrived on every worker.
//! However they mix, once the cheap calls stop and the barrier is opened for those still
//! waiting, every call settles.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::sim::*;

const WAIT: MethodId = 0;
const TICK: MethodId = 7;
const OPEN: MethodId = 8;

#[derive(Clone, Debug)]
enum Mix {
  /// A call that waits until the barrier of its worker opens.
  Wait,
  /// A cheap synchronous call at this priority.
  Tick(i8),
  /// A call that opens the barrier: every waiter that has arrived, on any worker, answers.
  Open,
  /// The caller cancels one of its calls not settled yet.
  Cancel(u8),
  /// The worker runs what it was sent: waiters say they await (a cancelled one is not stopped by
  /// the cancel, as the barrier fixture's is not), the rest answer.
  Turn,
  /// The worker reports its loop busy this per mille of 5 ms.
  Pace(u16),
  /// One of the armed timers fires.
  Fire(u8),
}

fn mix() -> impl Strategy<Value = Mix> {
  prop_oneof![
    6 => Just(Mix::Wait),
    6 => (-2i8..3).prop_map(Mix::Tick),
    1 => Just(Mix::Open),
    2 => any::<u8>().prop_map(Mix::Cancel),
    6 => Just(Mix::Turn),
    3 => (0u16..=1000).prop_map(Mix::Pace),
    3 => any::<u8>().prop_map(Mix::Fire),
  ]
}

struct Barrier {
  waiters: BTreeSet<CallId>,
  opens: BTreeSet<CallId>,
}

/// The world's workers (started if new; one killed or retired exits) run what they were sent. True
/// if anything happened.
fn turn(sim: &mut Sim, barrier: &Barrier) -> bool {
  let mut happened = false;
  for id in sim.live() {
    let w = &sim.world[&id];
    if w.sigkilled || w.killed || w.retired {
      sim.exit(id, 0);
      happened = true;
      continue;
    }
    if !w.spawned {
      sim.start(id);
      happened = true;
      continue;
    }
    let running: Vec<CallId> = w.running.iter().copied().filter(|c| !w.awaiting.contains(c)).collect();
    for call in running {
      if !sim.world.get(&id).is_some_and(|w| w.running.contains(&call)) {
        continue;
      }
      happened = true;
      let w = sim.world.get_mut(&id).unwrap();
      w.news = true;
      if barrier.waiters.contains(&call) {
        w.awaiting.insert(call);
        sim.event(frame(id, Kind::Awaiting, call));
        continue;
      }
      w.running.remove(&call);
      sim.event(frame(id, Kind::Resolved, call));
      if barrier.opens.contains(&call) {
        for other in sim.live() {
          let arrived: Vec<CallId> = sim.world[&other].awaiting.iter().copied().collect();
          for waiter in arrived {
            let w = sim.world.get_mut(&other).unwrap();
            w.running.remove(&waiter);
            w.awaiting.remove(&waiter);
            w.news = true;
            sim.event(frame(other, Kind::Resolved, waiter));
          }
        }
      }
    }
  }
  happened
}

fn unsettled(sim: &Sim) -> Vec<CallId> {
  sim.submitted.iter().copied().filter(|c| !sim.settled.contains_key(c)).collect()
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(96))]

  #[test]
  fn every_call_settles_whatever_the_mix(limit in 1u32..4, mixes in prop::collection::vec(mix(), 1..400)) {
    let mut sim = ready_pool(adaptive_config(limit, 0));
    let mut barrier = Barrier { waiters: BTreeSet::new(), opens: BTreeSet::new() };
    // The cheap method measured first, as a synchronous one.
    sim.submit_method(TICK, 0.0);
    turn(&mut sim, &barrier);
    for step in mixes {
      match step {
        Mix::Wait => { barrier.waiters.insert(sim.submit_method(WAIT, 0.0)); }
        Mix::Tick(priority) => { sim.submit_method(TICK, f64::from(priority)); }
        Mix::Open => { barrier.opens.insert(sim.submit_method(OPEN, 0.0)); }
        Mix::Cancel(n) => {
          let open = unsettled(&sim);
          if !open.is_empty() {
            let call = open[n as usize % open.len()];
            // The caller settles a cancelled call itself; the scheduler must never settle it again.
            sim.settled.insert(call, Outcome::Failed(Failure::new(FailureKind::Closed, "cancelled by the test")));
            sim.event(Event::Cancel { call });
          }
        }
        Mix::Turn => { turn(&mut sim, &barrier); }
        Mix::Pace(per_mille) => {
          let live: Vec<WorkerId> = sim.live().into_iter().filter(|id| sim.honest(*id)).collect();
          for id in live {
            if !sim.world[&id].running.is_empty() || sim.world[&id].news {
              sim.pace(id, u32::from(per_mille) * 5, 5_000);
            }
          }
        }
        Mix::Fire(n) => {
          if !sim.timers.is_empty() {
            let timer = sim.timers.remove(n as usize % sim.timers.len());
            sim.event(Event::TimerFired { timer });
          }
        }
      }
    }
    // The cheap calls stop; the world runs on, its timers fire when nothing else happens, and a
    // barrier still waited on is opened (again: a worker that replaced a killed one has a new one).
    for round in 0..10_000 {
      if unsettled(&sim).is_empty() {
        return Ok(());
      }
      if turn(&mut sim, &barrier) {
        continue;
      }
      let idle: Vec<WorkerId> = sim.live().into_iter().filter(|id| sim.honest(*id) && !sim.world[id].running.is_empty()).collect();
      for id in idle {
        sim.pace(id, 10, 5_000);
      }
      if !sim.timers.is_empty() {
        let timer = sim.timers.remove(0);
        sim.event(Event::TimerFired { timer });
      } else if round % 2 == 0 {
        barrier.opens.insert(sim.submit_method(OPEN, 0.0));
      }
    }
    prop_assert!(false, "calls never settled: {:?}", unsettled(&sim));
  }
}
