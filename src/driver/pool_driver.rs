//! Carries out one pool's scheduler actions on the JS thread's event loop: calls go out on the
//! worker's socket from inside `pool.call`, replies come in through a libuv poll and settle in
//! the same loop turn. Only process start and reaping run elsewhere (`lifecycle`).

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::sync::Arc;

use crossbeam_channel::Receiver;

use super::deadlines::Deadlines;
use super::frame_channel::FrameChannel;
use super::inbox::{LifeEvent, LifeInbox};
use super::js_callback::JsCallback;
use super::lifecycle::start_worker;
use super::portable_link::{ExitReport, PortableLink};
use super::portable_worker::{self, Counted, LineReader, OutputStream, Started};
use super::spawn::SpawnConfig;
use super::stream_channel::{StreamCallbacks, StreamChannel, WriteContext};
use super::to_js::ToJs;
use super::uv::{self, Handle, RawHandle, UvLoop, WRITABLE};
use super::uv_stream::{free_req, req_data, Process, RawReq};
use super::worker_channel::{Incoming, Sent, WorkerChannel, WriteState};
use super::worker_output::OutputProbe;
use crate::core::{
  Action, CallId, CallOptions, Event, IdMap, Job, MethodId, PoolConfig, Priority, Scheduler, Signal, Stats, Timer,
  WorkerId,
};
use crate::sys::UvBuf;

use crate::sys::{self, kill_group, Channel, Descriptor};

/// How soon to retry sending descriptors to a worker whose handle queue was full.
const HANDLE_RETRY_MS: u64 = 1;

/// What a pool waits for, behind its one libuv timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Due {
  /// One per worker: re-arming moves it.
  Idle(WorkerId),
  /// One per call: a retry's timeout replaces the last, settling removes it.
  CallTimeout(CallId),
  /// One per stream: re-armed each time it waits on its reader again (once per item read while
  /// the pool closes), so it moves instead of piling up; settling removes it.
  UnreadStream(CallId),
  Scheduler(Timer),
  HandleRetry(WorkerId),
  /// The earliest grace of the exited portable workers whose pipes another process holds: the
  /// loop wakes for it to look at them again (it carries nothing).
  ExitGrace,
}

/// The data a worker channel's poll callback gets back: which pool and which worker.
struct PollTarget {
  pool: *const PoolDriver,
  worker: WorkerId,
}

/// Which way a pool starts its workers and moves their bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverKind {
  /// Processes started and reaped on an I/O thread (pidfd, pre-exec setup), channels polled and
  /// written with system calls: Linux only.
  Linux,
  /// Everything through the libuv of the Node that loaded the addon: `uv_spawn`, its exit
  /// callback, pipes read and written as streams. Any OS Node runs on.
  Portable,
}

/// A worker's channel, whichever driver made it.
enum LinkChannel {
  Polled(WorkerChannel<PollTarget>),
  Stream(StreamChannel<PollTarget>),
}

impl DriverKind {
  pub fn name(self) -> &'static str {
    match self {
      DriverKind::Linux => "linux",
      DriverKind::Portable => "portable",
    }
  }
}

impl LinkChannel {
  fn frames(&mut self) -> &mut dyn FrameChannel {
    match self {
      LinkChannel::Polled(channel) => channel,
      LinkChannel::Stream(channel) => channel,
    }
  }

  /// Messages wait past a turn's budget.
  fn is_backlogged(&self) -> bool {
    match self {
      LinkChannel::Polled(channel) => channel.is_backlogged(),
      LinkChannel::Stream(channel) => channel.is_backlogged(),
    }
  }

  fn stream(&mut self) -> Option<&mut StreamChannel<PollTarget>> {
    match self {
      LinkChannel::Stream(channel) => Some(channel),
      LinkChannel::Polled(_) => None,
    }
  }
}

/// What `uv_spawn` gave a portable worker, with the target its process handle's data points at.
type StartResult = Result<(Started, Box<PollTarget>), String>;

/// A worker as the driver knows it: its process and channel arrive from the I/O thread (Linux)
/// or from `uv_spawn` (portable).
#[derive(Default)]
struct Link {
  pid: Option<u32>,
  /// Its place in the pool (`workerId` in the worker).
  slot: u32,
  /// Whether JS has every line its captured output has brought so far.
  output: Option<Arc<OutputProbe>>,
  channel: Option<LinkChannel>,
  /// The portable driver's process handle and output.
  portable: Option<PortableLink<PollTarget>>,
  /// Asked for before the process existed; carried out when it does.
  retired: bool,
  kill: Option<Signal>,
}

/// The libuv handles a pool runs on.
struct LoopHandles {
  /// The earliest of the pool's deadlines.
  timer: Handle<uv::Timer>,
  /// Settlements go to JS once per loop turn, after every worker that had something was read.
  flush: Handle<uv::Check>,
  /// Started with `flush` so a loop that would otherwise sleep gets to the flush first.
  nudge: Handle<uv::Idle>,
  /// Wakes the loop for news from the I/O thread; ref'd while JS awaits the pool.
  news: Handle<uv::WakeUp>,
}

