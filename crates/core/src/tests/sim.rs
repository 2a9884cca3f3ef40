//! The simulated world the scheduler is driven in: workers that start, answer, crash and exit on
//! command, with no processes and no clock. What a worker says goes through the codec as it
//! would from a socket, so the tests judge the codec and the scheduler together.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

pub use invoke_parallel_protocol::FromWorkerKind as Kind;
use invoke_parallel_protocol::{FrameDecoder, Header, STREAM_WINDOW};

pub use crate::*;

#[derive(Default, Debug)]
pub struct SimWorker {
  /// Its place in the pool, as the scheduler gave it.
  pub slot: u32,
  pub spawned: bool,
  pub ready: bool,
  pub retired: bool,
  pub killed: bool,
  /// Got SIGKILL, which nothing survives.
  pub sigkilled: bool,
  /// Never leaves by itself (its `exit` handler spins, it is stopped), and if it has not started
  /// yet, never becomes ready (its start hangs). Only SIGKILL ends it.
  pub stubborn: bool,
  /// Its channel ended (it closed its end) while it stayed.
  pub channel_ended: bool,
  /// Calls the worker has been sent and not answered.
  pub running: BTreeSet<CallId>,
  /// Of those, the ones it said await something.
  pub awaiting: BTreeSet<CallId>,
  pub loaded: BTreeSet<ModuleId>,
  pub asked_recycle: bool,
  /// It was sent a call or a module load to answer: only then may it ask to be recycled.
  pub given_call: bool,
  /// It answered a call or said one awaits since its latest Pace.
  pub news: bool,
}

/// Carries out the scheduler's actions and checks its promises after every step.
pub struct Sim {
  pub sched: Scheduler,
  pub config: PoolConfig,
  pub world: BTreeMap<WorkerId, SimWorker>,
  pub timers: Vec<Timer>,
  pub settled: HashMap<CallId, Outcome>,
  pub submitted: BTreeSet<CallId>,
  pub next_call: CallId,
  pub closed: bool,
  /// The module id behind each module a test names: like the JS layer, a module gets a new id
  /// (its load's call id) each time it is loaded.
  pub known_modules: HashMap<ModuleId, ModuleId>,
  /// Load calls and their module: a load that fails makes its module unknown again, as the JS
  /// layer forgets a module whose require rejected.
  pub loads: HashMap<CallId, ModuleId>,
  /// Modules whose load succeeded: only those get method calls, as only they have a proxy.
  pub loaded: BTreeSet<ModuleId>,
  /// Calls whose stream has started, and how many more items the parent has room for.
  pub credit: HashMap<CallId, u32>,
  /// Method calls sent to workers, in the order they were sent.
  pub dispatched: Vec<CallId>,
  /// The method the next method calls invoke.
  pub method: MethodId,
  /// The driver's clock, in microseconds: events happen at it (`handle_at`).
  pub now: u64,
  /// Calls the test traces (every other one), and what `Action::Traced` said of each.
  pub traced: HashMap<CallId, Option<Traced>>,
}

/// What `Action::Traced` said of a call: pid, attempt, wait and run microseconds.
pub type Traced = (Option<u32>, u32, u64, u64);

