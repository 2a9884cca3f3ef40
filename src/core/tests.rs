//! The scheduler driven by a simulated world: workers that start, answer, crash and exit on
//! command, with no processes and no clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::protocol::{InFrame, Kind, STREAM_WINDOW};

#[derive(Default, Debug)]
struct SimWorker {
  spawned: bool,
  ready: bool,
  retired: bool,
  killed: bool,
  /// Got SIGKILL, which nothing survives.
  sigkilled: bool,
  /// Never leaves by itself (its `exit` handler spins, it is stopped), and if it has not started
  /// yet, never becomes ready (its start hangs). Only SIGKILL ends it.
  stubborn: bool,
  /// Calls the worker has been sent and not answered.
  running: BTreeSet<CallId>,
  loaded: BTreeSet<ModuleId>,
  asked_recycle: bool,
}

/// Carries out the scheduler's actions and checks its promises after every step.
struct Sim {
  sched: Scheduler,
  config: PoolConfig,
  world: BTreeMap<WorkerId, SimWorker>,
  timers: Vec<Timer>,
  settled: HashMap<CallId, Outcome>,
  submitted: BTreeSet<CallId>,
  next_call: CallId,
  closed: bool,
  /// The module id behind each module a test names: like the JS layer, a module gets a new id
  /// (its load's call id) each time it is loaded.
  known_modules: HashMap<ModuleId, ModuleId>,
  /// Load calls and their module: a load that fails makes its module unknown again, as the JS
  /// layer forgets a module whose require rejected.
  loads: HashMap<CallId, ModuleId>,
  /// Modules whose load succeeded: only those get method calls, as only they have a proxy.
  loaded: BTreeSet<ModuleId>,
  /// Calls whose stream has started, and how many more items the parent has room for.
  credit: HashMap<CallId, u32>,
}

impl Sim {
  fn new(config: PoolConfig) -> Self {
    let (sched, actions) = Scheduler::new(config.clone());
    let mut sim = Sim {
      sched,
      config,
      world: BTreeMap::new(),
      timers: Vec::new(),
      settled: HashMap::new(),
      submitted: BTreeSet::new(),
      next_call: 1,
      closed: false,
      known_modules: HashMap::new(),
      loads: HashMap::new(),
      loaded: BTreeSet::new(),
      credit: HashMap::new(),
    };
    sim.apply(actions);
    sim
  }

  /// A pool whose worker 1 is ready and has loaded module 1 (call 1).
  fn with_module(config: PoolConfig) -> Self {
    let mut sim = Sim::new(config);
    sim.start(1);
    sim.submit(1, true, false);
    sim.answer(1, true);
    sim
  }

  fn event(&mut self, event: Event) {
    let mut out = Vec::new();
    self.sched.handle(event, &mut out);
    self.apply(out);
    self.check();
  }

