use std::sync::Arc;

use super::handles::{ReceivedHandles, SharedHandles};

/// Bytes before the payload: body length (u32 LE, counting everything after itself), kind (u8),
/// call id (u32 LE), module id (u32 LE).
pub const HEADER_LEN: usize = 13;
/// The fixed part of a body: kind, call id, module id.
pub const BODY_FIXED_LEN: usize = HEADER_LEN - 4;
/// A larger announced body is treated as a corrupt stream rather than buffered.
pub const MAX_BODY_LEN: usize = 1 << 30;
/// Set on the kind byte when the frame's descriptors were sent, just before it, as one message on
/// the handle channel (the worker's fd 4).
pub const HANDLES_FLAG: u8 = 0x80;
/// Items of a streamed result a worker may send before the parent grants more credit (the
/// window `lib/stream.js` and `lib/worker/main.js` use). Sending more breaks the protocol.
pub const STREAM_WINDOW: u32 = 64;

/// Message kinds. Values 1..=15 travel parent → worker, 16.. travel worker → parent, so a frame
/// going the wrong way is caught as malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
  /// Load the module whose path is the payload under the frame's module id. A call id of 0 means
  /// "no reply wanted": it precedes a call on a worker that has not loaded the module yet.
  Load = 1,
  /// Invoke a method; the payload is the JS-encoded `[method, args]`.
  Call = 2,
  /// The call was cancelled: the worker aborts its signal (the call still answers, late).
  Cancel = 3,
  /// The parent can take more items of a streamed result; the payload is the count (u32 LE).
  Credit = 4,
  /// The worker has booted and reads its channel.
  Ready = 16,
  /// A call or load settled with a value; the payload is the JS-encoded value. For a streamed
  /// result, this ends the stream.
  Resolved = 17,
  /// A call or load threw; the payload is the JS-encoded error. For a streamed result, this
  /// ends the stream with that error.
  Rejected = 18,
  /// The call's result is a stream: items follow, then `Resolved` or `Rejected`.
  StreamStart = 19,
  /// One item of a streamed result; the payload is the JS-encoded value.
  Item = 20,
  /// An exception nothing caught (outside any call's own code): the payload is the JS-encoded
  /// error, the call id the call it is attributed to (0: none). The worker exits next.
  Fatal = 21,
  /// The worker's memory passed the pool's ceiling: finish what it has, then replace it.
  Recycle = 22,
}

impl Kind {
  pub fn from_worker(byte: u8) -> Option<Kind> {
    match byte {
      16 => Some(Kind::Ready),
      17 => Some(Kind::Resolved),
      18 => Some(Kind::Rejected),
      19 => Some(Kind::StreamStart),
      20 => Some(Kind::Item),
      21 => Some(Kind::Fatal),
      22 => Some(Kind::Recycle),
      _ => None,
    }
  }
}

/// A frame read from a worker. The payload is owned so it can become a JS Buffer without a copy.
#[derive(Debug, PartialEq, Eq)]
pub struct InFrame {
  pub kind: Kind,
  pub call: u32,
  pub module: u32,
  pub payload: Vec<u8>,
  /// The header announced descriptors; the reader fetches them into `handles`.
  pub with_handles: bool,
  pub handles: ReceivedHandles,
}

/// A frame for a worker. The payload is shared so a retried call re-sends it without copying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutFrame {
  pub kind: Kind,
  pub call: u32,
  pub module: u32,
  pub payload: Arc<[u8]>,
  pub handles: SharedHandles,
}

pub fn encode_header(kind: Kind, call: u32, module: u32, payload_len: usize, with_handles: bool) -> [u8; HEADER_LEN] {
  let body_len = u32::try_from(BODY_FIXED_LEN + payload_len).expect("payload larger than 4 GiB");
  let mut header = [0u8; HEADER_LEN];
  header[0..4].copy_from_slice(&body_len.to_le_bytes());
  header[4] = kind as u8 | if with_handles { HANDLES_FLAG } else { 0 };
  header[5..9].copy_from_slice(&call.to_le_bytes());
  header[9..13].copy_from_slice(&module.to_le_bytes());
  header
}

impl OutFrame {
  pub fn header(&self) -> [u8; HEADER_LEN] {
    encode_header(self.kind, self.call, self.module, self.payload.len(), !self.handles.is_empty())
  }
}