impl Sim {
  pub fn new(config: PoolConfig) -> Self {
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
      dispatched: Vec::new(),
      method: 0,
      now: 0,
      traced: HashMap::new(),
    };
    sim.apply(actions);
    sim
  }

  /// A pool whose worker 1 is ready and has loaded module 1 (call 1).
  pub fn with_module(config: PoolConfig) -> Self {
    let mut sim = Sim::new(config);
    sim.start(1);
    sim.submit(1, false);
    sim.answer(1, true);
    sim
  }

  pub fn event(&mut self, event: Event) {
    let before: HashMap<WorkerId, Before> =
      self.sched.paces().map(|(id, w)| (id, (w.held(), held_synchronous(w), w.load(), w.awaiting_load()))).collect();
    let mut out = Vec::new();
    self.sched.handle_at(self.now, event, &mut out);
    self.apply(out);
    self.check();
    if self.config.adaptive {
      self.check_pace(&before);
    }
  }

  /// A worker is handed a call only while it has room by its latest report: calls that hold its
  /// thread within its allowance, and while its loop is saturated, all its calls within it.
  fn check_pace(&self, before: &HashMap<WorkerId, Before>) {
    for (id, w) in self.sched.paces() {
      let (held, in_flight, pace) = (w.held(), w.load(), &w.pace);
      let (held_before, synchronous_before, in_flight_before, awaiting_before) =
        before.get(&id).copied().unwrap_or_default();
      if in_flight <= in_flight_before {
        continue;
      }
      let allowance = pace.allowance() as usize;
      let synchronous = held_synchronous(w);
      assert!(
        synchronous <= allowance || synchronous <= synchronous_before,
        "worker {id} holds {synchronous} synchronous calls, over its allowance {allowance}"
      );
      // Beyond the first two, what it holds fits the budget at the costs thought when sent.
      assert!(
        held <= crate::pace::MIN_ALLOWANCE as usize || w.held_cost() <= crate::pace::BUDGET_US || held <= held_before,
        "worker {id} holds {} µs of work",
        w.held_cost()
      );
      // Handed a call that may await only while its calls that await were fewer than its room
      // for them (a call of a method measured synchronous is not held back by them).
      let awaiting = w.awaiting.len();
      assert!(
        awaiting < pace.await_room() as usize || w.awaiting_load() <= awaiting_before,
        "worker {id} was handed a call with {awaiting} awaiting, its room {}",
        pace.await_room()
      );
      if pace.is_saturated_by_awaits() {
        assert!(in_flight <= allowance, "saturated worker {id} was handed {in_flight} calls, over {allowance}");
      }
    }
  }

  /// The worker says its first running call that has not said so awaits; false if none.
  pub fn await_one(&mut self, worker: WorkerId) -> bool {
    let w = &self.world[&worker];
    let Some(call) = w.running.iter().copied().find(|c| !w.awaiting.contains(c) && !self.credit.contains_key(c)) else {
      return false;
    };
    let w = self.world.get_mut(&worker).unwrap();
    w.awaiting.insert(call);
    w.news = true;
    self.event(frame(worker, Kind::Awaiting, call));
    true
  }

  /// The worker reports its event loop busy `busy_us` of `elapsed_us`.
  pub fn pace(&mut self, worker: WorkerId, busy_us: u32, elapsed_us: u32) {
    if let Some(w) = self.world.get_mut(&worker) {
      w.news = false;
    }
    self.event(with_frame(worker, Kind::Pace, 0, |f| {
      f.payload = [busy_us.to_le_bytes(), elapsed_us.to_le_bytes()].concat()
    }));
  }

  pub fn apply(&mut self, actions: Vec<Action>) {
    for action in actions {
      match action {
        Action::Spawn { worker, slot } => {
          assert!(!self.closed, "spawn after close");
          // The lowest slot no live worker holds, and one within the limit.
          let taken: BTreeSet<u32> = self.world.values().map(|w| w.slot).collect();
          let lowest_free = (1..).find(|n| !taken.contains(n)).unwrap();
          assert_eq!(slot, lowest_free, "worker {worker} got slot {slot} while {taken:?} were taken");
          assert!(slot <= self.config.limit, "slot {slot} beyond limit {}", self.config.limit);
          let w = SimWorker { slot, ..SimWorker::default() };
          assert!(self.world.insert(worker, w).is_none(), "worker id reused");
        }
        Action::Send { worker, message } => {
          // What goes on the wire says what the message says.
          let header = Header::decode(&message.clone().encode().header);
          assert_eq!((header.kind, header.call, header.module), wire_fields(&message), "{message:?} encoded");
          let w = self.world.get_mut(&worker).expect("send to a worker that does not exist");
          assert!(
            w.ready && !w.retired && !w.killed && !w.channel_ended,
            "send to a worker that cannot take it: {w:?}"
          );
          match message {
            ToWorker::Load { call, module, .. } => {
              w.loaded.insert(module);
              if let Some(call) = call {
                assert!(w.running.insert(call));
                w.given_call = true;
              }
            }
            ToWorker::Call { call, module, .. } => {
              assert!(w.loaded.contains(&module), "call before its module was loaded on the worker");
              assert!(w.running.insert(call));
              w.given_call = true;
              self.dispatched.push(call);
            }
            ToWorker::Cancel { call, .. } => {
              assert!(w.running.contains(&call), "Cancel for a call not running there");
            }
            ToWorker::Credit { call, items, .. } => {
              assert!(w.running.contains(&call), "Credit for a call not running there");
              *self.credit.get_mut(&call).expect("credit for a stream that has not started") += items;
            }
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
        Action::Traced { call, pid, attempt, wait_us, run_us } => {
          assert!(!self.settled.contains_key(&call), "traced call {call} after it settled");
          let slot = self.traced.get_mut(&call).expect("Traced for a call nobody traces");
          assert!(slot.replace((pid, attempt, wait_us, run_us)).is_none(), "call {call} traced twice");
          assert!(
            attempt >= 1 && wait_us + run_us <= self.now,
            "call {call}: attempt {attempt}, {wait_us} + {run_us} us by {}",
            self.now
          );
        }
        Action::Settle { call, outcome } => {
          assert!(self.submitted.contains(&call), "settled a call never submitted");
          if let Some(Some(_)) = self.traced.get(&call) {
            assert!(!matches!(outcome, Outcome::Failed(_)), "call {call} traced, then failed by the pool");
          }
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

  pub fn check(&self) {
    assert!(self.sched.worker_count() <= self.config.limit as usize, "more workers than limit");
    self.sched.audit();
    let stats = self.sched.stats_at(self.now);
    assert!(stats.busy_us <= stats.capacity_us, "busy {} us of a capacity of {} us", stats.busy_us, stats.capacity_us);
    if let Some(max) = self.config.max_queue {
      let queued = self.sched.stats().queued as usize;
      assert!(queued <= max, "{queued} calls counted as queued, over maxQueue {max}");
    }

    let cap = self.config.max_per_child as usize;
    for (id, load) in self.sched.loads() {
      assert!(cap == 0 || load <= cap, "worker {id} has {load} calls, over maxPerChild {cap}");
    }
  }

  pub fn submit(&mut self, module: ModuleId, no_retry: bool) {
    self.submit_with(module, CallOptions { no_retry, ..Default::default() });
  }

  /// Whether the JS layer could call the module now: not while its load is still under way.
  pub fn callable(&self, module: ModuleId) -> bool {
    self.known_modules.get(&module).is_none_or(|id| self.loaded.contains(id))
  }

  /// Submits a call of `method` on module 1 at `priority`, then sets the method back to 0 (the
  /// stall tests' awaiting method); returns the call's id.
  pub fn submit_method(&mut self, method: MethodId, priority: f64) -> CallId {
    let call = self.next_call;
    self.method = method;
    self.submit_with(1, CallOptions { priority: Priority::new(priority), ..Default::default() });
    self.method = 0;
    call
  }

  pub fn submit_with(&mut self, module: ModuleId, options: CallOptions) {
    let call = self.next_call;
    self.next_call += 1;
    self.submitted.insert(call);
    // A module's first submission loads it; later ones call it (the JS layer loads a module once
    // per id, and calls only through the proxy a load returned).
    let (module, job) = match self.known_modules.get(&module) {
      Some(&id) => {
        (id, Job::Invoke { payload: Arc::from(&b"args"[..]), handles: Default::default(), method: self.method })
      }
      None => {
        self.known_modules.insert(module, call);
        self.loads.insert(call, call);
        (call, Job::Load { path: Arc::from(&b"/m.js"[..]) })
      }
    };
    let is_method = matches!(job, Job::Invoke { .. });
    let room = self.sched.has_room();
    let traced = is_method && call % 2 == 1;
    if traced {
      self.traced.insert(call, None);
    }
    self.event(Event::Submit { call, module, job, options: CallOptions { traced, ..options } });
    // A method call is refused for a full queue exactly when the room check said so; loads never are.
    let refused = matches!(&self.settled.get(&call), Some(Outcome::Failed(f)) if f.kind == FailureKind::QueueFull);
    assert_eq!(refused, is_method && !room, "call {call} refused: {refused}, room before it: {room}");
  }

  /// Started, and neither retired nor killed: what it sends now is judged on its merits.
  pub fn honest(&self, worker: WorkerId) -> bool {
    self.world.get(&worker).is_some_and(|w| w.ready && !w.retired && !w.killed)
  }

  pub fn live(&self) -> Vec<WorkerId> {
    self.world.keys().copied().collect()
  }

  pub fn start(&mut self, worker: WorkerId) {
    self.world.get_mut(&worker).unwrap().spawned = true;
    self.event(Event::Spawned { worker, pid: worker as u32 + 1000 });
    self.world.get_mut(&worker).unwrap().ready = true;
    self.event(frame(worker, Kind::Ready, 0));
  }

  pub fn answer(&mut self, worker: WorkerId, ok: bool) -> bool {
    let Some(call) = self.world[&worker].running.iter().next().copied() else {
      return false;
    };
    let w = self.world.get_mut(&worker).unwrap();
    w.running.remove(&call);
    w.awaiting.remove(&call);
    w.news = true;
    self.event(frame(worker, if ok { Kind::Resolved } else { Kind::Rejected }, call));
    true
  }

  /// The worker closes its end of the channel and stays (stubborn: only SIGKILL ends it).
  pub fn end_channel(&mut self, worker: WorkerId) {
    let w = self.world.get_mut(&worker).expect("end the channel of an unknown worker");
    w.channel_ended = true;
    w.stubborn = true;
    self.event(Event::ChannelEnded { worker });
  }

  pub fn exit(&mut self, worker: WorkerId, code: i32) {
    self.world.remove(&worker);
    self.event(Event::Exited { worker, status: ExitStatus { code: Some(code), signal: None } });
  }

  /// Plays the world forward until nothing is left to happen: starts every worker, answers every
  /// call, lets retired and killed workers exit.
  pub fn settle_world(&mut self) {
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
  pub fn settle_world_with_timers(&mut self) {
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

/// A worker's held calls, those of them that count against its allowance, its calls in flight and
/// those that await or may, before an event.
type Before = (usize, usize, usize, usize);

/// The calls holding a worker's thread that count against its allowance: all but those of a method
/// measured there that awaits, which hold it only for their synchronous part (the budget bounds
/// them).
fn held_synchronous(w: &crate::worker::Worker) -> usize {
  let exempt: u32 = w
    .held_methods()
    .iter()
    .filter(|&&(m, _)| w.pace.may_await(m) && w.pace.charge(m) < crate::pace::BUDGET_US)
    .map(|&(_, n)| n)
    .sum();
  w.held() - exempt as usize
}

/// The kind byte, call id and module id a message to a worker must have on the wire.
fn wire_fields(message: &ToWorker) -> (u8, CallId, ModuleId) {
  match *message {
    ToWorker::Load { call, module, .. } => (1, call.unwrap_or(0), module),
    ToWorker::Call { call, module, .. } => (2, call, module),
    ToWorker::Cancel { call, module } => (3, call, module),
    ToWorker::Credit { call, module, .. } => (4, call, module),
  }
}

/// A frame as a worker puts it on the wire, before the codec has read it.
pub struct Wire {
  pub kind: Kind,
  pub call: CallId,
  pub module: ModuleId,
  pub payload: Vec<u8>,
  pub with_handles: bool,
}

/// What the driver makes of a frame from `worker`: the message the codec reads from its bytes,
/// or, if no worker may send it, the worker's corruption.
pub fn wire(worker: WorkerId, frame: Wire) -> Event {
  let header = Header {
    kind: frame.kind as u8,
    with_handles: frame.with_handles,
    call: frame.call,
    module: frame.module,
    payload_len: frame.payload.len(),
  };
  let mut decoder = FrameDecoder::new();
  decoder.push(&header.encode());
  decoder.push(&frame.payload);
  match decoder.next_message(|| Ok(Handles::new("descriptors"))) {
    Ok(Some(message)) => Event::Message { worker, message },
    Ok(None) => unreachable!("a whole frame was pushed"),
    Err(error) => Event::Corrupt { worker, reason: error.to_string() },
  }
}

pub fn frame(worker: WorkerId, kind: Kind, call: CallId) -> Event {
  with_frame(worker, kind, call, |_| {})
}

/// A frame with a part changed from what an honest worker sends.
pub fn with_frame(worker: WorkerId, kind: Kind, call: CallId, change: impl FnOnce(&mut Wire)) -> Event {
  let mut frame = Wire { kind, call, module: 0, payload: Vec::new(), with_handles: false };
  change(&mut frame);
  wire(worker, frame)
}

pub fn config(limit: u32, minimum: u32, max_per_child: u32) -> PoolConfig {
  PoolConfig {
    limit,
    minimum,
    max_per_child,
    idle_timeout_ms: Some(1000),
    retries: 2,
    max_attempts: 3,
    max_excused: 4,
    kill_grace_ms: 100,
    cancel_grace_ms: 100,
    max_queue: None,
    recycle_after: None,
    leave_grace_ms: 100,
    start_timeout_ms: Some(500),
    load_timeout_ms: None,
    close_read_grace_ms: Some(100),
    // The scenarios were written for calls that go out as soon as `max_per_child` allows; the
    // adaptive tests and the random worlds turn this on.
    adaptive: false,
  }
}

/// Adaptive dispatch with `limit` workers always there, each holding at most `max_per_child`
/// calls (0: no cap), and no idle timer.
pub fn adaptive_config(limit: u32, max_per_child: u32) -> PoolConfig {
  PoolConfig { adaptive: true, idle_timeout_ms: None, ..config(limit, limit, max_per_child) }
}

/// A pool with `limit` ready workers, module 1 loaded.
pub fn ready_pool(config: PoolConfig) -> Sim {
  let limit = config.limit;
  let mut sim = Sim::new(config);
  for id in 1..=u64::from(limit) {
    sim.start(id);
  }
  sim.submit(1, false);
  sim.settle_world();
  sim
}
