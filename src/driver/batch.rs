//! The layout of a batch of news for JS, as `lib/batch.js` reads it.

use napi::bindgen_prelude::{Buffer, Either};

use super::descriptors;
use super::failure_json::failure_json;
use super::to_js::ToJs;
use crate::core::{Outcome, Piece};

/// A batch entry's out-of-line part: a large payload, or descriptors.
pub type Extra = Either<Buffer, Vec<i32>>;

/// Binary payloads from this size on get a Buffer of their own in a batch (see `Batch::push`).
const OWN_BUFFER: usize = 64 * 1024;

/// Batch kinds, as `lib/protocol.js` names them (checked by a test below).
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

/// Where and how a traced call ran: pid, attempt (u32 each), wait and run microseconds (f64 each),
/// little-endian; the id is the call's.
pub const CALL_TRACE: u32 = 12;
/// A worker process started: its slot (u32); the id is its pid.
pub const WORKER_SPAWNED: u32 = 13;
/// A worker process exited: JSON `{slot, exitCode, signal, expected}`; the id is its pid.
pub const WORKER_EXITED: u32 = 14;

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
        ToJs::Call(id, Outcome::Resolved(payload, handles)) if !handles.is_empty() => {
          // The descriptors now belong to JS, which wraps each in a net.Socket or net.Server.
          let fds = descriptors::take(handles).into_iter().map(crate::sys::Descriptor::into_js).collect();
          batch.push(id, RESOLVED_WITH_HANDLES, payload, Some(Either::B(fds)));
        }
        ToJs::Call(id, Outcome::Resolved(payload, _)) => batch.push(id, RESOLVED, payload, None),
        ToJs::Call(id, Outcome::Rejected(payload)) => batch.push(id, REJECTED, payload, None),
        ToJs::Call(id, Outcome::Failed(failure)) => batch.push(id, FAILED, failure_json(&failure).into(), None),
        ToJs::Report(mut failure) => match failure.error.take() {
          Some(error) => batch.push(0, REPORT_WITH_ERROR, failure_json(&failure).into(), Some(Either::A(error.into()))),
          None => batch.push(0, REPORT, failure_json(&failure).into(), None),
        },
        ToJs::Room => batch.push(0, ROOM, Vec::new(), None),
        ToJs::Closed => batch.push(0, CLOSED, Vec::new(), None),
        ToJs::Piece(id, Piece::Started) => batch.push(id, STREAM_START, Vec::new(), None),
        ToJs::Piece(id, Piece::Item(payload)) => batch.push(id, STREAM_ITEM, payload, None),
        ToJs::Output { pid, stderr, line } => {
          batch.push(pid, if stderr { STDERR_LINE } else { STDOUT_LINE }, line.into(), None)
        }
        ToJs::Traced { call, pid, attempt, wait_us, run_us } => {
          let mut bytes = Vec::with_capacity(24);
          bytes.extend_from_slice(&pid.to_le_bytes());
          bytes.extend_from_slice(&attempt.to_le_bytes());
          bytes.extend_from_slice(&(wait_us as f64).to_le_bytes());
          bytes.extend_from_slice(&(run_us as f64).to_le_bytes());
          batch.push(call, CALL_TRACE, bytes, None)
        }
        ToJs::WorkerSpawned { pid, slot } => batch.push(pid, WORKER_SPAWNED, slot.to_le_bytes().to_vec(), None),
        ToJs::WorkerExited { pid, slot, status, expected } => {
          let json = serde_json::json!({
            "slot": slot,
            "exitCode": status.code,
            "signal": status.signal.as_ref().map(|signal| signal.name()),
            "expected": expected,
          });
          batch.push(pid, WORKER_EXITED, json.to_string().into(), None)
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

#[cfg(test)]
mod tests {
  use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
  use std::os::unix::net::UnixStream;

  use proptest::prelude::*;

  use super::*;
  use crate::core::{Failure, FailureKind};
  use crate::sys;

  /// An entry as `lib/batch.js` hands it to its visitor.
  #[derive(Debug, PartialEq)]
  struct Entry {
    id: u32,
    kind: u32,
    payload: Vec<u8>,
    extra: Option<Part>,
  }

  #[derive(Debug, PartialEq)]
  enum Part {
    Bytes(Vec<u8>),
    Fds(usize),
  }

  /// `readBatch` of lib/batch.js, word for word; descriptors are closed as they are read.
  fn read_batch(batch: Batch) -> Vec<Entry> {
    let part = |word: u32| match &batch.extras[word as usize - 1] {
      Either::A(buffer) => Part::Bytes(buffer.to_vec()),
      Either::B(fds) => {
        for &fd in fds {
          // SAFETY: Batch::of gave up these descriptors (to JS, here this test); closed once.
          drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        Part::Fds(fds.len())
      }
    };
    let mut start = 0;
    let mut entries = Vec::new();
    for words in batch.index.chunks(WORDS) {
      let [id, kind, end, own, extra] = words.try_into().unwrap();
      let payload = match own {
        0 => batch.bytes[start as usize..end as usize].to_vec(),
        own => match part(own) {
          Part::Bytes(bytes) => bytes,
          Part::Fds(_) => panic!("a payload that is descriptors"),
        },
      };
      assert_eq!(own != 0, payload.len() >= OWN_BUFFER, "a large payload has a Buffer of its own, a small one not");
      entries.push(Entry { id, kind, payload, extra: (extra != 0).then(|| part(extra)) });
      start = end;
    }
    entries
  }

  fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
      8 => prop::collection::vec(any::<u8>(), 0..64),
      1 => prop::collection::vec(any::<u8>(), OWN_BUFFER - 2..OWN_BUFFER + 2),
    ]
  }

  /// Something to tell JS, and the entry JS should read for it.
  fn item() -> impl Strategy<Value = (ToJs, Entry)> {
    let failure = |message: String| Failure::new(FailureKind::WorkerCrashed, message);
    prop_oneof![
      (any::<u32>(), payload(), 0usize..3).prop_map(|(id, bytes, fds)| {
        let (socket, _peer) = UnixStream::pair().unwrap();
        let handles = (0..fds).map(|_| sys::Descriptor::copy_of(socket.as_raw_fd()).unwrap()).collect();
        let (kind, extra) = if fds == 0 { (RESOLVED, None) } else { (RESOLVED_WITH_HANDLES, Some(Part::Fds(fds))) };
        let entry = Entry { id, kind, payload: bytes.clone(), extra };
        (ToJs::Call(id, Outcome::Resolved(bytes, descriptors::attach(handles))), entry)
      }),
      (any::<u32>(), payload()).prop_map(|(id, bytes)| {
        (ToJs::Call(id, Outcome::Rejected(bytes.clone())), Entry { id, kind: REJECTED, payload: bytes, extra: None })
      }),
      (any::<u32>(), ".{0,40}").prop_map(move |(id, message)| {
        let json = failure_json(&failure(message.clone())).into_bytes();
        (ToJs::Call(id, Outcome::Failed(failure(message))), Entry { id, kind: FAILED, payload: json, extra: None })
      }),
      (".{0,40}", prop::option::of(payload())).prop_map(move |(message, error)| {
        let json = failure_json(&failure(message.clone())).into_bytes();
        let kind = if error.is_some() { REPORT_WITH_ERROR } else { REPORT };
        let entry = Entry { id: 0, kind, payload: json, extra: error.clone().map(Part::Bytes) };
        (ToJs::Report(Failure { error, ..failure(message) }), entry)
      }),
      Just(()).prop_map(|()| (ToJs::Room, Entry { id: 0, kind: ROOM, payload: vec![], extra: None })),
      Just(()).prop_map(|()| (ToJs::Closed, Entry { id: 0, kind: CLOSED, payload: vec![], extra: None })),
      any::<u32>().prop_map(|id| {
        (ToJs::Piece(id, Piece::Started), Entry { id, kind: STREAM_START, payload: vec![], extra: None })
      }),
      (any::<u32>(), payload()).prop_map(|(id, bytes)| {
        (ToJs::Piece(id, Piece::Item(bytes.clone())), Entry { id, kind: STREAM_ITEM, payload: bytes, extra: None })
      }),
      (any::<u32>(), any::<bool>(), ".{0,40}").prop_map(|(pid, stderr, line)| {
        let kind = if stderr { STDERR_LINE } else { STDOUT_LINE };
        let entry = Entry { id: pid, kind, payload: line.clone().into_bytes(), extra: None };
        (ToJs::Output { pid, stderr, line }, entry)
      }),
    ]
  }

  proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// What lib/batch.js reads back is what was put in: ids, kinds, payloads inline (small) or
    /// in a Buffer of their own (large), second parts, descriptors handed over.
    #[test]
    fn a_batch_reads_back_as_lib_batch_js_reads_it(items in prop::collection::vec(item(), 0..40)) {
      let (items, expected): (Vec<ToJs>, Vec<Entry>) = items.into_iter().unzip();
      let batch = Batch::of(items);
      prop_assert_eq!(read_batch(batch), expected);
    }
  }
}

