use crate::core::{CallId, Failure, Outcome, Piece};

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
}