struct State {
  scheduler: Scheduler,
  links: IdMap<WorkerId, Link>,
  /// The scheduler's own timers carry the `Timer` to hand back; the driver's carry nothing.
  deadlines: Deadlines<Due, Option<Timer>>,
  /// When the libuv timer is set to fire, if it is.
  timer_at: Option<u64>,
  batch: Vec<ToJs>,
  /// While JS handles a batch, the calls it makes are gathered and written together after it.
  corked: bool,
  /// Workers with frames gathered while corked.
  unflushed: Vec<WorkerId>,
  /// The scheduler's actions for the event being handled (empty in between).
  actions: Vec<Action>,
  /// Workers `uv_spawn` started (or failed to) while actions were carried out, told to the
  /// scheduler once they are.
  started: Vec<(WorkerId, StartResult)>,
  /// Portable workers reaped but not yet reported (what they wrote is still being read).
  exits_pending: usize,
  /// A portable worker's exit waits for the next loop turn, which must come without waiting for I/O.
  exit_turn_owed: bool,
  /// Workers a write to failed: their channels are told ended once the work at hand is done.
  broken: Vec<WorkerId>,
  /// Workers whose messages ran past a turn's budget: read again in the next turn (`on_nudge`).
  backlogged: Vec<WorkerId>,
  /// Portable workers that spent some of this turn's budget: given a new one once the turn's
  /// reads are over (`on_flush`, in the check phase after them).
  spent: Vec<WorkerId>,
  /// Microseconds since the pool started, read once per entry into the driver: the time of
  /// every event handled in it.
  now_us: u64,
}

pub struct PoolDriver {
  state: RefCell<State>,
  uv_loop: *mut UvLoop,
  handles: RefCell<Option<LoopHandles>>,
  inbox: Arc<LifeInbox>,
  news: Receiver<LifeEvent>,
  spawn: Arc<SpawnConfig>,
  kind: DriverKind,
  js: JsCallback,
  /// The environment is going away: no more JS, and N-API only as far as teardown allows.
  torn_down: Cell<bool>,
  /// The pool's start: its clock (`State::now_us`) counts from here.
  epoch: std::time::Instant,
  /// JS awaits the pool (`keep_alive`); the loop is also held while output is still coming.
  js_waits: Cell<bool>,
  /// Since JS last stopped awaiting the pool, its workers' output has been caught up with.
  output_caught_up: Cell<bool>,
}

impl PoolDriver {
  pub fn start(
    uv_loop: *mut UvLoop,
    config: PoolConfig,
    spawn: SpawnConfig,
    kind: DriverKind,
    js: JsCallback,
  ) -> std::io::Result<std::rc::Rc<PoolDriver>> {
    let missing = uv::missing_functions();
    if !missing.is_empty() {
      // Not Node (Bun, Deno): lib/runtime.js refuses such a host first; this keeps the addon
      // itself from calling a function that is not there.
      return Err(std::io::Error::other(format!("this runtime lacks libuv's {}", missing.join(", "))));
    }
    let (scheduler, first_actions) = Scheduler::new(config);
    let news_handle = Handle::wake_up(uv_loop, uv::null_data(), on_news)?;
    news_handle.set_ref(false);
    let (inbox, news) = LifeInbox::new(news_handle.raw());
    let state = State {
      scheduler,
      links: IdMap::default(),
      deadlines: Deadlines::default(),
      timer_at: None,
      batch: vec![],
      corked: false,
      unflushed: vec![],
      actions: vec![],
      started: vec![],
      exits_pending: 0,
      exit_turn_owed: false,
      broken: vec![],
      backlogged: vec![],
      spent: vec![],
      now_us: 0,
    };
    let driver = std::rc::Rc::new(PoolDriver {
      state: RefCell::new(state),
      uv_loop,
      handles: RefCell::new(None),
      inbox,
      news,
      spawn: Arc::new(spawn),
      kind,
      js,
      torn_down: Cell::new(false),
      epoch: std::time::Instant::now(),
      js_waits: Cell::new(false),
      output_caught_up: Cell::new(true),
    });
    // Every handle's data points at the driver, which closes them all before it is dropped
    // (`close_handles`): that is what makes `driver_of` sound.
    let me = std::rc::Rc::as_ptr(&driver).cast_mut().cast::<c_void>();
    news_handle.set_data(me);
    let (timer, flush, nudge) =
      match (Handle::timer(uv_loop, me), Handle::check(uv_loop, me), Handle::idle(uv_loop, me)) {
        (Ok(timer), Ok(flush), Ok(nudge)) => (timer, flush, nudge),
        (timer, flush, nudge) => {
          // A handle left open would keep the loop from closing; libuv's inits do not fail in practice.
          let error = std::io::Error::other("could not set up the pool's event-loop handles");
          if let Ok(handle) = timer {
            handle.close(());
          }
          if let Ok(handle) = flush {
            handle.close(());
          }
          if let Ok(handle) = nudge {
            handle.close(());
          }
          news_handle.close(());
          return Err(error);
        }
      };
    let handles = LoopHandles { timer, flush, nudge, news: news_handle };
    handles.timer.set_ref(false);
    handles.flush.set_ref(false);
    handles.nudge.set_ref(false);
    *driver.handles.borrow_mut() = Some(handles);
    driver.run(|s, d| s.actions = d.execute(s, first_actions));
    Ok(driver)
  }