  fn apply(&mut self, actions: Vec<Action>) {
    for action in actions {
      match action {
        Action::Spawn { worker } => {
          assert!(!self.closed, "spawn after close");
          assert!(self.world.insert(worker, SimWorker::default()).is_none(), "worker id reused");
        }
        Action::Send { worker, frame } => {
          let w = self.world.get_mut(&worker).expect("send to a worker that does not exist");
          assert!(w.ready && !w.retired && !w.killed, "send to a worker that cannot take it: {w:?}");
          match frame.kind {
            Kind::Load => {
              w.loaded.insert(frame.module);
              if frame.call != 0 {
                assert!(w.running.insert(frame.call));
              }
            }
            Kind::Call => {
              assert!(w.loaded.contains(&frame.module), "call before its module was loaded on the worker");
              assert!(w.running.insert(frame.call));
            }
            Kind::Cancel | Kind::Credit => {
              assert!(w.running.contains(&frame.call), "{:?} for a call not running there", frame.kind);
              if frame.kind == Kind::Credit {
                let items = u32::from_le_bytes(frame.payload[..].try_into().unwrap());
                *self.credit.get_mut(&frame.call).expect("credit for a stream that has not started") += items;
              }
            }
            other => panic!("parent sent a worker kind {other:?}"),
          }
        }
        Action::Retire { worker } => {
          let w = self.world.get_mut(&worker).expect("retire unknown worker");
          assert!(w.running.is_empty(), "retired a worker with calls in flight");
          w.retired = true;
        }
        Action::Kill { worker, signal } => {
          let w = self.world.get_mut(&worker).expect("kill unknown worker");
          w.killed = true;
          w.sigkilled |= signal == Signal::Kill;
        }
        Action::Settle { call, outcome } => {
          assert!(self.submitted.contains(&call), "settled a call never submitted");
          if let Some(&module) = self.loads.get(&call) {
            if matches!(outcome, Outcome::Resolved(..)) {
              self.loaded.insert(module);
            } else {
              self.known_modules.retain(|_, id| *id != module);
            }
          }
          assert!(self.settled.insert(call, outcome).is_none(), "call {call} settled twice");
        }
        Action::ArmTimer { timer, .. } => self.timers.push(timer),
        Action::Deliver { call, piece } => {
          assert!(self.submitted.contains(&call), "delivered for a call never submitted");
          assert!(!self.settled.contains_key(&call), "delivered to a settled call");
          match piece {
            Piece::Started => assert!(self.credit.insert(call, STREAM_WINDOW).is_none(), "call {call} started twice"),
            Piece::Item(_) => {
              let left = self.credit.get_mut(&call).expect("an item before its stream started");
              assert!(*left > 0, "an item of call {call} beyond the credit window was delivered");
              *left -= 1;
            }
          }
        }
        Action::Report { .. } | Action::Room => {}
        Action::Closed => {
          assert!(!self.closed, "closed twice");
          self.closed = true;
        }
      }
    }
  }

  fn check(&self) {
    assert!(self.sched.worker_count() <= self.config.limit as usize, "more workers than limit");
    self.sched.audit();
    if let Some(max) = self.config.max_queue {
      let queued = self.sched.stats().queued as usize;
      assert!(queued <= max, "{queued} calls counted as queued, over maxQueue {max}");
    }

    let cap = self.config.max_per_child as usize;
    for (id, load) in self.sched.loads() {
      assert!(cap == 0 || load <= cap, "worker {id} has {load} calls, over maxPerChild {cap}");
    }
  }

  fn submit(&mut self, module: ModuleId, load: bool, no_retry: bool) {
    self.submit_with(module, load, CallOptions { no_retry, timeout_ms: None });
  }

  /// Whether the JS layer could call the module now: not while its load is still under way.
  fn callable(&self, module: ModuleId) -> bool {
    self.known_modules.get(&module).is_none_or(|id| self.loaded.contains(id))
  }

  fn submit_with(&mut self, module: ModuleId, _load: bool, options: CallOptions) {
    let call = self.next_call;
    self.next_call += 1;
    self.submitted.insert(call);
    // A module's first submission loads it; later ones call it (the JS layer loads a module once
    // per id, and calls only through the proxy a load returned). `_load` only says which the
    // caller meant; the random steps pick it at random.
    let (module, job) = match self.known_modules.get(&module) {
      Some(&id) => (id, Job::Invoke { payload: Arc::from(&b"args"[..]), handles: Default::default() }),
      None => {
        self.known_modules.insert(module, call);
        self.loads.insert(call, call);
        (call, Job::Load { path: Arc::from(&b"/m.js"[..]) })
      }
    };
    let is_method = matches!(job, Job::Invoke { .. });
    let room = self.sched.has_room();
    self.event(Event::Submit { call, module, job, options });
    // A method call is refused for a full queue exactly when the room check said so; loads never are.
    let refused = matches!(&self.settled.get(&call), Some(Outcome::Failed(f)) if f.kind == FailureKind::QueueFull);
    assert_eq!(refused, is_method && !room, "call {call} refused: {refused}, room before it: {room}");
  }

  /// Started, and neither retired nor killed: what it sends now is judged on its merits.
  fn honest(&self, worker: WorkerId) -> bool {
    self.world.get(&worker).is_some_and(|w| w.ready && !w.retired && !w.killed)
  }

  fn live(&self) -> Vec<WorkerId> {
    self.world.keys().copied().collect()
  }

