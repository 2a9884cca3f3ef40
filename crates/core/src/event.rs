use std::sync::Arc;

pub use invoke_parallel_protocol::{CallId, ModuleId};
use invoke_parallel_protocol::{FromWorker, Handles, ToWorker};

use super::call_queue::Priority;
use super::exit::ExitStatus;
use super::failure::Failure;

pub type WorkerId = u64;
/// Which of its module's methods a call invokes: a number the caller gives each method name
/// (the payload, which names it, is opaque here). Adaptive dispatch costs calls per method.
pub type MethodId = u32;

/// What a call asks a worker to do.
#[derive(Clone, Debug)]
pub enum Job {
  /// Load a module (the payload is its resolved path) and answer with its export names.
  Load { path: Arc<[u8]> },
  /// Invoke a method of an already loaded module; the payload is opaque to Rust. The handles
  /// (sockets) travel with it.
  Invoke { payload: Arc<[u8]>, handles: Handles, method: MethodId },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallOptions {
  /// Fail with `WorkerDied` instead of re-sending the call when its worker dies.
  pub no_retry: bool,
  /// Milliseconds the call may take once dispatched (or once it waits on a pool with no worker ready).
  pub timeout_ms: Option<u64>,
  /// Higher leaves the queue first; equal ones in the order they came.
  pub priority: Priority,
  /// Someone traces it: its answer comes with where and how it ran (`Action::Traced`).
  pub traced: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
  /// A child went idle; `generation` tells whether it has worked since.
  Idle { worker: WorkerId, generation: u64 },
  /// The grace after SIGTERM on a forced close, or after retiring on a graceful one, is over.
  KillStragglers,
  /// A call's own time limit: armed when it is dispatched, or earlier if it waits on a pool with
  /// no worker ready; a retry does not restart it.
  CallTimeout { call: CallId },
  /// A cancelled call had this long to return before its worker is killed.
  CancelGrace { worker: WorkerId, call: CallId },
  /// A worker asked to leave (its channel closed, or it said it is exiting), or whose channel
  /// ended, had this long to exit: it gets SIGTERM.
  LeaveGrace { worker: WorkerId },
  /// It had this long after SIGTERM: it gets SIGKILL.
  TermGrace { worker: WorkerId },
  /// A starting worker had this long to say it is ready: its start failed.
  StartDeadline { worker: WorkerId },
  /// A module load sent to `worker` had this long to answer: it fails, and the workers that were
  /// sent the module are stopped (they may be stuck in it, and later loads wait behind it).
  LoadTimeout { worker: WorkerId, call: CallId },
  /// Calls were queued only by workers' bounds on calls that await (`pace::STALL_MS` ago): if no
  /// call progressed since, those bounds grow.
  Stall,
  /// The pool is closing gracefully and stream `call` has waited on its reader since its
  /// `reads`-th grant of credit: if it still does, it fails with `Closed`.
  UnreadStream { call: CallId, reads: u32 },
}

#[derive(Debug)]
pub enum Event {
  Submit {
    call: CallId,
    module: ModuleId,
    job: Job,
    options: CallOptions,
  },
  /// The caller gave up on the call (and has already settled it on its side).
  Cancel {
    call: CallId,
  },
  /// The caller consumed `items` more of a streamed result.
  Credit {
    call: CallId,
    items: u32,
  },
  /// The process exists (it is not ready until it says so).
  Spawned {
    worker: WorkerId,
    pid: u32,
  },
  SpawnFailed {
    worker: WorkerId,
    reason: String,
  },
  /// A message from the worker, whole and of a kind a worker may send (the codec saw to that).
  Message {
    worker: WorkerId,
    message: FromWorker,
  },
  /// The worker broke the protocol; it is killed and treated as crashed.
  Corrupt {
    worker: WorkerId,
    reason: String,
  },
  /// Nothing more can be read from the worker's channel (end of file, or it broke), and the
  /// process has not been reported exited: it is given the leave grace to exit, then stopped.
  ChannelEnded {
    worker: WorkerId,
  },
  /// The process has exited and been reaped; nothing more will come from it.
  Exited {
    worker: WorkerId,
    status: ExitStatus,
  },
  TimerFired {
    timer: Timer,
  },
  Close {
    force: bool,
  },
}

/// How hard a worker is told to stop: asked (SIGTERM on Unix), or ended (SIGKILL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
  Term,
  Kill,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
  /// The result is a stream; items follow, and the call's settlement ends it.
  Started,
  /// One encoded item.
  Item(Vec<u8>),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
  /// The worker's encoded return value (for a load: its encoded export names).
  Resolved(Vec<u8>, Handles),
  /// The worker's encoded thrown error.
  Rejected(Vec<u8>),
  /// The pool itself could not complete the call.
  Failed(Failure),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Action {
  /// Start a worker. `slot` is its place in the pool (1 to `limit`, the lowest no live worker
  /// holds): the worker is told it as its `workerId`.
  Spawn {
    worker: WorkerId,
    slot: u32,
  },
  Send {
    worker: WorkerId,
    message: ToWorker,
  },
  /// Close the worker's channel so it exits by itself.
  Retire {
    worker: WorkerId,
  },
  Kill {
    worker: WorkerId,
    signal: Signal,
  },
  Settle {
    call: CallId,
    outcome: Outcome,
  },
  ArmTimer {
    timer: Timer,
    after_ms: u64,
  },
  /// A piece of a streamed result, passed to the caller without settling the call.
  Deliver {
    call: CallId,
    piece: Piece,
  },
  /// Something went wrong that no single call owns (the pool's `onError`).
  Report {
    failure: Failure,
  },
  /// A method call would be accepted now; asked for by `Scheduler::want_room`.
  Room,
  /// Every worker has exited after a close; the driver can stop.
  Closed,
  /// Where and how a traced call ran, just before the worker's answer settles it: the worker's
  /// pid, the attempt that answered (1 for the first), and its wait and run times in
  /// microseconds (as `Stats` counts them).
  Traced {
    call: CallId,
    pid: Option<u32>,
    attempt: u32,
    wait_us: u64,
    run_us: u64,
  },
}
