//! What the pool driver asks of a worker's channel, whichever way its bytes move: polled and
//! written with system calls (`WorkerChannel`, Linux) or read and written as a libuv stream
//! (`StreamChannel`, every OS).

use super::worker_channel::{Incoming, Sent, WriteState};
use crate::protocol::Encoded;

pub trait FrameChannel {
  /// Queues the encoded message; with `now`, writes it at once (else at the next `flush`, or
  /// once enough are gathered).
  fn send(&mut self, message: Encoded, now: bool) -> Sent;
  /// Writes as much of the backlog as the channel takes.
  fn flush(&mut self) -> WriteState;
  /// Closes the write side once everything queued is written, so the worker exits by itself.
  fn retire(&mut self);
  /// The whole messages that have arrived; `drain` reads until nothing is left (it exited).
  fn receive(&mut self, drain: bool) -> Vec<Incoming>;
  /// Reads nothing more (the worker broke the protocol and is being killed).
  fn stop_reading(&mut self);
  /// True once nothing more can be read (end of file, or a corrupt stream).
  fn read_done(&self) -> bool;
}