  fn start(&mut self, worker: WorkerId) {
    self.world.get_mut(&worker).unwrap().spawned = true;
    self.event(Event::Spawned { worker, pid: worker as u32 + 1000 });
    self.world.get_mut(&worker).unwrap().ready = true;
    self.event(frame(worker, Kind::Ready, 0));
  }

  fn answer(&mut self, worker: WorkerId, ok: bool) -> bool {
    let Some(call) = self.world[&worker].running.iter().next().copied() else {
      return false;
    };
    self.world.get_mut(&worker).unwrap().running.remove(&call);
    self.event(frame(worker, if ok { Kind::Resolved } else { Kind::Rejected }, call));
    true
  }

  fn exit(&mut self, worker: WorkerId, code: i32) {
    self.world.remove(&worker);
    self.event(Event::Exited { worker, status: ExitStatus { code: Some(code), signal: None } });
  }

  /// Plays the world forward until nothing is left to happen: starts every worker, answers every
  /// call, lets retired and killed workers exit.
  fn settle_world(&mut self) {
    for _ in 0..10_000 {
      let mut progressed = false;
      for id in self.live() {
        let Some(w) = self.world.get(&id) else { continue };
        if w.retired || w.killed {
          self.exit(id, 0);
          progressed = true;
        } else if !w.spawned {
          self.start(id);
          progressed = true;
        } else if self.answer(id, true) {
          progressed = true;
        }
      }
      if !progressed {
        return;
      }
    }
    panic!("world did not settle");
  }

  /// Like `settle_world`, in a world where stubborn workers stay put until SIGKILLed and the
  /// pool's timers fire (earliest armed first) whenever nothing else can happen.
  fn settle_world_with_timers(&mut self) {
    for _ in 0..10_000 {
      let mut progressed = false;
      for id in self.live() {
        let Some(w) = self.world.get(&id) else { continue };
        if w.sigkilled || ((w.retired || w.killed) && !w.stubborn) {
          self.exit(id, 0);
          progressed = true;
        } else if !w.spawned && !w.stubborn {
          self.start(id);
          progressed = true;
        } else if self.answer(id, true) {
          progressed = true;
        }
      }
      if !progressed {
        if self.timers.is_empty() {
          return;
        }
        let timer = self.timers.remove(0);
        self.event(Event::TimerFired { timer });
      }
    }
    panic!("world did not settle");
  }
}

fn frame(worker: WorkerId, kind: Kind, call: CallId) -> Event {
  Event::Frame {
    worker,
    frame: InFrame { kind, call, module: 0, payload: Vec::new(), with_handles: false, handles: Default::default() },
  }
}

fn with_frame(mut event: Event, change: impl FnOnce(&mut InFrame)) -> Event {
  if let Event::Frame { frame, .. } = &mut event {
    change(frame);
  }
  event
}

fn config(limit: u32, minimum: u32, max_per_child: u32) -> PoolConfig {
  PoolConfig {
    limit,
    minimum,
    max_per_child,
    idle_timeout_ms: Some(1000),
    retries: 2,
    max_attempts: 3,
    kill_grace_ms: 100,
    cancel_grace_ms: 100,
    max_queue: None,
    recycle_after: None,
    leave_grace_ms: 100,
    start_timeout_ms: Some(500),
  }
}

#[test]
fn spawns_minimum_at_creation() {
  let sim = Sim::new(config(4, 2, 0));
  assert_eq!(sim.world.len(), 2);
}

#[test]
fn minimum_zero_spawns_on_demand() {
  let mut sim = Sim::new(config(4, 0, 0));
  assert!(sim.world.is_empty());
  sim.submit(1, true, false);
  assert_eq!(sim.world.len(), 1);
  sim.settle_world();
  assert!(matches!(sim.settled[&1], Outcome::Resolved(..)));
}