  /// Feeds the scheduler an event from JS.
  pub fn submit(&self, event: Event) {
    self.run(|s, d| d.handle(s, event));
  }

  /// Submits a call to invoke a method. `fds` are descriptors (of sockets) to hand to the
  /// worker: they are duplicated here, so the caller may close its own.
  pub fn submit_call(
    &self,
    id: u32,
    module: u32,
    payload: Arc<[u8]>,
    options: CallOptions,
    fds: &[i32],
    method: MethodId,
  ) -> Result<(), String> {
    let handles = super::descriptors::attach(duplicate(fds)?);
    let job = Job::Invoke { payload, handles, method };
    self.submit(Event::Submit { call: id, module, job, options });
    Ok(())
  }

  pub fn kind(&self) -> DriverKind {
    self.kind
  }

  pub fn stats(&self) -> Stats {
    self.state.borrow().scheduler.stats_at(self.now_us())
  }

  fn now_us(&self) -> u64 {
    self.epoch.elapsed().as_micros() as u64
  }

  /// See `Scheduler::want_room`.
  pub fn want_room(&self, coming: usize) -> bool {
    self.state.borrow_mut().scheduler.want_room(coming)
  }

  /// Whether the id names a call or module the pool has not finished with.
  pub fn id_in_use(&self, id: CallId) -> bool {
    self.state.borrow().scheduler.id_in_use(id)
  }

  /// Holds the event loop open (or lets it go) on the pool's behalf.
  pub fn keep_alive(&self, on: bool) {
    if on && !self.js_waits.get() {
      // What to catch up with is decided when JS lets go again.
      self.output_caught_up.set(false);
      if let Ok(state) = self.state.try_borrow() {
        state.links.values().filter_map(|l| l.output.as_ref()).for_each(|probe| probe.forget_goal());
      }
    }
    self.js_waits.set(on);
    self.hold_for_output();
  }

  /// Holds the loop while JS awaits the pool, and after, until every line the workers had written
  /// then has reached JS: a program that just ends gets its workers' last lines (and one whose
  /// workers keep writing still ends).
  fn hold_for_output(&self) {
    let waits = self.js_waits.get();
    let behind = !waits
      && !self.output_caught_up.get()
      && match self.state.try_borrow() {
        Ok(state) => {
          let mut behind = false;
          for probe in state.links.values().filter_map(|l| l.output.as_ref()) {
            let caught_up = probe.caught_up();
            probe.watch(!caught_up);
            behind |= !caught_up;
          }
          self.output_caught_up.set(!behind);
          behind
        }
        // In the middle of handling something: asked again once it is handled.
        Err(_) => true,
      };
    if let Some(handles) = self.handles.borrow().as_ref() {
      handles.news.set_ref(waits || behind);
    }
  }

  /// Every entry point: mutate the state, then set the timer and schedule a flush as needed.
  fn run(&self, work: impl FnOnce(&mut State, &PoolDriver)) {
    let mut state = self.state.borrow_mut();
    state.now_us = self.now_us();
    work(&mut state, self);
    while let Some((worker, started)) = state.started.pop() {
      self.started(&mut state, worker, started);
    }
    while let Some(worker) = state.broken.pop() {
      self.handle(&mut state, Event::ChannelEnded { worker });
    }
    let handles = self.handles.borrow();
    let Some(handles) = handles.as_ref() else { return };
    if !state.batch.is_empty() || state.exits_pending > 0 || !state.spent.is_empty() {
      handles.flush.check_start(on_flush);
    }
    // While a portable worker's exit waits for the next turn, the loop must not sleep in between.
    if !state.batch.is_empty() || !state.backlogged.is_empty() || state.exit_turn_owed {
      handles.nudge.idle_start(on_nudge);
    }
    let next = state.deadlines.next();
    if next != state.timer_at {
      state.timer_at = next;
      match next {
        Some(at) => handles.timer.timer_start(on_timer, at.saturating_sub(uv::now(self.uv_loop, false))),
        None => handles.timer.timer_stop(),
      }
    }
  }

  fn handle(&self, s: &mut State, event: Event) {
    // Two events or more per call: the list is reused, not allocated for each.
    let mut actions = std::mem::take(&mut s.actions);
    s.scheduler.handle_at(s.now_us, event, &mut actions);
    s.actions = self.execute(s, actions);
  }

