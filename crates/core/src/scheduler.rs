use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use invoke_parallel_protocol::{FromWorker, ModuleId, ToWorker};

use super::call::Call;
use super::call_queue::CallQueue;
use super::config::PoolConfig;
use super::event::{Action, CallId, CallOptions, Event, Job, Outcome, Piece, Signal, Timer, WorkerId};
use super::exit::{describe_exit, ExitSignal, ExitStatus};
use super::failure::{Failure, FailureKind};
use super::histogram::Histogram;
use super::id_hash::IdMap;
use super::pace::{MethodKey, Room, STALL_LOOKAHEAD, STALL_MS};
use super::stats::Stats;
use super::worker::{Leave, Worker, WorkerState};

/// Whose a worker's death was, as the pool can tell, for a call that was running on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Death {
  /// This call's: V8 aborted the worker with it alone running. It is not sent again.
  OfThisCall,
  /// Another call's, by the worker's own uncaught-exception report, or by the pool, which killed
  /// it for not stopping a cancelled call: it costs this call no attempt, up to `max_excused`
  /// times.
  OfAnotherCall,
  /// Nobody's in particular: it costs an attempt.
  Unpinned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
  Open,
  /// `close()`: no new calls; accepted ones finish, then the workers are retired.
  Draining,
  /// `close({force: true})`: calls failed, workers signalled.
  Forced,
  Closed,
}

/// The pool's brain: which worker runs which call, when workers start and stop, and how every call
/// settles exactly once.
pub struct Scheduler {
  config: PoolConfig,
  workers: BTreeMap<WorkerId, Worker>,
  calls: IdMap<CallId, Call>,
  queue: CallQueue,
  /// Method calls in `calls` (waiting or on a worker, cancelled ones still running included), and
  /// how many of them wait in `queue`: what `maxQueue` and the stats count.
  methods: usize,
  methods_queued: usize,
  /// Module loads not settled yet, and the module each loads (none for a load refused at once):
  /// their settlement is not a call's, for the stats, and one that fails forgets its module.
  loads: IdMap<CallId, Option<ModuleId>>,
  /// Every module loaded into the pool, in the order they were loaded. A worker loads them in that
  /// order too, so one loaded for its side effects (a transpiler's register hook) comes first on
  /// every worker, not just the one that happened to load it.
  modules: Vec<(ModuleId, Arc<[u8]>)>,
  next_worker: WorkerId,
  failed_starts: u32,
  /// Set once `retries` consecutive starts failed: no spawning until a new call asks again.
  start_blocked: bool,
  phase: Phase,
  /// The cumulative counters of `Stats` (the rest is read off the current state).
  counters: Stats,
  /// The caller waits for room (`want_room`): say so when a method call would be accepted.
  room_wanted: bool,
  /// Calls dispatched so far: a worker's `generation` is the count at its latest one.
  dispatches: u64,
  /// A call with a `timeout` waits in the queue with its clock not running yet: it starts if the
  /// pool has no worker ready (it would wait on workers that may never come).
  unclocked_waiting: bool,
  /// The driver's clock as of the latest event (`handle_at`), in microseconds since the pool
  /// started; never goes back.
  now: u64,
  /// Wait and run times of answered method calls, and the busy time of workers that have left.
  waits: Histogram,
  runs: Histogram,
  busy_us: u64,
  /// When the pool closed: its capacity (and so its utilization) stops there.
  closed_at: Option<u64>,
  /// Calls that answered having counted against a bound on calls that await, said they await or
  /// began to stream, ever: a stall is a time in which this did not change.
  progress: u64,
  /// `progress` when the stall timer was armed, while it is.
  stall_watch: Option<u64>,
}

impl Scheduler {
  /// A scheduler, and the actions that bring the pool up to its minimum.
  pub fn new(config: PoolConfig) -> (Self, Vec<Action>) {
    let mut s = Scheduler {
      config,
      workers: BTreeMap::new(),
      calls: IdMap::default(),
      queue: CallQueue::default(),
      methods: 0,
      methods_queued: 0,
      loads: IdMap::default(),
      modules: Vec::new(),
      next_worker: 1,
      failed_starts: 0,
      start_blocked: false,
      phase: Phase::Open,
      counters: Stats::default(),
      room_wanted: false,
      dispatches: 0,
      unclocked_waiting: false,
      now: 0,
      waits: Histogram::default(),
      runs: Histogram::default(),
      busy_us: 0,
      closed_at: None,
      progress: 0,
      stall_watch: None,
    };
    let mut out = Vec::new();
    s.grow(&mut out);
    (s, out)
  }

  /// `handle`, at `now_us` on the driver's clock (microseconds since the pool started): the
  /// scheduler's only source of time, for its stats and traced calls. Deadlines are still
  /// relative (`ArmTimer`), and a clock that goes back is taken as standing still.
  pub fn handle_at(&mut self, now_us: u64, event: Event, out: &mut Vec<Action>) {
    self.now = self.now.max(now_us);
    self.handle(event, out);
  }

  /// Whether worker `worker`, if it exits now, leaves as the pool wanted: retired (idle,
  /// recycled, a graceful close) or stopped by a forced close. Anything else is a death: a crash,
  /// an uncaught exception, a start that failed, a kill for ignoring a cancel or breaking the
  /// protocol.
  pub fn exit_expected(&self, worker: WorkerId) -> bool {
    self.workers.get(&worker).is_some_and(|w| w.is_retired() || (w.is_stopped() && self.phase == Phase::Forced))
  }

  pub fn handle(&mut self, event: Event, out: &mut Vec<Action>) {
    let first_new = out.len();
    self.route(event, out);
    self.clock_waiting_calls(out);
    if self.room_wanted && self.has_room() {
      self.room_wanted = false;
      out.push(Action::Room);
    }
    for action in &out[first_new..] {
      if let Action::Settle { call, outcome } = action {
        let load = if self.loads.is_empty() { None } else { self.loads.remove(call) };
        if let Some(module) = load {
          if let (Some(module), false) = (module, matches!(outcome, Outcome::Resolved(..))) {
            // However it failed (it threw, its workers died, it timed out, the pool closed): it
            // is not replayed into workers that come later, so later loads and calls work. Where
            // calls may be dispatched in the same event, it was forgotten already.
            self.forget_module(module);
          }
          continue;
        }
        match outcome {
          Outcome::Resolved(..) => self.counters.completed += 1,
          Outcome::Rejected(_) | Outcome::Failed(_) => self.counters.failed += 1,
        }
      }
    }
  }

  /// The stats as of `now_us` (on the clock of `handle_at`), which the busy time of workers
  /// with calls in flight runs to.
  pub fn stats_at(&self, now_us: u64) -> Stats {
    let now = self.closed_at.unwrap_or(self.now.max(now_us));
    let mut stats = self.stats();
    stats.busy_us =
      self.busy_us + self.workers.values().filter_map(|w| w.busy_since).map(|since| now - since).sum::<u64>();
    stats.capacity_us = now.saturating_mul(u64::from(self.config.limit));
    stats
  }

