//! A graceful close and streams: it waits for a stream while the stream is read, and a stream
//! that waits on a reader who reads nothing for `close_read_grace_ms` fails with `Closed` (its
//! worker told to stop it, and killed if it does not), so the close always ends.

use invoke_parallel_protocol::STREAM_WINDOW;
use proptest::prelude::*;

use super::sim::*;

fn pool() -> Sim {
  let mut sim = Sim::with_module(config(1, 1, 0));
  sim.settle_world();
  sim
}

/// Starts a stream for each of `n` new calls on worker 1.
fn open_streams(sim: &mut Sim, n: usize) -> Vec<CallId> {
  for _ in 0..n {
    sim.submit(1, false);
  }
  let calls: Vec<CallId> = sim.world[&1].running.iter().copied().filter(|c| !sim.credit.contains_key(c)).collect();
  for &call in &calls {
    sim.event(frame(1, Kind::StreamStart, call));
  }
  calls
}

/// The worker sends items of `call` while it has credit, at most `most`.
fn send_items(sim: &mut Sim, call: CallId, most: u32) {
  for _ in 0..most {
    if sim.credit.get(&call).is_none_or(|&c| c == 0) || !sim.honest(1) {
      return;
    }
    sim.event(frame(1, Kind::Item, call));
  }
}

fn fire(sim: &mut Sim, wanted: impl Fn(&Timer) -> bool) -> bool {
  let Some(at) = sim.timers.iter().position(wanted) else { return false };
  let timer = sim.timers.remove(at);
  sim.event(Event::TimerFired { timer });
  true
}

fn closed_for_unread(sim: &Sim, call: CallId) -> bool {
  matches!(sim.settled.get(&call), Some(Outcome::Failed(f)) if f.kind == FailureKind::Closed)
}

#[test]
fn an_unread_stream_fails_with_closed_after_the_grace_and_the_close_ends() {
  let mut sim = pool();
  let calls = open_streams(&mut sim, 1);
  send_items(&mut sim, calls[0], STREAM_WINDOW);
  sim.event(Event::Close { force: false });
  assert!(!sim.settled.contains_key(&calls[0]));
  assert!(fire(&mut sim, |t| matches!(t, Timer::UnreadStream { .. })));
  assert!(closed_for_unread(&sim, calls[0]));
  // The worker stops its generator and answers; then it is retired and the pool closes.
  sim.settle_world_with_timers();
  assert!(sim.closed);
}

#[test]
fn a_stream_read_during_the_close_is_waited_for() {
  let mut sim = pool();
  let calls = open_streams(&mut sim, 1);
  send_items(&mut sim, calls[0], STREAM_WINDOW);
  sim.event(Event::Close { force: false });
  // The reader reads on before the grace is over: the timer armed before it is stale.
  sim.event(Event::Credit { call: calls[0], items: 1 });
  assert!(fire(&mut sim, |t| matches!(t, Timer::UnreadStream { .. })));
  assert!(!sim.settled.contains_key(&calls[0]));
  // The worker sends the item it got room for: it waits on its reader again, watched afresh.
  send_items(&mut sim, calls[0], 1);
  sim.event(Event::Credit { call: calls[0], items: 10 });
  send_items(&mut sim, calls[0], 3);
  sim.answer(1, true);
  assert!(matches!(sim.settled.get(&calls[0]), Some(Outcome::Resolved(..))));
  sim.settle_world_with_timers();
  assert!(sim.closed);
}

#[test]
fn a_stream_whose_worker_is_slow_is_not_the_reader_s_fault() {
  // Credit left: the worker, not the reader, is what the stream waits on; close waits for it
  // as for any call that runs.
  let mut sim = pool();
  let calls = open_streams(&mut sim, 1);
  send_items(&mut sim, calls[0], 3);
  sim.event(Event::Close { force: false });
  assert!(!sim.timers.iter().any(|t| matches!(t, Timer::UnreadStream { .. })));
}

#[test]
fn a_worker_that_keeps_its_stream_going_after_the_stop_is_killed() {
  let mut sim = pool();
  let calls = open_streams(&mut sim, 2);
  for &call in &calls {
    send_items(&mut sim, call, STREAM_WINDOW);
  }
  sim.event(Event::Close { force: false });
  while fire(&mut sim, |t| matches!(t, Timer::UnreadStream { .. })) {}
  assert!(calls.iter().all(|&c| closed_for_unread(&sim, c)));
  // It never answers the stop: the cancel grace runs out and it is killed.
  sim.world.get_mut(&1).unwrap().stubborn = true;
  assert!(fire(&mut sim, |t| matches!(t, Timer::CancelGrace { .. })));
  assert!(sim.world[&1].killed);
  sim.exit(1, 9);
  assert!(sim.closed);
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(128))]

  /// Streams that send random numbers of items, readers that read some before and during the
  /// close and then stop, a worker that may or may not stop what it is told to: the close ends,
  /// each stream settled once (the sim checks that), read ones never failed for being unread.
  #[test]
  fn a_graceful_close_with_streams_always_ends(
    streams in 1usize..5,
    sent in prop::collection::vec(0u32..(STREAM_WINDOW + 10), 1..5),
    read_before in prop::collection::vec(0u32..80, 1..5),
    read_during in prop::collection::vec(0u32..80, 1..5),
    stubborn in any::<bool>(),
  ) {
    let mut sim = pool();
    let calls = open_streams(&mut sim, streams);
    for (n, &call) in calls.iter().enumerate() {
      send_items(&mut sim, call, sent[n % sent.len()]);
      let grant = read_before[n % read_before.len()];
      if grant > 0 {
        sim.event(Event::Credit { call, items: grant });
      }
    }
    sim.event(Event::Close { force: false });
    for (n, &call) in calls.iter().enumerate() {
      let grant = read_during[n % read_during.len()];
      if grant > 0 && !sim.settled.contains_key(&call) {
        sim.event(Event::Credit { call, items: grant });
      }
      send_items(&mut sim, call, u32::MAX);
    }
    sim.world.get_mut(&1).unwrap().stubborn = stubborn;
    // Nothing reads any more: every timer fires, the worker exits once it may.
    for _ in 0..1_000 {
      if sim.closed {
        break;
      }
      if !stubborn {
        // An honest worker stops the streams it was told to stop (and answers them).
        let stopped: Vec<CallId> = calls.iter().copied().filter(|c| sim.settled.contains_key(c)).collect();
        for call in stopped {
          if sim.world.get(&1).is_some_and(|w| w.running.contains(&call)) {
            let w = sim.world.get_mut(&1).unwrap();
            w.running.remove(&call);
            sim.event(frame(1, Kind::Rejected, call));
          }
        }
      }
      if let Some(w) = sim.world.get(&1) {
        if w.sigkilled || (w.retired && !w.stubborn) {
          sim.exit(1, 0);
          continue;
        }
      }
      if sim.timers.is_empty() {
        break;
      }
      let timer = sim.timers.remove(0);
      sim.event(Event::TimerFired { timer });
    }
    prop_assert!(sim.closed, "the close never ended: {:?}", sim.world);
    prop_assert!(calls.iter().all(|c| sim.settled.contains_key(c)));
  }
}