  /// Carries out `actions`; gives the list back empty.
  fn execute(&self, s: &mut State, mut actions: Vec<Action>) -> Vec<Action> {
    for action in actions.drain(..) {
      match action {
        Action::Spawn { worker, slot } => {
          s.links.insert(worker, Link { slot, ..Link::default() });
          match self.kind {
            DriverKind::Linux => start_worker(worker, slot, self.spawn.clone(), self.inbox.clone()),
            DriverKind::Portable => {
              let target = Box::new(PollTarget { pool: self, worker });
              let data = (&*target as *const PollTarget).cast_mut().cast();
              let started = portable_worker::start(self.uv_loop, &self.spawn, slot, data, on_exit);
              s.started.push((worker, started.map(|started| (started, target))));
            }
          }
        }
        Action::Send { worker, message } => {
          let corked = s.corked;
          let Some(channel) = channel_of(s, worker) else { continue };
          match channel.send(message.encode(), !corked) {
            Sent { owes_flush: true, .. } if s.corked => s.unflushed.push(worker),
            Sent { state, .. } => self.wrote(s, worker, state),
          }
        }
        Action::Retire { worker } => {
          if let Some(link) = s.links.get_mut(&worker) {
            link.retired = true;
            if let Some(channel) = link.channel.as_mut() {
              channel.frames().retire();
            }
          }
        }
        Action::Kill { worker, signal } => {
          if let Some(link) = s.links.get_mut(&worker) {
            match (link.pid, &link.portable) {
              (Some(pid), Some(portable)) => portable.kill(pid, signal),
              (Some(pid), None) => kill_group(pid, signal),
              (None, _) => link.kill = Some(signal),
            }
          }
        }
        Action::Settle { call, outcome } => {
          s.deadlines.cancel(Due::CallTimeout(call));
          s.deadlines.cancel(Due::UnreadStream(call));
          s.batch.push(ToJs::Call(call, outcome));
        }
        Action::ArmTimer { timer, after_ms } => {
          let due = match timer {
            Timer::Idle { worker, .. } => Due::Idle(worker),
            Timer::CallTimeout { call, .. } => Due::CallTimeout(call),
            Timer::UnreadStream { call, .. } => Due::UnreadStream(call),
            other => Due::Scheduler(other),
          };
          self.arm(s, due, after_ms, Some(timer));
        }
        Action::Deliver { call, piece } => s.batch.push(ToJs::Piece(call, piece)),
        Action::Report { failure } => s.batch.push(ToJs::Report(failure)),
        Action::Room => s.batch.push(ToJs::Room),
        Action::Closed => s.batch.push(ToJs::Closed),
        Action::Traced { call, pid, attempt, wait_us, run_us } => {
          s.batch.push(ToJs::Traced { call, pid: pid.unwrap_or_default(), attempt, wait_us, run_us })
        }
      }
    }
    actions
  }

  /// What a write to a worker's channel came to: descriptors the worker's queue had no room for
  /// are tried again shortly; a channel that cannot be written (the worker closed its end of
  /// one, or is gone) is as good as ended: the scheduler takes no new call to the worker and
  /// gives it the leave grace, so the calls whose frames were dropped fail over at its exit
  /// instead of waiting forever.
  fn wrote(&self, s: &mut State, worker: WorkerId, state: WriteState) {
    match state {
      WriteState::HandlesBlocked => self.arm(s, Due::HandleRetry(worker), HANDLE_RETRY_MS, None),
      WriteState::Broken if !s.broken.contains(&worker) => s.broken.push(worker),
      _ => {}
    }
  }

  fn arm(&self, s: &mut State, due: Due, after_ms: u64, timer: Option<Timer>) {
    // A call's time limit counts from now, not from the start of this loop turn.
    let fresh = matches!(due, Due::CallTimeout(_));
    let at = uv::now(self.uv_loop, fresh).saturating_add(after_ms);
    s.deadlines.arm(due, at, timer);
  }

  /// A worker's socket can be read or written.
  fn on_channel(&self, worker: WorkerId, events: i32) {
    self.run(|s, d| {
      let Some(channel) = channel_of(s, worker) else { return };
      if events & WRITABLE != 0 {
        let state = channel.flush();
        let blocked = state == WriteState::HandlesBlocked;
        d.wrote(s, worker, state);
        if blocked {
          return;
        }
      }
      d.take_in(s, worker, false);
    });
  }

  /// Reads what the worker sent and hands it to the scheduler, and tells it when the channel has
  /// ended (the scheduler decides how long the worker may take to exit).
  fn take_in(&self, s: &mut State, worker: WorkerId, drain: bool) {
    let Some(channel) = channel_of(s, worker) else { return };
    let incoming = channel.receive(drain);
    let mut ended = channel.read_done();
    for item in incoming {
      let event = match item {
        Incoming::Message(message) => Event::Message { worker, message },
        Incoming::Corrupt(reason) => Event::Corrupt { worker, reason },
      };
      self.handle(s, event);
      if s.scheduler.shuns(worker) {
        // Killed for breaking the protocol: the rest of what it sent is dropped (its descriptors
        // closed) and nothing more is read, so a flood costs no more than the frame that broke it.
        if let Some(channel) = channel_of(s, worker) {
          channel.stop_reading();
        }
        ended = true;
        break;
      }
    }
    if ended && !drain {
      self.handle(s, Event::ChannelEnded { worker });
    }
    let Some(channel) = s.links.get_mut(&worker).and_then(|l| l.channel.as_mut()) else { return };
    if channel.is_backlogged() && !s.backlogged.contains(&worker) {
      s.backlogged.push(worker);
    }
    if channel.stream().is_some_and(|c| c.spent()) && !s.spent.contains(&worker) {
      s.spent.push(worker);
    }
  }