#[cfg(test)]
mod batch_kinds_match_js {
  use super::*;
  use invoke_parallel_js_constants::{number, object, protocol_js};

  /// JS refuses a call with more sockets than a frame carries before the driver would.
  #[test]
  fn lib_protocol_js_knows_how_many_handles_a_frame_carries() {
    assert_eq!(invoke_parallel_js_constants::scalar(&protocol_js(), "MAX_HANDLES"), crate::sys::MAX_HANDLES as i64);
  }

  /// `lib/protocol.js` reads batches with the kinds they are written with here.
  #[test]
  fn the_batch_kinds_are_the_ones_lib_protocol_js_names() {
    let js: Vec<(String, u32)> = object(&protocol_js(), "BatchKind")
      .into_iter()
      .map(|(name, value)| (name, u32::try_from(number(&value)).expect("a batch kind")))
      .collect();
    let mut rust = vec![
      ("Resolved", RESOLVED),
      ("Rejected", REJECTED),
      ("Failed", FAILED),
      ("Report", REPORT),
      ("Closed", CLOSED),
      ("ResolvedWithHandles", RESOLVED_WITH_HANDLES),
      ("StdoutLine", STDOUT_LINE),
      ("StderrLine", STDERR_LINE),
      ("StreamStart", STREAM_START),
      ("StreamItem", STREAM_ITEM),
      ("ReportWithError", REPORT_WITH_ERROR),
      ("Room", ROOM),
      ("CallTrace", CALL_TRACE),
      ("WorkerSpawned", WORKER_SPAWNED),
      ("WorkerExited", WORKER_EXITED),
    ];
    rust.sort();
    let rust: Vec<(String, u32)> = rust.into_iter().map(|(name, kind)| (name.to_string(), kind)).collect();
    assert_eq!(js, rust);
  }
}
