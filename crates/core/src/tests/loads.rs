//! Module loads that fail or never finish: the load settles, its module is forgotten (never
//! replayed into a later worker), and the workers stuck in it are stopped.

use std::sync::Arc;

use invoke_parallel_protocol::ToWorker;

use super::sim::*;

fn load(path: &str) -> Job {
  Job::Load { path: Arc::from(path.as_bytes()) }
}

/// A scheduler with worker 1 ready.
fn ready(config: PoolConfig) -> Scheduler {
  let (mut sched, _) = Scheduler::new(config);
  let mut out = Vec::new();
  sched.handle(Event::Spawned { worker: 1, pid: 101 }, &mut out);
  sched.handle(frame(1, Kind::Ready, 0), &mut out);
  sched
}

fn loads_sent(out: &[Action], to: WorkerId) -> Vec<ModuleId> {
  out
    .iter()
    .filter_map(|a| match a {
      Action::Send { worker, message: ToWorker::Load { module, .. } } if *worker == to => Some(*module),
      _ => None,
    })
    .collect()
}

fn failed(out: &[Action], call: CallId) -> Option<FailureKind> {
  out.iter().find_map(|a| match a {
    Action::Settle { call: c, outcome: Outcome::Failed(f) } if *c == call => Some(f.kind),
    _ => None,
  })
}

#[test]
fn a_load_whose_worker_died_is_not_loaded_into_the_next_worker() {
  let mut sched = ready(PoolConfig { load_timeout_ms: None, ..config(1, 1, 0) });
  let mut out = Vec::new();
  let options = CallOptions { no_retry: true, ..CallOptions::default() };
  sched.handle(Event::Submit { call: 1, module: 1, job: load("/exits.js"), options }, &mut out);
  sched.handle(Event::Exited { worker: 1, status: ExitStatus { code: Some(0), signal: None } }, &mut out);
  assert_eq!(failed(&out, 1), Some(FailureKind::WorkerDied));
  assert!(!sched.id_in_use(1), "the failed module is forgotten");
  out.clear();
  sched.handle(Event::Submit { call: 2, module: 2, job: load("/ok.js"), options: CallOptions::default() }, &mut out);
  sched.handle(Event::Spawned { worker: 2, pid: 102 }, &mut out);
  sched.handle(frame(2, Kind::Ready, 0), &mut out);
  assert_eq!(loads_sent(&out, 2), vec![2], "only the module that loaded");
}

#[test]
fn a_load_past_its_deadline_fails_and_stops_every_worker_that_was_sent_it() {
  let mut sched = ready(PoolConfig { load_timeout_ms: Some(50), ..config(2, 1, 0) });
  let mut out = Vec::new();
  sched.handle(Event::Submit { call: 1, module: 1, job: load("/hangs.js"), options: CallOptions::default() }, &mut out);
  let armed = out
    .iter()
    .any(|a| matches!(a, Action::ArmTimer { timer: Timer::LoadTimeout { worker: 1, call: 1 }, after_ms: 50 }));
  assert!(armed, "the deadline is armed when the load is sent: {out:?}");
  out.clear();
  sched.handle(Event::TimerFired { timer: Timer::LoadTimeout { worker: 1, call: 1 } }, &mut out);
  assert_eq!(failed(&out, 1), Some(FailureKind::LoadTimedOut));
  assert!(out.iter().any(|a| matches!(a, Action::Kill { worker: 1, .. })), "its worker is stopped: {out:?}");
  assert!(out.iter().any(|a| matches!(a, Action::Report { failure } if failure.kind == FailureKind::WorkerCrashed)));
  // A later load goes to a worker that never hears of the module that hung (one replaces the
  // stopped worker at once, the pool's minimum being 1).
  sched.handle(Event::Submit { call: 2, module: 2, job: load("/ok.js"), options: CallOptions::default() }, &mut out);
  let new_worker = out.iter().find_map(|a| match a {
    Action::Spawn { worker, .. } => Some(*worker),
    _ => None,
  });
  let new_worker = new_worker.expect("a new worker for the next load");
  sched.handle(Event::Spawned { worker: new_worker, pid: 103 }, &mut out);
  out.clear();
  sched.handle(frame(new_worker, Kind::Ready, 0), &mut out);
  assert_eq!(loads_sent(&out, new_worker), vec![2]);
  // A timer that fires after the load answered changes nothing.
  sched.handle(frame(new_worker, Kind::Resolved, 2), &mut out);
  out.clear();
  sched.handle(Event::TimerFired { timer: Timer::LoadTimeout { worker: new_worker, call: 2 } }, &mut out);
  assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_graceful_close_waits_for_a_hanging_load_only_until_its_deadline() {
  let mut sched = ready(PoolConfig { load_timeout_ms: Some(50), ..config(1, 1, 0) });
  let mut out = Vec::new();
  sched.handle(Event::Submit { call: 1, module: 1, job: load("/hangs.js"), options: CallOptions::default() }, &mut out);
  sched.handle(Event::Close { force: false }, &mut out);
  out.clear();
  sched.handle(Event::TimerFired { timer: Timer::LoadTimeout { worker: 1, call: 1 } }, &mut out);
  sched.handle(Event::Exited { worker: 1, status: ExitStatus { code: Some(137), signal: None } }, &mut out);
  assert!(out.iter().any(|a| matches!(a, Action::Closed)), "{out:?}");
}

#[test]
fn a_load_waiting_behind_one_that_hung_goes_to_the_next_worker_instead_of_timing_out() {
  let mut sched = ready(PoolConfig { load_timeout_ms: Some(50), ..config(1, 1, 0) });
  let mut out = Vec::new();
  sched.handle(Event::Submit { call: 1, module: 1, job: load("/hangs.js"), options: CallOptions::default() }, &mut out);
  sched.handle(Event::Submit { call: 2, module: 2, job: load("/ok.js"), options: CallOptions::default() }, &mut out);
  out.clear();
  sched.handle(Event::TimerFired { timer: Timer::LoadTimeout { worker: 1, call: 1 } }, &mut out);
  assert_eq!(failed(&out, 1), Some(FailureKind::LoadTimedOut));
  out.clear();
  // Its own deadline on the stopped worker passes before that worker's exit is reaped.
  sched.handle(Event::TimerFired { timer: Timer::LoadTimeout { worker: 1, call: 2 } }, &mut out);
  assert_eq!(failed(&out, 2), None, "{out:?}");
  sched.handle(Event::Exited { worker: 1, status: ExitStatus { code: None, signal: None } }, &mut out);
  let new_worker = out
    .iter()
    .find_map(|a| match a {
      Action::Spawn { worker, .. } => Some(*worker),
      _ => None,
    })
    .or_else(|| sched.loads().map(|(id, _)| id).find(|id| *id != 1))
    .expect("a worker for the load");
  out.clear();
  sched.handle(Event::Spawned { worker: new_worker, pid: 104 }, &mut out);
  sched.handle(frame(new_worker, Kind::Ready, 0), &mut out);
  assert_eq!(loads_sent(&out, new_worker), vec![2], "the load that waited, without the one that hung");
  sched.handle(frame(new_worker, Kind::Resolved, 2), &mut out);
  assert!(out.iter().any(|a| matches!(a, Action::Settle { call: 2, outcome: Outcome::Resolved(..) })), "{out:?}");
}