  /// The next loop turn: workers whose messages ran past the previous turn's budget get another
  /// turn's worth, after the other workers' sockets were polled.
  fn on_nudge(&self) {
    self.run(|s, d| {
      for worker in std::mem::take(&mut s.backlogged) {
        d.take_in(s, worker, false);
      }
      if s.backlogged.is_empty() && s.batch.is_empty() && !s.exit_turn_owed {
        if let Some(handles) = d.handles.borrow().as_ref() {
          handles.nudge.idle_stop();
        }
      }
    });
  }

  fn on_timer(&self) {
    self.run(|s, d| {
      s.timer_at = None;
      let now = uv::now(d.uv_loop, false);
      while let Some((due, timer)) = s.deadlines.pop_due(now) {
        match due {
          Due::HandleRetry(worker) => {
            let Some(channel) = channel_of(s, worker) else { continue };
            let state = channel.flush();
            d.wrote(s, worker, state);
          }
          // Exited workers' pipes are looked at again in the check phase, which must come
          // without the loop sleeping for I/O first.
          Due::ExitGrace => s.exit_turn_owed = true,
          _ => {
            if let Some(timer) = timer {
              d.handle(s, Event::TimerFired { timer });
            }
          }
        }
      }
    });
  }

  fn on_news(&self) {
    self.run(|s, d| {
      while let Ok(news) = d.news.try_recv() {
        match news {
          LifeEvent::Spawned { worker, pid, channel, output } => {
            if let Some(link) = s.links.get_mut(&worker) {
              link.output = output;
            }
            d.spawned(s, worker, pid, channel)
          }
          LifeEvent::OutputRead => {}
          LifeEvent::SpawnFailed { worker, reason } => {
            s.links.remove(&worker);
            d.handle(s, Event::SpawnFailed { worker, reason });
          }
          LifeEvent::Output { pid, stderr, line, room, taken } => {
            s.batch.push(ToJs::Output { pid, stderr, line });
            drop(room);
            if let Some(probe) = taken {
              probe.took_line();
            }
          }
          LifeEvent::Exited { worker, status } => d.exited(s, worker, status),
        }
      }
    });
    // A read that brought no whole line may have been the last the loop was held for.
    self.hold_for_output();
  }

  /// Reaped (after what it wrote before exiting was read): its pid may be reused, so nothing
  /// may signal it any more.
  fn exited(&self, s: &mut State, worker: WorkerId, status: crate::core::ExitStatus) {
    // What it wrote before exiting is read before its exit is news.
    self.take_in(s, worker, true);
    if let Some(Link { pid: Some(pid), slot, .. }) = s.links.remove(&worker) {
      let expected = s.scheduler.exit_expected(worker);
      s.batch.push(ToJs::WorkerExited { pid, slot, status: status.clone(), expected });
    }
    s.deadlines.cancel(Due::HandleRetry(worker));
    s.deadlines.cancel(Due::Idle(worker));
    for timer in [Timer::StartDeadline { worker }, Timer::LeaveGrace { worker }, Timer::TermGrace { worker }] {
      s.deadlines.cancel(Due::Scheduler(timer));
    }
    self.handle(s, Event::Exited { worker, status });
  }

  fn spawned(&self, s: &mut State, worker: WorkerId, pid: u32, channel: Channel) {
    let target = PollTarget { pool: self, worker };
    let opened = WorkerChannel::open(self.uv_loop, target, channel, self.spawn.max_message_size, on_channel);
    self.opened(s, worker, pid, opened.map(LinkChannel::Polled).ok());
  }

  /// A portable worker `uv_spawn` started, or could not.
  fn started(&self, s: &mut State, worker: WorkerId, started: StartResult) {
    let (Started { pid, process, frames, handles, output }, target) = match started {
      Ok(started) => started,
      Err(reason) => {
        s.links.remove(&worker);
        return self.handle(s, Event::SpawnFailed { worker, reason });
      }
    };
    let me: *const PoolDriver = self;
    let reader_target = (&*target as *const PollTarget).cast();
    let probe = output.is_some().then(|| Arc::new(OutputProbe::default()));
    let output = match (output, &probe) {
      (Some([out, err]), Some(probe)) => {
        let counted = |index| Counted { probe: probe.clone(), index };
        vec![
          OutputStream::open(out, reader_target, false, counted(0), on_output_alloc, on_output_read),
          OutputStream::open(err, reader_target, true, counted(1), on_output_alloc, on_output_read),
        ]
      }
      _ => Vec::new(),
    };
    let portable = PortableLink::new(process, target, output);
    let callbacks = StreamCallbacks { alloc: on_stream_alloc, read: on_stream_read, written: on_stream_written };
    let opened =
      StreamChannel::open(frames, PollTarget { pool: me, worker }, handles, self.spawn.max_message_size, callbacks);
    if let Some(link) = s.links.get_mut(&worker) {
      link.portable = Some(portable);
      link.output = probe;
    }
    self.opened(s, worker, pid, opened.map(LinkChannel::Stream).ok());
  }