#[test]
fn burst_spreads_over_limit_workers() {
  let mut sim = Sim::new(config(3, 1, 0));
  sim.start(1);
  sim.submit(1, true, false);
  sim.settle_world();
  for _ in 0..30 {
    sim.submit(1, false, false);
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
  sim.submit(1, true, false);
  sim.settle_world();
  let mut ran_on = Vec::new();
  for _ in 0..4 {
    sim.submit(1, false, false);
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
  sim.submit(1, true, false);
  sim.submit(1, false, false);
  sim.submit(1, false, false);
  assert_eq!(sim.sched.queued(), 1);
  sim.answer(1, true);
  assert_eq!(sim.sched.queued(), 0);
}

#[test]
fn crash_retries_then_gives_up() {
  let mut sim = Sim::new(config(1, 1, 0));
  sim.start(1);
  sim.submit(1, true, false);
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
      assert_eq!(f.kind, FailureKind::Retry);
      assert!(f.message.contains("gave up after 3 attempts"), "{}", f.message);
    }
    other => panic!("{other:?}"),
  }
}

#[test]
fn no_retry_fails_with_exit_details() {
  let mut sim = Sim::new(config(1, 1, 0));
  sim.start(1);
  sim.submit(1, true, true);
  sim.exit(1, 7);
  match &sim.settled[&1] {
    Outcome::Failed(f) => {
      assert_eq!(f.kind, FailureKind::Retry);
      assert_eq!(f.pid, Some(1001));
      assert_eq!(f.status.unwrap().code, Some(7));
    }
    other => panic!("{other:?}"),
  }
}

#[test]
fn failed_starts_fail_queued_calls_after_retries() {
  let mut sim = Sim::new(config(1, 0, 0));
  sim.submit(1, true, false);
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
  sim.submit(2, true, false);
  assert_eq!(sim.world.len(), 1, "a new call tries again");
}

#[test]
fn idle_worker_above_minimum_is_retired_but_not_a_busy_one() {
  let mut sim = Sim::new(config(2, 1, 1));
  sim.start(1);
  sim.submit(1, true, false);
  sim.submit(1, false, false);
  sim.start(2);
  sim.answer(2, true);
  let timer = sim.timers.pop().expect("idle timer armed");
  sim.submit(1, false, false);
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
  sim.submit(1, true, false);
  sim.event(Event::Close { force: false });
  sim.submit(1, false, false);
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
  sim.submit(1, true, false);
  sim.event(Event::Close { force: true });
  assert!(matches!(&sim.settled[&1], Outcome::Failed(f) if f.kind == FailureKind::Closed));
  assert!(sim.world[&1].killed);
  sim.exit(1, 0);
  assert!(sim.closed);
}