  pub fn stats(&self) -> Stats {
    let mut stats = self.counters;
    stats.workers = self.workers.len() as u32;
    stats.wait = self.waits.summary();
    stats.run = self.runs.summary();
    for w in self.workers.values().filter(|w| w.is_ready()) {
      if w.load() == 0 {
        stats.idle += 1;
      } else {
        stats.busy += 1;
      }
    }
    // Counted as `maxQueue` counts, from counts alone: the method calls beyond what the workers
    // take, so a call that only waits for a worker to start is not queued.
    stats.queued = self.methods.saturating_sub(self.capacity()) as u32;
    // Cancelled calls still running count: they hold their worker's slot until they return.
    stats.running = (self.methods - self.methods_queued) as u32;
    stats
  }

  fn route(&mut self, event: Event, out: &mut Vec<Action>) {
    match event {
      Event::Submit { call, module, job, options } => self.on_submit(call, module, job, options, out),
      Event::Cancel { call } => {
        // Settled by the caller: whatever it was, it is not counted here, and a load given up
        // on is not replayed into later workers.
        if let Some(Some(module)) = self.loads.remove(&call) {
          self.forget_module(module);
        }
        self.abandon(call, out)
      }
      Event::Credit { call, items } => self.on_credit(call, items, out),
      Event::Spawned { worker, pid } => {
        if let Some(w) = self.workers.get_mut(&worker) {
          w.pid = Some(pid);
        }
      }
      Event::SpawnFailed { worker, reason } => {
        if self.workers.remove(&worker).is_some() {
          self.on_start_failed(reason, None, None, out);
          self.pump(out);
          self.check_closed(out);
        }
      }
      Event::Message { worker, message } => self.on_message(worker, message, out),
      Event::Corrupt { worker, reason } => self.on_corrupt(worker, reason, out),
      Event::ChannelEnded { worker } => self.on_channel_ended(worker, out),
      Event::Exited { worker, status } => self.on_exited(worker, status, out),
      Event::TimerFired { timer } => self.on_timer(timer, out),
      Event::Close { force } => self.on_close(force, out),
    }
  }

  pub fn is_closed(&self) -> bool {
    self.phase == Phase::Closed
  }

  /// The worker was killed for breaking the protocol: nothing it sends is read any more.
  pub fn shuns(&self, worker: WorkerId) -> bool {
    self.workers.get(&worker).is_some_and(|w| w.is_shunned())
  }

  /// Workers alive (starting, ready or leaving).
  pub fn worker_count(&self) -> usize {
    self.workers.len()
  }

  pub fn queued(&self) -> usize {
    self.queue.len()
  }

  /// Method calls the workers take at once, as `maxQueue` counts them: `maxPerChild` each, or one
  /// each when that is unlimited (as in pools whose workers run one task at a time), whether or
  /// not the workers have started yet.
  fn capacity(&self) -> usize {
    self.config.limit as usize * self.config.max_per_child.max(1) as usize
  }

  /// Whether a method call submitted now would be accepted (a closed pool refuses it otherwise).
  pub fn has_room(&self) -> bool {
    self.has_room_for(0)
  }

  /// Whether one more method call would be accepted after `coming` more have been submitted.
  fn has_room_for(&self, coming: usize) -> bool {
    self.phase != Phase::Open
      || self
        .config
        .max_queue
        .is_none_or(|max| self.methods.saturating_add(coming) < self.capacity().saturating_add(max))
  }

  /// True when a method call would be accepted now, counting `coming` calls the caller is about
  /// to submit; otherwise a `Room` action says when one would be (without them: the caller asks
  /// again).
  pub fn want_room(&mut self, coming: usize) -> bool {
    let room = self.has_room_for(coming);
    self.room_wanted = !room;
    room
  }

  /// Whether `id` names a call the pool has not finished with, or a module: a new call or load
  /// must not take it.
  pub fn id_in_use(&self, id: CallId) -> bool {
    self.calls.contains_key(&id) || self.modules.iter().any(|(module, _)| *module == id)
  }

  /// Checks the counts kept for `maxQueue` and the stats against a recount.
  #[cfg(test)]
  pub fn audit(&self) {
    let methods = self.calls.values().filter(|c| c.is_method()).count();
    let queued: Vec<CallId> = self.queue.iter().collect();
    let methods_queued = queued.iter().filter(|id| self.calls[id].is_method()).count();
    assert_eq!(self.methods, methods, "method calls counted");
    assert_eq!(self.methods_queued, methods_queued, "queued method calls counted");
    assert_eq!(
      queued.len(),
      self.calls.values().filter(|c| c.ticket().is_some()).count(),
      "every ticket is queued once"
    );
    for (id, call) in &self.calls {
      if let Some(worker) = call.worker() {
        let on_it = self.workers.get(&worker).is_some_and(|w| w.in_flight.contains(id));
        assert!(on_it, "call {id} runs on worker {worker}, which does not have it in flight");
      }
    }
    for (worker, w) in &self.workers {
      assert!(w.awaiting.is_subset(&w.in_flight), "worker {worker} awaits calls it does not run");
      let mut held = std::collections::BTreeMap::new();
      for id in w.in_flight.difference(&w.awaiting) {
        if let Some(method) = self.calls.get(id).and_then(Call::method) {
          *held.entry(method).or_insert(0u32) += 1;
        }
      }
      assert_eq!(w.held_methods(), held.into_iter().collect::<Vec<_>>(), "worker {worker}'s held calls by method");
      assert_eq!(
        w.busy_since.is_some(),
        !w.in_flight.is_empty(),
        "worker {worker} is busy exactly while it runs calls"
      );
      for id in &w.in_flight {
        assert_eq!(self.calls.get(id).and_then(Call::worker), Some(*worker), "worker {worker} runs call {id}");
      }
    }
  }