  fn opened(&self, s: &mut State, worker: WorkerId, pid: u32, channel: Option<LinkChannel>) {
    let Some(link) = s.links.get_mut(&worker) else { return };
    link.pid = Some(pid);
    s.batch.push(ToJs::WorkerSpawned { pid, slot: link.slot });
    let has_channel = channel.is_some();
    if let Some(mut channel) = channel {
      if link.retired {
        channel.frames().retire();
      }
      link.channel = Some(channel);
    }
    if let Some(signal) = link.kill {
      match &link.portable {
        Some(portable) => portable.kill(pid, signal),
        None => kill_group(pid, signal),
      }
    }
    self.handle(s, Event::Spawned { worker, pid });
    if !has_channel {
      // Its end was dropped with the error, so it reads EOF and exits by itself; if it does not,
      // the scheduler's grace stops it.
      self.handle(s, Event::ChannelEnded { worker });
    }
  }

  fn on_flush(&self) {
    let batch = {
      let handles = self.handles.borrow();
      let mut state = self.state.borrow_mut();
      if let Some(handles) = handles.as_ref() {
        handles.flush.check_stop();
        if state.backlogged.is_empty() && !state.exit_turn_owed {
          handles.nudge.idle_stop();
        }
      }
      state.corked = true;
      std::mem::take(&mut state.batch)
    };
    if !batch.is_empty() && !self.torn_down.get() {
      self.js.deliver(batch);
    }
    self.run(|s, d| {
      s.corked = false;
      for worker in std::mem::take(&mut s.spent) {
        if let Some(channel) = s.links.get_mut(&worker).and_then(|l| l.channel.as_mut()).and_then(LinkChannel::stream) {
          channel.new_turn();
        }
      }
      d.report_exits(s);
      for worker in std::mem::take(&mut s.unflushed) {
        let Some(channel) = channel_of(s, worker) else { continue };
        let state = channel.flush();
        d.wrote(s, worker, state);
      }
    });
    // The lines just delivered may be the last ones the loop was held for.
    self.hold_for_output();
  }

  /// Once per loop turn while portable workers have exited: reports each whose pipes are read.
  fn report_exits(&self, s: &mut State) {
    s.exit_turn_owed = false;
    if s.exits_pending == 0 {
      return;
    }
    let now = uv::now(self.uv_loop, true);
    let mut look_again: Option<u64> = None;
    let exited: Vec<WorkerId> = s
      .links
      .iter()
      .filter(|(_, l)| l.portable.as_ref().is_some_and(PortableLink::has_exited))
      .map(|(id, _)| *id)
      .collect();
    for worker in exited {
      let Some(link) = s.links.get_mut(&worker) else { continue };
      let Some(portable) = link.portable.as_mut() else { continue };
      match portable.exit_to_report(link.channel.as_mut().and_then(LinkChannel::stream), now) {
        Some(ExitReport::Now(status)) => {
          s.exits_pending -= 1;
          self.exited(s, worker, status);
        }
        Some(ExitReport::NextTurn) => s.exit_turn_owed = true,
        Some(ExitReport::By(at)) => look_again = Some(look_again.map_or(at, |t| t.min(at))),
        None => {}
      }
    }
    match look_again {
      Some(at) => s.deadlines.arm(Due::ExitGrace, at, None),
      None => s.deadlines.cancel(Due::ExitGrace),
    }
  }

  /// libuv reaped a portable worker.
  fn on_exit(&self, worker: WorkerId, status: i64, signal: i32) {
    self.run(|s, _| {
      let Some(portable) = s.links.get_mut(&worker).and_then(|l| l.portable.as_mut()) else { return };
      if !portable.has_exited() {
        portable.on_exit(status, signal);
        s.exits_pending += 1;
        s.exit_turn_owed = true;
      }
    });
  }

  /// Where libuv reads a portable worker's frames into next.
  fn read_target(&self, worker: WorkerId) -> UvBuf {
    let mut state = self.state.borrow_mut();
    match state.links.get_mut(&worker).and_then(|l| l.channel.as_mut()).and_then(LinkChannel::stream) {
      Some(channel) => channel.read_target(),
      // No room: libuv reports ENOBUFS, read as the channel's end.
      None => UvBuf::new(std::ptr::null(), 0),
    }
  }

  fn on_stream_read(&self, worker: WorkerId, nread: isize) {
    self.run(|s, d| {
      let Some(channel) = s.links.get_mut(&worker).and_then(|l| l.channel.as_mut()).and_then(LinkChannel::stream)
      else {
        return;
      };
      channel.on_read(nread);
      d.take_in(s, worker, false);
    });
  }

  fn on_stream_written(&self, worker: WorkerId) {
    self.run(|s, d| {
      let Some(channel) = s.links.get_mut(&worker).and_then(|l| l.channel.as_mut()).and_then(LinkChannel::stream)
      else {
        return;
      };
      channel.on_written();
      let state = FrameChannel::flush(channel);
      d.wrote(s, worker, state);
    });
  }

