use crate::core::{CallId, ExitStatus, Failure, Outcome, Piece};

/// What the JS thread has to hear about, one batch entry each (settlements, but also pieces of
/// streams, reports, output lines, room in the queue and the pool's end).
#[derive(Debug)]
pub enum ToJs {
  Call(CallId, Outcome),
  /// Part of a streamed result; the call is still running.
  Piece(CallId, Piece),
  Report(Failure),
  /// A method call would be accepted again (someone waits in `whenRoom`).
  Room,
  Closed,
  /// A line a worker wrote, when the pool captures worker output.
  Output {
    pid: u32,
    stderr: bool,
    line: String,
  },
  /// Where and how a traced call ran (`Action::Traced`), just before its settlement.
  Traced {
    call: CallId,
    pid: u32,
    attempt: u32,
    wait_us: u64,
    run_us: u64,
  },
  /// A worker process exists (not ready yet), and has exited: for `diagnostics_channel`.
  WorkerSpawned {
    pid: u32,
    slot: u32,
  },
  WorkerExited {
    pid: u32,
    slot: u32,
    status: ExitStatus,
    /// The pool asked it to leave (retired, recycled, stopped): not a crash.
    expected: bool,
  },
}