  /// Each worker's calls holding its thread, calls in flight, and pace, for tests.
  #[cfg(test)]
  pub fn paces(&self) -> impl Iterator<Item = (WorkerId, &Worker)> + '_ {
    self.workers.iter().map(|(id, w)| (*id, w))
  }

  /// Calls on each worker, for tests and stats.
  pub fn loads(&self) -> impl Iterator<Item = (WorkerId, usize)> + '_ {
    self.workers.iter().map(|(id, w)| (*id, w.load()))
  }

  fn on_submit(&mut self, call: CallId, module: ModuleId, job: Job, options: CallOptions, out: &mut Vec<Action>) {
    let is_load = matches!(job, Job::Load { .. });
    let refusal = if self.phase != Phase::Open {
      Some(Failure::new(FailureKind::Closed, "the pool is closed"))
    } else if self.calls.contains_key(&call) || (is_load && self.id_in_use(module)) {
      // The JS layer never reuses a live id; taking one would mix two calls' replies up.
      Some(Failure::new(FailureKind::DuplicateId, format!("call id {call} is already in use")))
    } else if !is_load && !self.has_room() {
      let max = self.config.max_queue.unwrap_or_default();
      Some(Failure::new(
        FailureKind::QueueFull,
        format!("the queue is full ({max} calls waiting beyond what the workers take)"),
      ))
    } else {
      None
    };
    if is_load {
      self.loads.insert(call, refusal.is_none().then_some(module));
    }
    if let Some(failure) = refusal {
      out.push(Action::Settle { call, outcome: Outcome::Failed(failure) });
      return;
    }
    if let Job::Load { path } = &job {
      self.modules.push((module, path.clone()));
    }
    let mut record = Call::queued(module, job, options, self.queue.push_back(call, options.priority));
    record.submitted_us = self.now;
    record.traced = options.traced;
    self.methods += usize::from(record.is_method());
    self.methods_queued += usize::from(record.is_method());
    self.calls.insert(call, record);
    self.pump(out);
    if options.timeout_ms.is_some() && self.calls.get(&call).is_some_and(|c| c.worker().is_none()) {
      self.unclocked_waiting = true;
    }
  }

  /// A module whose load failed: workers that come later do not load it.
  fn forget_module(&mut self, module: ModuleId) {
    self.modules.retain(|(id, _)| *id != module);
  }

  /// Puts a call that failed over back in the queue, at the front of its priority.
  fn requeue(&mut self, call_id: CallId) {
    let call = self.calls.get_mut(&call_id).expect("queued call exists");
    let ticket = self.queue.push_front(call_id, call.options.priority);
    call.requeue(ticket);
    self.methods_queued += usize::from(call.is_method());
  }

  /// Drops a call the pool is done with, out of the queue too if it waits there.
  fn forget(&mut self, call_id: CallId) -> Option<Call> {
    let call = self.calls.remove(&call_id)?;
    if let Some(ticket) = call.ticket() {
      self.queue.remove(ticket);
      self.methods_queued -= usize::from(call.is_method());
    }
    self.methods -= usize::from(call.is_method());
    Some(call)
  }

  fn on_message(&mut self, worker_id: WorkerId, message: FromWorker, out: &mut Vec<Action>) {
    let Some(worker) = self.workers.get(&worker_id) else {
      return;
    };
    if worker.is_shunned() {
      // Killed for breaking the protocol: nothing it still sends counts (its descriptors close here).
      return;
    }
    if matches!(message, FromWorker::Ready) && worker.said_ready {
      // The shim says Ready once, before anything else: of two, the first was forged (a preload
      // writing on the channel), so this worker never started, whatever it was made to do since
      // (recycled, retired). Its start failed, and the failed starts its forged Ready cleared
      // count again: otherwise a pool with a `minimum` would start such workers forever.
      self.workers.get_mut(&worker_id).expect("checked above").forged_ready = true;
      return self.on_corrupt(worker_id, "said it was ready twice".to_string(), out);
    }
    if worker.is_retired() {
      if matches!(message, FromWorker::Pace { .. }) {
        // Sent with its last answers, before it read that its channel was closed.
        return;
      }
      let kind = message.kind();
      return self.on_corrupt(worker_id, format!("sent a {kind:?} frame after its channel was closed"), out);
    }
    if let Some(reason) = self.violation(worker_id, &message) {
      return self.on_corrupt(worker_id, reason, out);
    }
    let worker = self.workers.get_mut(&worker_id).expect("checked above");
    match message {
      FromWorker::Ready => {
        worker.said_ready = true;
        if worker.become_ready() {
          worker.failed_starts_before = self.failed_starts;
          self.failed_starts = 0;
          self.start_blocked = false;
          self.pump(out);
          self.arm_idle_timer(worker_id, out);
          self.check_drained(out);
        }
      }
      FromWorker::StreamStart { call, .. } => self.on_piece(worker_id, call, Piece::Started, out),
      FromWorker::Item { call, payload, .. } => self.on_piece(worker_id, call, Piece::Item(payload), out),
      FromWorker::Resolved { call, payload, handles, .. } => {
        self.on_answer(worker_id, call, Outcome::Resolved(payload, handles), out)
      }
      FromWorker::Rejected { call, payload, .. } => self.on_answer(worker_id, call, Outcome::Rejected(payload), out),
      FromWorker::Recycle => {
        worker.asked_recycle = true;
        if worker.recycle() {
          self.after_call(worker_id, out);
        }
      }
      FromWorker::Fatal { call, error } => self.on_fatal(worker_id, call, error, out),
      FromWorker::Awaiting { call, .. } => {
        // A leaving worker's late word on a call that failed over is stale.
        if worker.in_flight.contains(&call) {
          let method = self.calls.get(&call).and_then(Call::method);
          worker.set_awaiting(call, method);
          worker.news_since_pace = true;
          self.progress += 1;
          if let Some(method) = method {
            worker.pace.on_await(method);
          }
          self.pump(out);
        }
      }
      FromWorker::Pace { busy_us, elapsed_us } => {
        worker.news_since_pace = false;
        // A report that leaves the worker no more room than before changes no dispatch: a flood
        // of them costs a few additions each, not a pass over the queue and the workers.
        if worker.pace.on_report(busy_us, elapsed_us) {
          self.pump(out);
        }
      }
    }
  }

  /// A stream starts or brings an item: passed on to the caller unless it gave up on the call.
  fn on_piece(&mut self, worker_id: WorkerId, call_id: CallId, piece: Piece, out: &mut Vec<Action>) {
    let Some(call) = self.calls.get_mut(&call_id) else { return };
    if call.worker() != Some(worker_id) {
      return;
    }
    match piece {
      Piece::Started => {
        self.progress += 1;
        call.start_stream();
        // A stream is paced by its credit, not by the worker's thread.
        if let Some(worker) = self.workers.get_mut(&worker_id) {
          worker.set_awaiting(call_id, call.method());
        }
      }
      Piece::Item(_) => call.take_item(),
    }
    if self.phase == Phase::Draining && call.waits_on_reader() {
      let reads = call.reads;
      self.watch_reader(call_id, reads, out);
    }
    let call = &self.calls[&call_id];
    let started = matches!(piece, Piece::Started);
    if !call.is_abandoned() {
      out.push(Action::Deliver { call: call_id, piece });
    }
    // Its place is free now: what waits behind it goes, or it would wait for the stream's reader,
    // who may be waiting for that very call (three streams opened before any is read).
    if started {
      self.pump(out);
    }
  }

  /// The worker answered a call (or a load) with its result.
  fn on_answer(&mut self, worker_id: WorkerId, call_id: CallId, outcome: Outcome, out: &mut Vec<Action>) {
    let worker = self.workers.get_mut(&worker_id).expect("the answer's worker exists");
    let was_awaiting = worker.awaiting.contains(&call_id);
    let method = self.calls.get(&call_id).and_then(Call::method);
    // Progress for the stall rule is a call that counted against the bound on calls that await
    // coming back (it awaited, streamed, or was of a method that may await there): calls of a
    // method measured synchronous answering beside a barrier (a cheap method called steadily at a
    // higher priority) say nothing of whether the calls that await will ever come back, and
    // counting them kept the stall timer from ever finding a quiet interval.
    let counted = was_awaiting || method.is_some_and(|m| worker.pace.may_await(m));
    // A reply for a call that is not on this worker (already failed over) is stale.
    if !worker.take_off(&call_id, method) {
      return;
    }
    worker.news_since_pace = true;
    if counted {
      self.progress += 1;
    }
    let call = self.calls.remove(&call_id).expect("in-flight call exists");
    // Loading a module costs what it costs once: it says nothing of the calls to come.
    if let Some(method) = call.method() {
      worker.pace.on_progress(method);
      if was_awaiting && !call.is_streaming() {
        worker.pace.on_awaited_answer(worker.awaiting.len());
      }
      let (wait_us, run_us) = (call.dispatched_us - call.submitted_us, self.now - call.dispatched_us);
      self.waits.record(wait_us);
      self.runs.record(run_us);
      if call.traced && !call.is_abandoned() {
        out.push(Action::Traced { call: call_id, pid: worker.pid, attempt: call.attempts, wait_us, run_us });
      }
    }
    self.methods -= usize::from(call.is_method());
    if matches!(outcome, Outcome::Rejected(_)) && call.is_load() {
      // Not loaded into workers that come later (the calls dispatched after this answer included).
      self.modules.retain(|(id, _)| *id != call.module);
    }
    // Method calls count towards recycling; loading a module does not.
    if call.is_method() {
      worker.completed += 1;
    }
    if self.config.recycle_after.is_some_and(|n| worker.completed >= n) {
      worker.recycle();
    }
    if !call.is_abandoned() {
      out.push(Action::Settle { call: call_id, outcome });
    }
    self.after_call(worker_id, out);
  }

  /// Why `message` means nothing coming from this worker in its current state, if so. A worker is
  /// untrusted: what it says is checked against what it was asked (which call, on which worker,
  /// of which module, in which state of its stream), so one that lies or floods is dropped
  /// before anything it says reaches a caller. (What it may never say is refused by the codec.)
  fn violation(&self, worker_id: WorkerId, message: &FromWorker) -> Option<String> {
    let worker = &self.workers[&worker_id];
    let id = match message {
      FromWorker::Ready => return worker.said_ready.then(|| "said it was ready twice".to_string()),
      FromWorker::Recycle if !worker.said_ready => return Some("asked to be recycled before it was ready".to_string()),
      // The shim asks only as a call finishes (its memory grew past `maxMemory`).
      FromWorker::Recycle if worker.generation == 0 => {
        return Some("asked to be recycled before it was given a call".to_string())
      }
      FromWorker::Recycle => return worker.asked_recycle.then(|| "asked to be recycled twice".to_string()),
      FromWorker::Fatal { .. } => return worker.sent_fatal.then(|| "reported a second uncaught exception".to_string()),
      FromWorker::Pace { .. } if !worker.said_ready => {
        return Some("reported its pace before it was ready".to_string())
      }
      // A worker reports after news (an answer, a call that awaits) or, while it holds a call,
      // now and then without: a report of nothing while it holds nothing is no worker's.
      // (One on its way out may have had a report under way when its last call left.)
      FromWorker::Pace { .. } => {
        return (!worker.news_since_pace && worker.in_flight.is_empty() && !worker.is_leaving())
          .then(|| "reported its pace with nothing to report and no call to run".to_string())
      }
      answer => answer.call().expect("an answer names its call"),
    };
    if !worker.in_flight.contains(&id) {
      // A leaving worker's late word on a call that failed over or was closed with force is
      // stale. Otherwise no race explains it: a worker says a call awaits before it answers it,
      // and a call cancelled or timed out stays on its worker until it answers.
      let what = if matches!(message, FromWorker::Awaiting { .. }) { "said it awaits" } else { "answered" };
      return (!worker.is_leaving()).then(|| format!("{what} call {id}, which it was never given"));
    }
    let call = self.calls.get(&id)?;
    let load = call.is_load();
    if let Some(module) = message.module().filter(|module| *module != call.module) {
      return Some(format!("named module {module} in its answer to call {id}, of module {}", call.module));
    }
    match message {
      FromWorker::Awaiting { .. } if call.is_streaming() => Some(format!("said call {id}, a stream, awaits")),
      FromWorker::Awaiting { .. } if worker.awaiting.contains(&id) => {
        Some(format!("said call {id} awaits when it had said so already"))
      }
      FromWorker::StreamStart { .. } if load => Some(format!("answered the module load {id} with a stream")),
      FromWorker::StreamStart { .. } if call.is_streaming() => Some(format!("started the stream of call {id} twice")),
      FromWorker::Item { .. } if !call.is_streaming() => {
        Some(format!("sent a stream item for call {id}, whose result is not a stream"))
      }
      FromWorker::Item { .. } if call.stream_credit() == Some(0) => {
        Some(format!("sent more items of call {id} than the parent had room for (its credit window)"))
      }
      FromWorker::Resolved { handles, .. } if !handles.is_empty() && (load || call.is_streaming()) => {
        Some(format!("sent descriptors with the end of call {id}, which cannot carry them"))
      }
      _ => None,
    }
  }

  /// A call left its worker: give the slot away, retire a recycled worker that is now idle.
  fn after_call(&mut self, worker_id: WorkerId, out: &mut Vec<Action>) {
    self.note_idle(worker_id);
    let recycled_and_idle =
      self.workers.get(&worker_id).is_some_and(|w| w.state() == WorkerState::Recycling && w.load() == 0);
    if recycled_and_idle {
      self.retire(worker_id, out);
    }
    self.pump(out);
    self.arm_idle_timer(worker_id, out);
    self.check_drained(out);
  }

  /// A worker with nothing in flight any more stops counting as busy.
  fn note_idle(&mut self, worker_id: WorkerId) {
    let now = self.now;
    if let Some(w) = self.workers.get_mut(&worker_id).filter(|w| w.in_flight.is_empty()) {
      if let Some(since) = w.busy_since.take() {
        self.busy_us += now - since;
      }
    }
  }

  /// A worker leaves the table: the time it was busy still counts.
  fn note_gone(&mut self, worker: &Worker) {
    if let Some(since) = worker.busy_since {
      self.busy_us += self.now - since;
    }
  }

  /// An uncaught exception in the worker: the call it is attributed to rejects with it, the
  /// worker exits (its other calls fail over then), and `onError` hears it.
  fn on_fatal(&mut self, worker_id: WorkerId, call: Option<CallId>, error: Vec<u8>, out: &mut Vec<Action>) {
    let Some(worker) = self.workers.get_mut(&worker_id) else { return };
    // Before it was ready or given anything: its start failed (see `on_corrupt`).
    let was_starting = worker.is_starting() || (worker.generation == 0 && !worker.is_leaving());
    if was_starting && !worker.is_starting() {
      self.failed_starts = self.failed_starts.max(worker.failed_starts_before);
    }
    worker.leave(Leave::Exiting);
    worker.sent_fatal = true;
    let pid = worker.pid;
    // It exits by itself, unless its own `exit` handlers keep it.
    out.push(Action::ArmTimer { timer: Timer::LeaveGrace { worker: worker_id }, after_ms: self.config.leave_grace_ms });
    let mut message = format!("{} had an uncaught exception", describe_worker(pid));
    if let Some(call_id) = call.filter(|id| worker.take_off(id, self.calls.get(id).and_then(Call::method))) {
      worker.died_of = Some(call_id);
      let _ = write!(message, " while running call {call_id}");
      if let Some(call) = self.forget(call_id) {
        if call.is_load() {
          self.forget_module(call.module);
        }
        if !call.is_abandoned() {
          out.push(Action::Settle { call: call_id, outcome: Outcome::Rejected(error.clone()) });
        }
      }
    }
    let mut failure = Failure::new(FailureKind::WorkerCrashed, message).with_exit(pid, None);
    failure.error = Some(error);
    out.push(Action::Report { failure });
    if was_starting {
      // It never became ready: its start failed like any other (counted against `retries`), or
      // a preload that forges this report would have the pool start workers forever while the
      // calls waiting for one never settle.
      let what = describe_worker(pid);
      self.on_start_failed(format!("{what} had an uncaught exception before it was given a call"), pid, None, out);
      self.pump(out);
    }
    self.note_idle(worker_id);
    self.check_drained(out);
  }

  fn on_corrupt(&mut self, worker_id: WorkerId, reason: String, out: &mut Vec<Action>) {
    let Some(worker) = self.workers.get_mut(&worker_id) else {
      return;
    };
    if worker.is_shunned() {
      return;
    }
    // One that broke it before it was given anything (its Ready forged, or all it did since
    // unprompted) never really started either.
    let was_starting = worker.is_starting() || worker.forged_ready || worker.generation == 0;
    if was_starting && !worker.is_starting() {
      self.failed_starts = self.failed_starts.max(worker.failed_starts_before);
    }
    worker.leave(Leave::Shunned);
    let (pid, what) = (worker.pid, describe_worker(worker.pid));
    let failure =
      Failure::new(FailureKind::WorkerCrashed, format!("{what} broke the protocol: {reason}")).with_exit(pid, None);
    out.push(Action::Report { failure });
    out.push(Action::Kill { worker: worker_id, signal: Signal::Kill });
    if was_starting {
      // It never became ready, so its start failed like any other (counted against `retries`):
      // otherwise a preload that garbles the channel would have the pool start workers forever.
      self.on_start_failed(format!("{what} broke the protocol before it was ready: {reason}"), pid, None, out);
      self.pump(out);
      self.check_drained(out);
    }
  }

  /// The one escalation every worker that should be gone goes through (`LeaveGrace`, SIGTERM,
  /// `TermGrace`, SIGKILL), here for a worker whose channel ended without its exit: it cannot
  /// answer any more, and its exit is what fails its calls over. A leaving worker is already on
  /// its way (its grace armed, or signalled).
  fn on_channel_ended(&mut self, worker_id: WorkerId, out: &mut Vec<Action>) {
    let Some(worker) = self.workers.get_mut(&worker_id) else { return };
    if worker.channel_ended || worker.is_leaving() {
      return;
    }
    worker.channel_ended = true;
    out.push(Action::ArmTimer { timer: Timer::LeaveGrace { worker: worker_id }, after_ms: self.config.leave_grace_ms });
  }

  fn on_exited(&mut self, worker_id: WorkerId, status: ExitStatus, out: &mut Vec<Action>) {
    let Some(worker) = self.workers.remove(&worker_id) else {
      return;
    };
    self.note_gone(&worker);
    let what = describe_exit(worker.pid, &status);
    // A worker that aborted (V8 does that when the heap runs out) with one call running died of
    // that call: sending it again would only kill another worker.
    let blamed = (status.signal == Some(ExitSignal::Abort) && worker.in_flight.len() == 1)
      .then(|| *worker.in_flight.first().unwrap());
    // Its own report (or the pool's kill over a cancel) pinned its death on a call it ran, and it
    // kept to the protocol since: the calls still on it did nothing wrong (the one at fault has
    // settled already).
    let elsewhere = worker.died_of.is_some() && !worker.is_shunned();
    // Oldest first back to the head of the queue, so failed-over calls keep their order.
    for call in worker.in_flight.iter().rev() {
      let death = if Some(*call) == blamed {
        Death::OfThisCall
      } else if elsewhere {
        Death::OfAnotherCall
      } else {
        Death::Unpinned
      };
      self.fail_over(*call, &what, worker.pid, &status, death, out);
    }
    match worker.state() {
      // The scheduler asked it to go: its exit is not news.
      WorkerState::Leaving(_) => {}
      WorkerState::Starting => {
        self.on_start_failed(format!("{what} before it was ready"), worker.pid, Some(status), out);
      }
      WorkerState::Ready | WorkerState::Recycling => {
        let failure = Failure::new(FailureKind::WorkerCrashed, format!("{what} unexpectedly"))
          .with_exit(worker.pid, Some(status.clone()));
        out.push(Action::Report { failure });
        if worker.generation == 0 {
          // It died before it was given anything (a preload that fails a moment after the
          // start): its start failed too, or a `minimum` would replace it forever.
          self.failed_starts = self.failed_starts.max(worker.failed_starts_before);
          self.on_start_failed(format!("{what} before it was given a call"), worker.pid, Some(status), out);
        }
      }
    }
    self.pump(out);
    self.check_drained(out);
    self.check_closed(out);
  }

  fn on_timer(&mut self, timer: Timer, out: &mut Vec<Action>) {
    match timer {
      Timer::Idle { worker, generation } => {
        let staying = self.staying_count();
        let Some(w) = self.workers.get(&worker) else { return };
        if self.phase == Phase::Open
          && w.is_ready()
          && w.load() == 0
          && w.generation == generation
          && staying > self.config.minimum as usize
        {
          self.retire(worker, out);
        }
      }
      Timer::KillStragglers => {
        for id in self.workers.keys() {
          out.push(Action::Kill { worker: *id, signal: Signal::Kill });
        }
      }
      Timer::CallTimeout { call } => {
        let Some(c) = self.calls.get(&call) else { return };
        if c.is_abandoned() {
          return;
        }
        let ms = c.options.timeout_ms.unwrap_or_default();
        let failure = Failure::new(FailureKind::TimedOut, format!("the call timed out after {ms} ms"));
        out.push(Action::Settle { call, outcome: Outcome::Failed(failure) });
        self.abandon(call, out);
      }
      Timer::CancelGrace { worker, call } => {
        let still_running = self.calls.get(&call).is_some_and(|c| c.is_abandoned() && c.worker() == Some(worker));
        let Some(w) = self.workers.get_mut(&worker) else { return };
        if !still_running || w.is_leaving() {
          return;
        }
        // The worker ignores cancellation; its other calls fail over when it is gone. Its death
        // is the cancelled call's: the pool's own doing costs the others no attempt.
        w.leave(Leave::Stopped);
        w.died_of = Some(call);
        let ms = self.config.cancel_grace_ms;
        let failure = Failure::new(
          FailureKind::WorkerCrashed,
          format!("{} did not stop a cancelled call within {ms} ms and was killed", describe_worker(w.pid)),
        )
        .with_exit(w.pid, None);
        out.push(Action::Report { failure });
        out.push(Action::Kill { worker, signal: Signal::Kill });
      }
      Timer::LeaveGrace { worker } => {
        if self.workers.get(&worker).is_some_and(|w| w.is_leaving() || w.channel_ended) {
          out.push(Action::Kill { worker, signal: Signal::Term });
          out.push(Action::ArmTimer { timer: Timer::TermGrace { worker }, after_ms: self.config.kill_grace_ms });
        }
      }
      Timer::TermGrace { worker } => {
        if self.workers.contains_key(&worker) {
          out.push(Action::Kill { worker, signal: Signal::Kill });
        }
      }
      Timer::StartDeadline { worker } => self.on_start_deadline(worker, out),
      Timer::LoadTimeout { worker, call } => self.on_load_timeout(worker, call, out),
      Timer::Stall => self.on_stall_timer(out),
      Timer::UnreadStream { call, reads } => self.on_unread_stream(call, reads, out),
    }
  }

  /// A graceful close waits for streams only while they are read: one that waits on its reader
  /// gets `close_read_grace_ms` for the reader to read on.
  fn watch_reader(&mut self, call: CallId, reads: u32, out: &mut Vec<Action>) {
    if let Some(after_ms) = self.config.close_read_grace_ms {
      out.push(Action::ArmTimer { timer: Timer::UnreadStream { call, reads }, after_ms });
    }
  }

  /// The reader of a stream read nothing for `close_read_grace_ms` while the pool closes: the
  /// stream fails with `Closed` after the items it delivered, and its worker is told to stop it
  /// (killed if it does not within `cancel_grace_ms`, as for any cancelled call).
  fn on_unread_stream(&mut self, call_id: CallId, reads: u32, out: &mut Vec<Action>) {
    let unread = self.calls.get(&call_id).is_some_and(|c| c.waits_on_reader() && c.reads == reads);
    if self.phase != Phase::Draining || !unread {
      return;
    }
    let ms = self.config.close_read_grace_ms.unwrap_or_default();
    let failure = Failure::new(
      FailureKind::Closed,
      format!("the pool closed while nothing read this stream for {ms} ms (the worker waited on its reader)"),
    );
    out.push(Action::Settle { call: call_id, outcome: Outcome::Failed(failure) });
    self.abandon(call_id, out);
  }

  /// The stall timer: if no call progressed since it was armed and calls are still queued only by
  /// bounds on calls that await, those bounds grow (`Pace::on_stall`) and what now fits goes.
  fn on_stall_timer(&mut self, out: &mut Vec<Action>) {
    let Some(armed_at) = self.stall_watch.take() else { return };
    if armed_at == self.progress {
      let cap = self.config.max_per_child;
      if let Some(stalled) = self.stalled_workers() {
        for id in stalled {
          self.workers.get_mut(&id).expect("a stalled worker exists").pace.on_stall(cap);
        }
      }
    }
    // Re-armed from here while the stall lasts: a stall is judged over a whole interval.
    self.pump(out);
  }

  /// The workers that could take the first queued call that may await, if each is stopped by its
  /// bound on calls that await (`Room::AwaitBound`): then nothing but a stall may free them (what
  /// they hold never comes back by itself, as far as the pool can tell). The calls ahead of it
  /// that await nowhere (a steady flow of cheap calls at a higher priority) are looked past, up
  /// to `STALL_LOOKAHEAD`: their workers' own progress moves them, and while they are ahead the
  /// calls behind them could never be seen stalled. None if there is no such call, or any worker
  /// could take it or is stopped by something else only, which its own progress will lift.
  fn stalled_workers(&mut self) -> Option<Vec<WorkerId>> {
    self.queue.front()?;
    let mut looked_past = None;
    let method = self.queue.iter().take(STALL_LOOKAHEAD).find_map(|call| {
      // A module load holds no bound: it goes by its worker's progress like a synchronous call.
      let method = self.calls.get(&call)?.method()?;
      if looked_past == Some(method) {
        return None;
      }
      if self.candidates().any(|(_, w)| w.pace.may_await(method)) {
        return Some(method);
      }
      looked_past = Some(method);
      None
    })?;
    let mut stalled = Vec::new();
    for (id, w) in self.candidates() {
      let judged = || w.pace.judge(method);
      match w.pace.room(w.held(), || w.held_cost(), judged, || w.awaiting_load(), w.load()) {
        Room::AwaitBound => stalled.push(id),
        Room::Free | Room::Full => return None,
      }
    }
    (!stalled.is_empty()).then_some(stalled)
  }

  /// Arms the stall timer if calls are queued only by bounds on calls that await.
  fn watch_for_stall(&mut self, out: &mut Vec<Action>) {
    if self.config.adaptive && self.stall_watch.is_none() && self.stalled_workers().is_some() {
      self.stall_watch = Some(self.progress);
      out.push(Action::ArmTimer { timer: Timer::Stall, after_ms: STALL_MS });
    }
  }

  /// A load that has not answered in time on `worker_id`: it fails, its module is forgotten, and
  /// every worker that was sent the module is stopped, since it may be stuck in it and loads
  /// after it wait behind it there (their other calls fail over, as when a worker dies).
  fn on_load_timeout(&mut self, worker_id: WorkerId, call_id: CallId, out: &mut Vec<Action>) {
    let still_loading = self.calls.get(&call_id).is_some_and(|c| c.worker() == Some(worker_id) && !c.is_abandoned());
    // On a worker already on its way out (stopped for another load that hung, say), the load
    // goes to another worker when this one has exited, with a deadline of its own there.
    if !still_loading || self.workers.get(&worker_id).is_none_or(Worker::is_leaving) {
      return;
    }
    let call = self.forget(call_id).expect("checked above");
    if let Some(w) = self.workers.get_mut(&worker_id) {
      w.take_off(&call_id, call.method());
    }
    let ms = self.config.load_timeout_ms.unwrap_or_default();
    let failure = Failure::new(FailureKind::LoadTimedOut, format!("the module did not finish loading within {ms} ms"));
    out.push(Action::Settle { call: call_id, outcome: Outcome::Failed(failure) });
    let module = call.module;
    // At once: the calls dispatched below must not be sent it.
    self.forget_module(module);
    let stuck: Vec<WorkerId> =
      self.workers.iter().filter(|(_, w)| w.modules.contains(&module) && !w.is_leaving()).map(|(id, _)| *id).collect();
    for id in stuck {
      let w = self.workers.get_mut(&id).expect("listed above");
      w.leave(Leave::Stopped);
      let failure = Failure::new(
        FailureKind::WorkerCrashed,
        format!("{} was stopped: a module sent to it did not finish loading within {ms} ms", describe_worker(w.pid)),
      )
      .with_exit(w.pid, None);
      out.push(Action::Report { failure });
      out.push(Action::Kill { worker: id, signal: Signal::Kill });
    }
    self.pump(out);
    self.check_drained(out);
  }

  /// A worker that did not become ready in time: a failed start (counted against `retries`),
  /// killed; its slot frees when it has exited.
  fn on_start_deadline(&mut self, worker_id: WorkerId, out: &mut Vec<Action>) {
    let Some(w) = self.workers.get_mut(&worker_id).filter(|w| w.is_starting()) else { return };
    w.leave(Leave::Stopped);
    let pid = w.pid;
    out.push(Action::Kill { worker: worker_id, signal: Signal::Kill });
    let ms = self.config.start_timeout_ms.unwrap_or_default();
    self.on_start_failed(format!("{} did not become ready within {ms} ms", describe_worker(pid)), pid, None, out);
    self.pump(out);
    self.check_drained(out);
  }

  /// A call with a `timeout` that waits while no worker is ready may be waiting on workers that
  /// never come (a start that hangs, workers that do not leave): its clock starts now.
  fn clock_waiting_calls(&mut self, out: &mut Vec<Action>) {
    if !self.unclocked_waiting {
      return;
    }
    if self.queue.is_empty() {
      self.unclocked_waiting = false;
      return;
    }
    if self.workers.values().any(Worker::is_ready) {
      return;
    }
    self.unclocked_waiting = false;
    for id in self.queue.iter() {
      let Some(call) = self.calls.get_mut(&id) else { continue };
      if let (false, Some(after_ms)) = (call.clocked, call.options.timeout_ms) {
        call.clocked = true;
        out.push(Action::ArmTimer { timer: Timer::CallTimeout { call: id }, after_ms });
      }
    }
  }

  /// The caller read more of a stream: the worker may produce that many more items.
  fn on_credit(&mut self, call_id: CallId, items: u32, out: &mut Vec<Action>) {
    let Some(call) = self.calls.get_mut(&call_id).filter(|c| c.is_streaming()) else { return };
    let Some(worker) = call.worker().filter(|_| !call.is_abandoned()) else { return };
    if self.workers.get(&worker).is_none_or(Worker::is_leaving) {
      return;
    }
    call.grant(items);
    out.push(Action::Send { worker, message: ToWorker::Credit { call: call_id, module: call.module, items } });
  }

  /// The call is settled elsewhere (cancelled by its caller, or timed out): a queued one is dropped,
  /// a running one is told to stop and given `cancel_grace_ms` to do so.
  fn abandon(&mut self, call_id: CallId, out: &mut Vec<Action>) {
    let Some(call) = self.calls.get_mut(&call_id) else {
      return;
    };
    if call.is_abandoned() {
      return;
    }
    match call.abandon() {
      None => {
        self.forget(call_id);
        self.check_drained(out);
      }
      Some(worker) => {
        if self.workers.get(&worker).is_none_or(Worker::is_leaving) {
          // Already on its way out; its exit frees the slot.
          return;
        }
        out.push(Action::Send { worker, message: ToWorker::Cancel { call: call_id, module: call.module } });
        out.push(Action::ArmTimer {
          timer: Timer::CancelGrace { worker, call: call_id },
          after_ms: self.config.cancel_grace_ms,
        });
      }
    }
  }

  fn on_close(&mut self, force: bool, out: &mut Vec<Action>) {
    match (self.phase, force) {
      (Phase::Closed, _) | (Phase::Forced, _) | (Phase::Draining, false) => {}
      (Phase::Open, false) => {
        self.phase = Phase::Draining;
        let mut unread: Vec<(CallId, u32)> =
          self.calls.iter().filter(|(_, c)| c.waits_on_reader()).map(|(id, c)| (*id, c.reads)).collect();
        unread.sort_unstable();
        for (call, reads) in unread {
          self.watch_reader(call, reads, out);
        }
        self.check_drained(out);
      }
      (Phase::Open | Phase::Draining, true) => {
        self.phase = Phase::Forced;
        let mut ids: Vec<CallId> = self.calls.iter().filter(|(_, c)| !c.is_abandoned()).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        self.calls.clear();
        self.methods = 0;
        self.methods_queued = 0;
        for call in ids {
          let failure = Failure::new(FailureKind::Closed, "the pool was closed with force before the call finished");
          out.push(Action::Settle { call, outcome: Outcome::Failed(failure) });
        }
        self.queue.clear();
        for (id, w) in self.workers.iter_mut() {
          if let Some(since) = w.busy_since.take() {
            self.busy_us += self.now - since;
          }
          w.clear_calls();
          w.leave(Leave::Stopped);
          out.push(Action::Kill { worker: *id, signal: Signal::Term });
        }
        if !self.workers.is_empty() {
          out.push(Action::ArmTimer { timer: Timer::KillStragglers, after_ms: self.config.kill_grace_ms });
        }
        self.check_closed(out);
      }
    }
  }

  /// Puts a call whose worker died back in the queue, or fails it if it may not be retried.
  fn fail_over(
    &mut self,
    call_id: CallId,
    what: &str,
    pid: Option<u32>,
    status: &ExitStatus,
    death: Death,
    out: &mut Vec<Action>,
  ) {
    let Some(call) = self.calls.get_mut(&call_id) else {
      return;
    };
    if call.is_abandoned() {
      self.forget(call_id);
      return;
    }
    let excused = death == Death::OfAnotherCall && call.excused < self.config.max_excused;
    call.excused += u32::from(excused);
    let counted = call.attempts - call.excused;
    let message = if death == Death::OfThisCall {
      format!("{what} while running this call, its only one (not retried)")
    } else if call.is_streaming() {
      format!("{what} while streaming the call's result (not retried: items were already delivered)")
    } else if call.options.no_retry {
      format!("{what} while the call was running (not retried: noRetry)")
    } else if !excused && counted >= self.config.max_attempts {
      let mut message = format!("{what} while the call was running; gave up after {counted} attempts");
      if call.excused > 0 {
        let _ = write!(message, " (and {} more deaths pinned on other calls)", call.excused);
      }
      message
    } else {
      self.requeue(call_id);
      self.counters.retried += 1;
      return;
    };
    if let Some(call) = self.forget(call_id).filter(Call::is_load) {
      self.forget_module(call.module);
    }
    let failure = Failure::new(FailureKind::WorkerDied, message).with_exit(pid, Some(status.clone()));
    out.push(Action::Settle { call: call_id, outcome: Outcome::Failed(failure) });
  }

  fn on_start_failed(&mut self, reason: String, pid: Option<u32>, status: Option<ExitStatus>, out: &mut Vec<Action>) {
    self.failed_starts += 1;
    if self.failed_starts <= self.config.retries {
      return;
    }
    let attempts = self.failed_starts;
    self.failed_starts = 0;
    self.start_blocked = true;
    let failure =
      Failure::new(FailureKind::StartFailed, format!("could not start a worker ({attempts} attempts): {reason}"))
        .with_exit(pid, status);
    out.push(Action::Report { failure: failure.clone() });
    while let Some(call) = self.queue.front() {
      if let Some(load) = self.forget(call).filter(Call::is_load) {
        self.forget_module(load.module);
      }
      out.push(Action::Settle { call, outcome: Outcome::Failed(failure.clone()) });
    }
  }

  /// Sends queued calls wherever they fit, then starts workers the queue or the minimum needs.
  fn pump(&mut self, out: &mut Vec<Action>) {
    while let Some(call_id) = self.queue.front() {
      let call = &self.calls[&call_id];
      let (module, is_method) = (call.module, call.is_method());
      let Some(worker) = self.pick_worker(module, call.method()) else { break };
      // `dispatch` moves the call from Queued (its ticket) to Running.
      self.queue.pop_front();
      self.methods_queued -= usize::from(is_method);
      self.dispatch(call_id, worker, out);
    }
    if !self.queue.is_empty() {
      self.watch_for_stall(out);
    }
    self.grow(out);
  }

  fn can_grow(&self) -> bool {
    matches!(self.phase, Phase::Open | Phase::Draining)
      && !self.start_blocked
      && self.workers.len() < self.config.limit as usize
  }

  /// The ready worker with room holding the fewest calls on its thread, then the fewest calls;
  /// among equals, the one that got work longest ago, so calls that come one at a time are
  /// spread too (a worker without the module loads it first). While the pool is still growing,
  /// a busy worker takes nothing more: new workers get it.
  fn pick_worker(&self, module: ModuleId, method: Option<MethodKey>) -> Option<WorkerId> {
    let adaptive = self.config.adaptive;
    let has_room = |w: &Worker| {
      // A module load is not a method's work: it costs nothing here, and does not await.
      let call = || method.map_or((0, false), |m| w.pace.judge(m));
      w.pace.room(w.held(), || w.held_cost(), call, || w.awaiting_load(), w.load()) == Room::Free
    };
    self
      .candidates()
      .filter(|(_, w)| !adaptive || has_room(w))
      .min_by_key(|(id, w)| {
        let held = if adaptive { w.held() } else { 0 };
        (held, w.load(), w.generation, !w.modules.contains(&module), *id)
      })
      .map(|(id, _)| id)
  }

  /// The workers that may take a call if they have room for it: ready, under `maxPerChild`, and
  /// while the pool is still growing, idle.
  fn candidates(&self) -> impl Iterator<Item = (WorkerId, &Worker)> + '_ {
    let growing = self.can_grow() || self.workers.values().any(Worker::is_starting);
    let cap = self.config.max_per_child as usize;
    self
      .workers
      .iter()
      .filter(|(_, w)| w.is_ready() && !w.channel_ended)
      .filter(move |(_, w)| cap == 0 || w.load() < cap)
      .filter(move |(_, w)| w.load() == 0 || !growing)
      .map(|(id, w)| (*id, w))
  }

  fn grow(&mut self, out: &mut Vec<Action>) {
    if self.start_blocked && !self.queue.is_empty() && self.workers.is_empty() {
      // Starting failed before, but a call now has no worker at all: try again from scratch
      // (bounded: another `retries` failures fail the queue).
      self.start_blocked = false;
      self.failed_starts = 0;
    }
    let starting = |s: &Self| s.workers.values().filter(|w| w.is_starting()).count();
    while self.can_grow() && starting(self) < self.queue.len() {
      self.spawn(out);
    }
    while self.phase == Phase::Open && self.can_grow() && self.staying_count() < self.config.minimum as usize {
      self.spawn(out);
    }
  }

  fn spawn(&mut self, out: &mut Vec<Action>) {
    let id = self.next_worker;
    self.next_worker += 1;
    let slot = self.free_slot();
    self.workers.insert(id, Worker::starting(slot));
    out.push(Action::Spawn { worker: id, slot });
    if let Some(after_ms) = self.config.start_timeout_ms {
      out.push(Action::ArmTimer { timer: Timer::StartDeadline { worker: id }, after_ms });
    }
  }

  /// The lowest slot no live worker holds. There is one within `limit`: at most `limit` workers
  /// live at once, and a worker gives its slot up only once it has exited.
  fn free_slot(&self) -> u32 {
    let mut taken: Vec<u32> = self.workers.values().map(|w| w.slot).collect();
    taken.sort_unstable();
    let mut slot = 1;
    for held in taken {
      if held == slot {
        slot += 1;
      } else if held > slot {
        break;
      }
    }
    slot
  }

  fn dispatch(&mut self, call_id: CallId, worker_id: WorkerId, out: &mut Vec<Action>) {
    let call = self.calls.get_mut(&call_id).expect("queued call exists");
    let worker = self.workers.get_mut(&worker_id).expect("picked worker exists");
    call.dispatch(worker_id);
    call.dispatched_us = self.now;
    if worker.in_flight.is_empty() {
      worker.busy_since = Some(self.now);
    }
    if let (false, Some(after_ms)) = (call.clocked, call.options.timeout_ms) {
      call.clocked = true;
      out.push(Action::ArmTimer { timer: Timer::CallTimeout { call: call_id }, after_ms });
    }
    worker.put_on(call_id, call.method());
    self.dispatches += 1;
    worker.generation = self.dispatches;
    let module = call.module;
    // Modules loaded into the pool before this one come first (a method call needs its own
    // module too); none of them answers.
    let is_load = call.is_load();
    let position = self.modules.iter().position(|(id, _)| *id == module).unwrap_or(self.modules.len());
    let needed = if is_load { position } else { (position + 1).min(self.modules.len()) };
    for (id, path) in &self.modules[..needed] {
      if worker.modules.insert(*id) {
        let preload = ToWorker::Load { call: None, module: *id, path: path.clone() };
        out.push(Action::Send { worker: worker_id, message: preload });
      }
    }
    if let (true, Some(after_ms)) = (is_load, self.config.load_timeout_ms) {
      out.push(Action::ArmTimer { timer: Timer::LoadTimeout { worker: worker_id, call: call_id }, after_ms });
    }
    let message = match &call.job {
      Job::Load { path } => {
        worker.modules.insert(module);
        ToWorker::Load { call: Some(call_id), module, path: path.clone() }
      }
      Job::Invoke { payload, handles, .. } => {
        ToWorker::Call { call: call_id, module, payload: payload.clone(), handles: handles.clone() }
      }
    };
    out.push(Action::Send { worker: worker_id, message });
  }

  /// Workers not on their way out.
  fn staying_count(&self) -> usize {
    self.workers.values().filter(|w| w.is_staying()).count()
  }

  fn arm_idle_timer(&mut self, worker_id: WorkerId, out: &mut Vec<Action>) {
    let Some(after_ms) = self.config.idle_timeout_ms else {
      return;
    };
    if self.phase != Phase::Open || self.staying_count() <= self.config.minimum as usize {
      return;
    }
    let Some(w) = self.workers.get(&worker_id) else { return };
    if w.is_ready() && w.load() == 0 {
      out.push(Action::ArmTimer { timer: Timer::Idle { worker: worker_id, generation: w.generation }, after_ms });
    }
  }

  fn retire(&mut self, worker_id: WorkerId, out: &mut Vec<Action>) {
    if let Some(w) = self.workers.get_mut(&worker_id) {
      w.leave(Leave::Retired);
      out.push(Action::Retire { worker: worker_id });
      out.push(Action::ArmTimer {
        timer: Timer::LeaveGrace { worker: worker_id },
        after_ms: self.config.leave_grace_ms,
      });
    }
  }

  /// A draining pool with nothing left to run retires its workers.
  fn check_drained(&mut self, out: &mut Vec<Action>) {
    if self.phase != Phase::Draining || !self.calls.is_empty() {
      return;
    }
    let to_retire: Vec<WorkerId> = self.workers.iter().filter(|(_, w)| !w.is_leaving()).map(|(id, _)| *id).collect();
    if !to_retire.is_empty() {
      for id in to_retire {
        self.retire(id, out);
      }
      out.push(Action::ArmTimer { timer: Timer::KillStragglers, after_ms: self.config.kill_grace_ms });
    }
    self.check_closed(out);
  }

  fn check_closed(&mut self, out: &mut Vec<Action>) {
    let finishing = self.phase == Phase::Forced || (self.phase == Phase::Draining && self.calls.is_empty());
    if finishing && self.workers.is_empty() {
      self.phase = Phase::Closed;
      self.closed_at = Some(self.now);
      out.push(Action::Closed);
    }
  }
}

fn describe_worker(pid: Option<u32>) -> String {
  match pid {
    Some(pid) => format!("worker pid {pid}"),
    None => "a worker".to_string(),
  }
}