  fn on_output(&self, worker: WorkerId, stderr: bool, lines: Vec<String>) {
    self.run(|s, _| {
      let Some(pid) = s.links.get(&worker).and_then(|l| l.pid) else { return };
      s.batch.extend(lines.into_iter().map(|line| ToJs::Output { pid, stderr, line }));
    });
  }

  /// The environment is being torn down: workers are killed at once and every handle closed;
  /// `done` is dropped once libuv has closed them all.
  pub fn tear_down<T: Clone + 'static>(&self, done: T) {
    self.torn_down.set(true);
    let mut state = self.state.borrow_mut();
    let mut unreaped = Vec::new();
    for link in state.links.values_mut() {
      match (link.pid, &mut link.portable) {
        (Some(pid), Some(portable)) => {
          portable.kill(pid, Signal::Kill);
          if portable.close_now() {
            unreaped.push(pid);
          }
        }
        (Some(pid), None) => kill_group(pid, Signal::Kill),
        (None, _) => {}
      }
    }
    state.links.clear();
    drop(state);
    // libuv stops waiting for a process whose handle it closes.
    sys::reap_in_background(unreaped);
    self.close_handles(done);
  }

  fn close_handles<T: Clone + 'static>(&self, done: T) {
    self.inbox.disconnect();
    if let Some(handles) = self.handles.borrow_mut().take() {
      handles.timer.close(done.clone());
      handles.flush.close(done.clone());
      handles.nudge.close(done.clone());
      handles.news.close(done);
    }
  }
}

impl Drop for PoolDriver {
  /// An abandoned pool: its channels close, so its workers exit by themselves (the I/O thread
  /// reaps them).
  fn drop(&mut self) {
    self.state.get_mut().links.clear();
    self.close_handles(());
    if !self.torn_down.get() {
      self.js.release();
    }
  }
}

/// A method call's options as JS gives them: `timeout` in milliseconds (absent or infinite: none),
/// `priority` any number (absent: 0).
/// `traced`: a CallTrace entry comes before its settlement.
pub fn call_options(no_retry: bool, timeout: Option<f64>, priority: Option<f64>, traced: bool) -> CallOptions {
  let priority = Priority::new(priority.unwrap_or_default());
  CallOptions { no_retry, timeout_ms: timeout.and_then(to_ms), priority, traced }
}

/// Finite, non-negative milliseconds; `None` for infinity.
pub fn to_ms(ms: f64) -> Option<u64> {
  ms.is_finite().then(|| ms.max(0.0) as u64)
}

/// Our own copies of the caller's descriptors, or an error naming the bad one.
fn duplicate(fds: &[i32]) -> Result<Vec<Descriptor>, String> {
  if fds.len() > sys::MAX_HANDLES {
    return Err(format!("a call can carry at most {} handles", sys::MAX_HANDLES));
  }
  fds.iter().map(|&fd| Descriptor::copy_of(fd).map_err(|e| format!("descriptor {fd} cannot be sent: {e}"))).collect()
}

/// A worker's channel, whichever kind.
fn channel_of(s: &mut State, worker: WorkerId) -> Option<&mut dyn FrameChannel> {
  s.links.get_mut(&worker).and_then(|l| l.channel.as_mut()).map(LinkChannel::frames)
}

/// A strong count held through a libuv callback: JS run from it (a finalizer, say) may drop the
/// pool's last other reference, and the driver must outlive the callback.
struct Held(*const PoolDriver);

impl Held {
  /// # Safety
  /// `driver` must come from `Rc::as_ptr` of a live driver.
  unsafe fn new(driver: *const PoolDriver) -> Held {
    // SAFETY: the caller's contract: a live `Rc`'s pointer, so its count may be raised.
    unsafe { std::rc::Rc::increment_strong_count(driver) };
    Held(driver)
  }
}

impl std::ops::Deref for Held {
  type Target = PoolDriver;
  fn deref(&self) -> &PoolDriver {
    // SAFETY: the count taken in `new` keeps it alive.
    unsafe { &*self.0 }
  }
}

impl Drop for Held {
  fn drop(&mut self) {
    // SAFETY: gives back the count taken in `new` (possibly dropping the driver, which closes
    // its handles: libuv allows closing a handle from its own callback).
    unsafe { std::rc::Rc::decrement_strong_count(self.0) };
  }
}

/// The driver a handle's data points at.
///
/// # Safety
/// `raw` must be one of the driver's live handles.
unsafe fn driver_of(raw: RawHandle) -> Held {
  // SAFETY: the data of the driver's own handles is `Rc::as_ptr` of the driver (set in
  // `start`), and the driver closes them all before it is dropped, so while one is live (its
  // callback running) the driver is too.
  unsafe { Held::new(uv::data_of(raw) as *const PoolDriver) }
}

// The trampolines libuv calls: each turns its handle back into the driver (or the worker's
// channel target) and holds a strong count for the length of the callback. libuv calls them
// only on the loop's thread, only for a handle that is not closed yet (closing one stops its
// callbacks at once), which is the contract of `driver_of`.

