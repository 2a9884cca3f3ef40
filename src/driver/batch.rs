//! The layout of a batch of news for JS, as `lib/batch.js` reads it.

use std::os::fd::IntoRawFd;

use napi::bindgen_prelude::{Buffer, Either};

use super::to_js::ToJs;
use crate::core::{Outcome, Piece};

/// A batch entry's out-of-line part: a large payload, or descriptors.
pub type Extra = Either<Buffer, Vec<i32>>;

/// Binary payloads from this size on get a Buffer of their own in a batch (see `Batch::push`).
const OWN_BUFFER: usize = 64 * 1024;

/// Batch kinds, as `lib/batch.js`'s readers know them (`BatchKind` on the JS side).
pub const RESOLVED: u32 = 0;
pub const REJECTED: u32 = 1;
pub const FAILED: u32 = 2;
pub const REPORT: u32 = 3;
pub const CLOSED: u32 = 4;
/// A resolved value that carries descriptors: the entry's extra is their fd numbers.
pub const RESOLVED_WITH_HANDLES: u32 = 5;
/// A line of captured worker output; the id is the worker's pid.
pub const STDOUT_LINE: u32 = 6;
pub const STDERR_LINE: u32 = 7;
/// The call's result is a stream (no payload); items follow as STREAM_ITEM entries.
pub const STREAM_START: u32 = 8;
pub const STREAM_ITEM: u32 = 9;
/// A report with the worker's thrown error: the entry's extra is the encoded error.
pub const REPORT_WITH_ERROR: u32 = 10;
/// A method call would be accepted again (asked for by `wantRoom`).
pub const ROOM: u32 = 11;

/// Words per entry in a batch's index.
pub const WORDS: usize = 5;

/// A batch as JS reads it (`lib/batch.js`): few, flat values, because each value crossing N-API
/// costs more than the settling it carries. `index` holds five words per entry: id, kind, end,
/// payload, extra. The entry's inline payload is `bytes` from the previous entry's end to its
/// own (binary for values, UTF-8 for texts); `payload`, when not 0, is 1 + the index in `extras`
/// of a large binary payload that has a Buffer of its own (no copy); `extra`, when not 0, is
/// 1 + the index in `extras` of the kind's second part.
pub struct Batch {
  pub bytes: Vec<u8>,
  pub index: Vec<u32>,
  pub extras: Vec<Extra>,
}

impl Batch {
  pub fn of(items: Vec<ToJs>) -> Batch {
    let mut batch = Batch { bytes: Vec::new(), index: Vec::with_capacity(items.len() * WORDS), extras: Vec::new() };
    for item in items {
      match item {
        ToJs::Call(id, Outcome::Resolved(payload, handles)) if !handles.0.is_empty() => {
          // The descriptors now belong to JS, which wraps each in a net.Socket or net.Server.
          let fds = handles.0.into_iter().map(IntoRawFd::into_raw_fd).collect();
          batch.push(id, RESOLVED_WITH_HANDLES, payload, Some(Either::B(fds)));
        }
        ToJs::Call(id, Outcome::Resolved(payload, _)) => batch.push(id, RESOLVED, payload, None),
        ToJs::Call(id, Outcome::Rejected(payload)) => batch.push(id, REJECTED, payload, None),
        ToJs::Call(id, Outcome::Failed(failure)) => batch.push(id, FAILED, failure.to_json().into(), None),
        ToJs::Report(mut failure) => match failure.error.take() {
          Some(error) => batch.push(0, REPORT_WITH_ERROR, failure.to_json().into(), Some(Either::A(error.into()))),
          None => batch.push(0, REPORT, failure.to_json().into(), None),
        },
        ToJs::Room => batch.push(0, ROOM, Vec::new(), None),
        ToJs::Closed => batch.push(0, CLOSED, Vec::new(), None),
        ToJs::Piece(id, Piece::Started) => batch.push(id, STREAM_START, Vec::new(), None),
        ToJs::Piece(id, Piece::Item(payload)) => batch.push(id, STREAM_ITEM, payload, None),
        ToJs::Output { pid, stderr, line } => {
          batch.push(pid, if stderr { STDERR_LINE } else { STDOUT_LINE }, line.into(), None)
        }
      }
    }
    batch
  }

  fn push(&mut self, id: u32, kind: u32, payload: Vec<u8>, extra: Option<Extra>) {
    let own = if payload.len() >= OWN_BUFFER {
      self.extras.push(Either::A(payload.into()));
      self.extras.len() as u32
    } else {
      self.bytes.extend_from_slice(&payload);
      0
    };
    let extra = extra.map_or(0, |extra| {
      self.extras.push(extra);
      self.extras.len() as u32
    });
    self.index.extend_from_slice(&[id, kind, self.bytes.len() as u32, own, extra]);
  }
}