#[derive(Clone, Debug)]
enum Step {
  Submit {
    module: u8,
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
}

fn step() -> impl Strategy<Value = Step> {
  prop_oneof![
    20 => (0u8..3, any::<bool>(), prop::bool::weighted(0.2), prop::option::weighted(0.2, 1u64..100))
      .prop_map(|(module, load, no_retry, timeout_ms)| Step::Submit { module, load, options: CallOptions { no_retry, timeout_ms } }),
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
  ) {
    let minimum = minimum.min(limit);
    let mut sim = Sim::new(PoolConfig { max_queue, recycle_after, ..config(limit, minimum, max_per_child) });
    for s in steps {
      let live = sim.live();
      match s {
        Step::Submit { module, load, options } => if !sim.closed && sim.callable(module as ModuleId) {
          sim.submit_with(module as ModuleId, load, options)
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
            .filter(|id| sim.honest(*id) && sim.world[id].running.iter().next().is_some_and(|c| !sim.settled.contains_key(c)))
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
              (2, Some(call)) => with_frame(frame(id, Kind::Rejected, call), |f| f.with_handles = true),
              (3, Some(call)) => with_frame(frame(id, Kind::Resolved, call), |f| f.module = 1_000 + u32::from(what)),
              (_, _) => with_frame(frame(id, Kind::Ready, 0), |f| f.payload = vec![what]),
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

#[test]
fn cancel_drops_a_queued_call_without_sending_it() {
  let mut sim = Sim::new(config(1, 1, 1));
  sim.start(1);
  sim.submit(1, true, false);
  sim.submit(1, false, false);
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
  sim.submit(1, false, false);
  sim.submit(1, false, false);
  sim.submit(1, false, false);
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
  sim.submit(1, false, false);
  sim.submit(1, false, false);
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
  sim.submit(1, true, false);
  sim.submit_with(1, false, CallOptions { no_retry: false, timeout_ms: Some(50) });
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
  sim.submit(1, false, false);
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
  sim.submit(1, false, false);
  sim.submit(1, false, false);
  sim.submit(1, false, false);
  assert!(matches!(&sim.settled[&4], Outcome::Failed(f) if f.kind == FailureKind::QueueFull));
  assert!(!sim.sched.want_room(0), "one call for the worker's slot and one for the queue: no room");
  let mut out = Vec::new();
  sim.world.get_mut(&1).unwrap().running.remove(&2);
  sim.sched.handle(frame(1, Kind::Resolved, 2), &mut out);
  assert!(out.iter().any(|a| matches!(a, Action::Room)), "{out:?}");
  sim.apply(out);
  assert!(sim.sched.want_room(0));
  sim.submit(1, false, false);
  assert!(!sim.settled.contains_key(&5), "the call the room was for is accepted");
}

#[test]
fn module_loads_are_never_refused_for_a_full_queue() {
  let mut sim = Sim::new(PoolConfig { max_queue: Some(0), ..config(1, 0, 1) });
  sim.submit(1, true, false);
  sim.submit(2, true, false);
  assert!(sim.settled.is_empty(), "{:?}", sim.settled);
  sim.settle_world();
  assert!(sim.settled.values().all(|o| matches!(o, Outcome::Resolved(..))));
  assert_eq!(sim.sched.stats().completed, 0, "loads are not counted as calls");
}

#[test]
fn cancelling_queued_calls_keeps_the_others_in_order() {
  let mut sim = Sim::with_module(config(1, 1, 1));
  for _ in 0..300 {
    sim.submit(1, false, false);
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
  sim.submit(1, false, false);
  let payload = Job::Invoke { payload: Arc::from(&b"other"[..]), handles: Default::default() };
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
  sim.submit(1, false, false);
  assert!(sim.world[&1].running.contains(&3), "module 1 is still callable");
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
      sim.submit(1, true, false);
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
        sim.submit(1, false, false);
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

#[test]
fn recycle_after_retires_a_worker_once_its_calls_are_done_and_replaces_it() {
  let mut sim = Sim::new(PoolConfig { recycle_after: Some(2), ..config(1, 1, 0) });
  sim.start(1);
  sim.submit(1, true, false);
  sim.submit(1, false, false);
  sim.submit(1, false, false);
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
  sim.submit(1, false, false);
  sim.submit(1, false, false);
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
  sim.submit(1, true, false);
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
  sim.submit(1, true, false);
  sim.answer(1, true);
  sim.submit(2, true, false);
  sim.answer(1, true);
  // Two calls on module 2 at once: the second goes to a new worker.
  sim.submit(2, false, false);
  sim.submit(2, false, false);
  let mut out = Vec::new();
  let new_worker = *sim.world.keys().last().unwrap();
  sim.world.get_mut(&new_worker).unwrap().spawned = true;
  sim.sched.handle(Event::Spawned { worker: new_worker, pid: 2000 }, &mut out);
  sim.world.get_mut(&new_worker).unwrap().ready = true;
  sim.sched.handle(frame(new_worker, Kind::Ready, 0), &mut out);
  let loads: Vec<ModuleId> = out
    .iter()
    .filter_map(|a| match a {
      Action::Send { worker, frame } if *worker == new_worker && frame.kind == Kind::Load => Some(frame.module),
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
  sim.submit(1, true, false);
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
  sim.submit(1, true, false);
  sim.answer(1, true);
  sim.submit(1, false, false);
  sim.answer(1, true);
  assert!(sim.world[&1].retired);
  // Its exit handler spins (or it is stopped): it does not go.
  sim.world.get_mut(&1).unwrap().stubborn = true;
  sim.submit(1, false, false);
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
  sim.submit(1, true, false);
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
  sim.submit_with(1, true, CallOptions { no_retry: false, timeout_ms: Some(50) });
  fire(&mut sim, |t| matches!(t, Timer::CallTimeout { .. }));
  assert!(matches!(&sim.settled[&1], Outcome::Failed(f) if f.kind == FailureKind::TimedOut));
  assert_eq!(sim.sched.queued(), 0);
}

#[test]
fn a_timed_call_queued_behind_busy_ready_workers_starts_its_clock_when_they_are_gone() {
  let mut sim = Sim::new(PoolConfig { recycle_after: Some(1), ..config(1, 1, 1) });
  sim.start(1);
  sim.submit(1, true, false);
  sim.answer(1, true);
  sim.submit(1, false, false);
  sim.submit_with(1, false, CallOptions { no_retry: false, timeout_ms: Some(50) });
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
      let job = Job::Invoke { payload: payload.clone(), handles: Default::default() };
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
  sim.submit(1, false, false);
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
    sim.submit(2, true, false);
    sim.event(frame(1, Kind::StreamStart, 3));
  };
  let ready_again = |sim: &mut Sim| sim.event(frame(1, Kind::Ready, 0));
  let recycle_twice = |sim: &mut Sim| {
    sim.event(frame(1, Kind::Recycle, 0));
    sim.event(frame(1, Kind::Recycle, 0));
  };
  for bad in [item_first, load_streams, ready_again, recycle_twice] {
    let mut sim = Sim::with_module(config(1, 1, 2));
    sim.submit(1, false, false);
    let mut out = Vec::new();
    bad(&mut sim);
    assert!(sim.world[&1].killed);
    // Once killed, nothing it sends reaches a caller.
    sim.sched.handle(frame(1, Kind::Resolved, 2), &mut out);
    assert!(out.is_empty(), "{out:?}");
  }
}

fn fuzz_cases() -> u32 {
  std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(500)
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

  /// Arbitrary bytes from a worker, decoded and fed to the scheduler as the driver does: whatever
  /// they say, only calls in flight on that worker hear of it, no stream gets more than its
  /// credit, nothing from the worker counts once it broke the protocol, and every call settles.
  #[test]
  fn arbitrary_frames_cost_at_most_their_worker(
    frames in prop::collection::vec(
      (16u8..23, prop::bool::weighted(0.1), prop_oneof![4 => 0u32..8, 1 => any::<u32>()], prop_oneof![4 => Just(0u32), 1 => any::<u32>()],
       prop::collection::vec(any::<u8>(), 0..6)),
      0..80),
    garbage in prop::collection::vec(any::<u8>(), 0..12),
    credit in prop::collection::vec((2u32..8, 1u32..40), 0..4),
  ) {
    let mut sim = Sim::with_module(config(2, 2, 0));
    sim.start(2);
    for _ in 0..6 {
      sim.submit(1, false, false);
    }
    let mut stream = Vec::new();
    for (kind, handles, call, module, payload) in &frames {
      let kind = Kind::from_worker(*kind).unwrap();
      stream.extend(crate::protocol::encode_header(kind, *call, *module, payload.len(), *handles));
      stream.extend(payload);
    }
    stream.extend(&garbage);
    let mut decoder = crate::protocol::FrameDecoder::with_limit(64);
    let mut grants = credit.iter().cycle();
    let mut broken = false;
    'read: for chunk in stream.chunks(29) {
      decoder.push(chunk);
      loop {
        let event = match decoder.next_frame() {
          Ok(Some(frame)) => Event::Frame { worker: 1, frame },
          Ok(None) => break,
          Err(e) => {
            // The stream has no frame boundary left: the driver reads no more of it.
            sim.event(Event::Corrupt { worker: 1, reason: e.to_string() });
            break 'read;
          }
        };
        let mut out = Vec::new();
        sim.sched.handle(event, &mut out);
        if broken {
          prop_assert!(out.is_empty(), "a worker that broke the protocol was heard: {:?}", out);
        }
        sim.apply(out);
        sim.check();
        broken = sim.sched.shuns(1);
        if let Some((call, items)) = grants.next().filter(|_| frames.len() % 3 == 0) {
          sim.event(Event::Credit { call: *call, items: *items });
        }
      }
    }
    sim.settle_world();
    for call in &sim.submitted {
      prop_assert!(sim.settled.contains_key(call), "call {} never settled", call);
    }
    sim.event(Event::Close { force: true });
    sim.settle_world();
    prop_assert!(sim.closed);
  }
}