unsafe extern "C" fn on_news(raw: RawHandle) {
  // SAFETY: see above; `raw` is the pool's `news` handle.
  unsafe { driver_of(raw) }.on_news();
}

unsafe extern "C" fn on_timer(raw: RawHandle) {
  // SAFETY: see above; `raw` is the pool's `timer` handle.
  unsafe { driver_of(raw) }.on_timer();
}

unsafe extern "C" fn on_flush(raw: RawHandle) {
  // SAFETY: see above; `raw` is the pool's `flush` handle.
  unsafe { driver_of(raw) }.on_flush();
}

unsafe extern "C" fn on_nudge(raw: RawHandle) {
  // SAFETY: see above; `raw` is the pool's `nudge` handle.
  unsafe { driver_of(raw) }.on_nudge();
}

/// A worker channel's poll: its data is the channel's boxed `PollTarget`, which lives as long
/// as the channel, whose drop closes the poll. Its `pool` is the driver, whose links (and so
/// channels) go before it does.
unsafe extern "C" fn on_channel(raw: RawHandle, status: i32, events: i32) {
  // SAFETY: as the doc comment says; both pointers are live for this callback.
  let (driver, worker) = unsafe {
    let target = &*(uv::data_of(raw) as *const PollTarget);
    (Held::new(target.pool), target.worker)
  };
  // An error on the socket reads as its end.
  let events = if status < 0 { uv::READABLE } else { events };
  driver.on_channel(worker, events);
}

/// The pool and worker behind a portable worker's handle (its pipe or process).
///
/// # Safety
/// `data` must be a live `PollTarget`: a channel's or a process's, whose owner (the worker's
/// link) closes or detaches the handle before it drops the target, as the driver drops its
/// links before itself.
unsafe fn target_of(data: *const c_void) -> (Held, WorkerId) {
  // SAFETY: the caller's contract.
  unsafe {
    let target = &*(data as *const PollTarget);
    (Held::new(target.pool), target.worker)
  }
}

/// A portable worker was reaped. A handle whose worker's link is gone (an abandoned pool) has
/// no data: it is closed here, which is all that is left to do.
unsafe extern "C" fn on_exit(raw: RawHandle, status: i64, signal: std::ffi::c_int) {
  // SAFETY: `raw` is a process handle made by portable_worker::start.
  let data = unsafe { uv::data_of(raw) };
  if data.is_null() {
    Handle::<Process>::adopt(raw).close(());
    return;
  }
  // SAFETY: see `target_of`; the link holds the process handle's target.
  let (driver, worker) = unsafe { target_of(data) };
  driver.on_exit(worker, status, signal);
}

unsafe extern "C" fn on_stream_alloc(raw: RawHandle, _suggested: usize, buf: *mut UvBuf) {
  // SAFETY: `raw` is a channel's pipe, whose data is the channel's target (see `target_of`);
  // libuv hands a buffer descriptor to fill.
  unsafe {
    let (driver, worker) = target_of(uv::data_of(raw));
    *buf = driver.read_target(worker);
  }
}

unsafe extern "C" fn on_stream_read(raw: RawHandle, nread: isize, _buf: *const UvBuf) {
  // SAFETY: as in `on_stream_alloc`.
  let (driver, worker) = unsafe { target_of(uv::data_of(raw)) };
  driver.on_stream_read(worker, nread);
}

/// A write (data: its `WriteContext`) or a shutdown (data: null) finished.
unsafe extern "C" fn on_stream_written(req: RawReq, _status: std::ffi::c_int) {
  // SAFETY: requests made by uv_stream with that data; libuv is done with them.
  let context = unsafe {
    let data = req_data(req);
    free_req(req);
    if data.is_null() {
      return;
    }
    Box::from_raw(data as *mut WriteContext)
  };
  if !context.alive.get() {
    return;
  }
  // SAFETY: the channel is alive, so its target is (see `target_of`).
  let (driver, worker) = unsafe { target_of(context.target) };
  drop(context);
  driver.on_stream_written(worker);
}

unsafe extern "C" fn on_output_alloc(raw: RawHandle, _suggested: usize, buf: *mut UvBuf) {
  // SAFETY: an output pipe's data is its boxed `LineReader`, alive until the pipe is closed.
  unsafe { *buf = (*(uv::data_of(raw) as *mut LineReader)).read_target() };
}

unsafe extern "C" fn on_output_read(raw: RawHandle, nread: isize, _buf: *const UvBuf) {
  // SAFETY: as in `on_output_alloc`; the reader's target is its worker's process target, which
  // the same link holds.
  let (lines, stderr, target) = unsafe {
    let reader = &mut *(uv::data_of(raw) as *mut LineReader);
    (reader.on_read(nread), reader.stderr, reader.target)
  };
  // SAFETY: as above.
  let (driver, worker) = unsafe { target_of(target) };
  if !lines.is_empty() {
    driver.on_output(worker, stderr, lines);
  }
  // This read may have been the last the loop was held for (a read without a line end too).
  driver.hold_for_output();
}
