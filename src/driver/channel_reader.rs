//! The read side of a worker's channel: bytes from its socket into messages, a bounded amount
//! per loop turn, so that one worker's flood of frames, however small they are, does not make
//! every turn long for the other workers and the JS thread.

use std::io;

use super::descriptors;
use crate::protocol::{FrameDecoder, FromWorker};
use crate::sys::Channel;

/// Reads per readiness callback before other workers get their turn.
const READS_PER_TURN: usize = 16;
/// Bytes read per readiness callback at most (past the read that crosses it), however large the
/// reads: one worker's output must not hold up the other workers and the JS thread for long.
const BYTES_PER_TURN: usize = 8 << 20;
/// What one worker's messages may cost per loop turn, in units: a message is one unit, a `Pace`
/// report [`REPORT_UNITS`]. An honest worker's answers to the most calls adaptive dispatch hands
/// it at once (1,024) are read in one turn and settled in one batch; a worker flooding frames
/// (~80 ns each to decode and judge) must not make every turn long for the others, and what is
/// past the budget waits, unread, for the next turn.
pub const UNITS_PER_TURN: usize = 1024;
/// What a `Pace` report costs of the budget: every other message a worker may send is paid for
/// by what the parent sent it (an answer or an `Awaiting` per call, stream items within the
/// credit given; most else breaks the protocol), reports are not. An honest worker sends one per
/// write, a few per turn; a flood of them is read 64 a turn.
pub const REPORT_UNITS: usize = 16;

/// What `message` costs of a turn's budget (both drivers' readers charge the same).
pub fn units(message: &FromWorker) -> usize {
  if matches!(message, FromWorker::Pace { .. }) {
    REPORT_UNITS
  } else {
    1
  }
}

/// What a poll callback finds on a channel.
pub enum Incoming {
  Message(FromWorker),
  /// The stream broke the protocol; nothing more is read from it.
  Corrupt(String),
}

pub struct ChannelReader {
  decoder: FrameDecoder,
  /// The worker's end is closed, or the stream broke: nothing more is read.
  done: bool,
  /// A turn's message budget ran out with bytes still buffered: the next turn decodes them
  /// before it reads the socket again.
  backlogged: bool,
}

impl ChannelReader {
  pub fn new(max_message_size: usize) -> Self {
    ChannelReader { decoder: FrameDecoder::with_payload_limit(max_message_size), done: false, backlogged: false }
  }

  /// Reads what has arrived on `frames` (a bounded amount per turn, [`UNITS_PER_TURN`]: what is
  /// left stays buffered for the next) and returns the whole messages,
  /// with their descriptors from `handles`. `drain` reads until the socket is empty (the worker
  /// has exited).
  pub fn receive(&mut self, channel: &Channel, drain: bool) -> Vec<Incoming> {
    let mut incoming = Vec::new();
    if self.done {
      return incoming;
    }
    let mut budget = if drain { usize::MAX } else { UNITS_PER_TURN };
    if self.backlogged {
      self.backlogged = false;
      self.decode(channel, &mut incoming, &mut budget);
      if self.backlogged || self.done {
        return incoming;
      }
    }
    let (mut reads, mut bytes) = (0, 0);
    loop {
      let buf = self.decoder.read_buffer();
      let spare = buf.capacity() - buf.len();
      match channel.read_into(buf) {
        Ok(n) if n > 0 => {
          self.decode(channel, &mut incoming, &mut budget);
          reads += 1;
          bytes += n;
          // A short read means the socket is empty for now; a full one, that more may wait.
          let turn_over = reads == READS_PER_TURN || bytes >= BYTES_PER_TURN || self.backlogged;
          if self.done || (!drain && (n < spare || turn_over)) {
            break;
          }
        }
        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
        // EOF or a broken socket: the worker is going; its exit will be reported.
        _ => {
          self.done = true;
          break;
        }
      }
    }
    incoming
  }

  /// Decodes buffered messages until the `budget` is spent (then the reader is backlogged) or no
  /// whole message is left.
  fn decode(&mut self, channel: &Channel, incoming: &mut Vec<Incoming>, budget: &mut usize) {
    // The worker sends a frame's descriptors before the frame, so they are already queued.
    let fetch = || channel.receive_descriptors().map(descriptors::attach).map_err(|err| err.to_string());
    loop {
      if *budget == 0 {
        self.backlogged = self.decoder.buffered() > 0;
        return;
      }
      match self.decoder.next_message(fetch) {
        Ok(Some(message)) => {
          *budget = budget.saturating_sub(units(&message));
          incoming.push(Incoming::Message(message));
        }
        Ok(None) => return,
        Err(err) => {
          incoming.push(Incoming::Corrupt(err.to_string()));
          self.done = true;
          return;
        }
      }
    }
  }

  /// Reads nothing more (the worker broke the protocol and is being killed).
  pub fn stop(&mut self) {
    self.done = true;
  }

  /// True once nothing more can be read (EOF, or a corrupt stream).
  pub fn is_done(&self) -> bool {
    self.done
  }

  /// Messages may be buffered past this turn's budget.
  pub fn is_backlogged(&self) -> bool {
    self.backlogged && !self.done
  }
}

#[cfg(test)]
mod tests {
  use proptest::prelude::*;

  use super::*;
  use crate::protocol::Header;

  /// Reports a turn takes at most.
  const REPORTS: usize = UNITS_PER_TURN / REPORT_UNITS;

  fn pace_frame(n: u32) -> Vec<u8> {
    let header = Header { kind: 24, with_handles: false, call: 0, module: 0, payload_len: 8 };
    [&header.encode()[..], &n.to_le_bytes(), &n.to_le_bytes()].concat()
  }

  proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// A worker that floods reports: each turn takes at most the budget, the turns take every
    /// frame once and in order, and one turn's leftovers are taken before the socket is read
    /// again.
    #[test]
    fn a_turn_takes_at_most_its_budget_and_the_turns_take_every_frame_in_order(
      count in prop_oneof![1usize..10, REPORTS - 2..REPORTS + 3, 2_000usize..6_000],
      writes in 1usize..4,
    ) {
      let (ours, [their_frames, _their_handles]) = crate::sys::test_channel();
      ours.set_nonblocking().unwrap();
      let mut theirs = std::os::unix::net::UnixStream::from(their_frames);
      theirs.set_nonblocking(true).unwrap();
      let mut reader = ChannelReader::new(1 << 20);
      let mut got = Vec::new();
      let mut sent = 0u32;
      for _ in 0..writes {
        let bytes: Vec<u8> = (sent..sent + count as u32).flat_map(pace_frame).collect();
        sent += count as u32;
        let mut at = 0;
        while at < bytes.len() {
          // What the socket takes at once; the reader makes room for the rest.
          match std::io::Write::write(&mut theirs, &bytes[at..]) {
            Ok(n) => at += n,
            Err(err) => prop_assert_eq!(err.kind(), io::ErrorKind::WouldBlock),
          }
          loop {
            let turn = reader.receive(&ours, false);
            prop_assert!(turn.len() <= REPORTS, "{} reports in one turn", turn.len());
            let empty = turn.is_empty();
            got.extend(turn);
            if empty && !reader.is_backlogged() {
              break;
            }
          }
        }
      }
      let seen: Vec<u32> = got
        .into_iter()
        .map(|m| match m {
          Incoming::Message(FromWorker::Pace { busy_us, .. }) => busy_us,
          _ => panic!("not a Pace"),
        })
        .collect();
      prop_assert_eq!(seen, (0..sent).collect::<Vec<_>>());
    }
  }
}
