use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

use super::runtime::io_handle;
use super::settle::{SettleQueue, Settled};
use super::spawn::SpawnConfig;
use super::timers::Timers;
use super::worker_link::WorkerLink;
use crate::core::{Action, Event, PoolConfig, Scheduler, Signal, Stats, Timer, WorkerId};

/// Starts a pool on the I/O thread; events sent to the returned inbox drive it. The pool lives as
/// long as that sender (or a clone) does: everything on the I/O side holds only weak ones, so
/// dropping the JS pool ends the actor, which closes every worker's channel.
pub fn start_pool(
  config: PoolConfig,
  spawn: SpawnConfig,
  settle: Arc<SettleQueue>,
  stats: Arc<Mutex<Stats>>,
) -> UnboundedSender<Event> {
  let (inbox, events) = unbounded_channel();
  let (scheduler, first_actions) = Scheduler::new(config);
  let actor = PoolActor {
    scheduler,
    links: HashMap::new(),
    spawn,
    inbox: inbox.downgrade(),
    settle,
    stats,
    follow_ups: VecDeque::new(),
    timers: Timers::new(inbox.downgrade()),
  };
  io_handle().spawn(actor.run(events, first_actions));
  inbox
}

struct PoolActor {
  scheduler: Scheduler,
  links: HashMap<WorkerId, WorkerLink>,
  spawn: SpawnConfig,
  inbox: WeakUnboundedSender<Event>,
  settle: Arc<SettleQueue>,
  /// Where `pool.stats()` reads from, refreshed once per batch of events.
  stats: Arc<Mutex<Stats>>,
  /// Events produced while carrying out actions (a spawn's result), handled before the next input.
  follow_ups: VecDeque<Event>,
  timers: Timers,
}

impl PoolActor {
  async fn run(mut self, mut events: UnboundedReceiver<Event>, first_actions: Vec<Action>) {
    self.execute(first_actions);
    self.publish_stats();
    self.settle.flush();
    while let Some(event) = events.recv().await {
      self.handle(event);
      // Everything already waiting is handled before the JS thread is woken once for all of it.
      while let Ok(event) = events.try_recv() {
        self.handle(event);
      }
      self.publish_stats();
      self.settle.flush();
      if self.scheduler.is_closed() {
        return;
      }
    }
  }

  fn publish_stats(&self) {
    if let Ok(mut stats) = self.stats.lock() {
      *stats = self.scheduler.stats();
    }
  }

  fn handle(&mut self, event: Event) {
    self.follow_ups.push_back(event);
    let mut actions = Vec::new();
    while let Some(event) = self.follow_ups.pop_front() {
      match &event {
        // Reaped: its pid may be reused, so nothing may signal it any more.
        Event::Exited { worker, .. } => drop(self.links.remove(worker)),
        // A timeout that fired is done with, whatever the scheduler makes of it.
        Event::TimerFired { timer: Timer::CallTimeout { call, .. } } => self.timers.call_settled(*call),
        _ => {}
      }
      self.scheduler.handle(event, &mut actions);
      self.execute(std::mem::take(&mut actions));
    }
  }

  fn execute(&mut self, actions: Vec<Action>) {
    for action in actions {
      match action {
        Action::Spawn { worker } => match WorkerLink::start(worker, &self.spawn, self.inbox.clone(), &self.settle) {
          Ok(link) => {
            self.follow_ups.push_back(Event::Spawned { worker, pid: link.pid });
            self.links.insert(worker, link);
          }
          Err(err) => {
            let reason = format!("could not run {} in {}: {err}", self.spawn.exec_path, self.spawn.cwd);
            self.follow_ups.push_back(Event::SpawnFailed { worker, reason });
          }
        },
        Action::Send { worker, frame } => {
          if let Some(link) = self.links.get(&worker) {
            link.send(frame);
          }
        }
        Action::Retire { worker } => {
          if let Some(link) = self.links.get_mut(&worker) {
            link.retire();
          }
        }
        Action::Kill { worker, signal } => {
          if let Some(link) = self.links.get(&worker) {
            link.kill(match signal {
              Signal::Term => libc::SIGTERM,
              Signal::Kill => libc::SIGKILL,
            });
          }
        }
        Action::Settle { call, outcome } => {
          self.timers.call_settled(call);
          self.settle.push(Settled::Call(call, outcome));
        }
        Action::ArmTimer { timer, after_ms } => self.timers.arm(timer, after_ms),
        Action::Deliver { call, piece } => self.settle.push(Settled::Piece(call, piece)),
        Action::Report { failure } => self.settle.push(Settled::Report(failure)),
        Action::Room => self.settle.push(Settled::Room),
        Action::Closed => self.settle.push(Settled::Closed),
      }
    }
  }
}
