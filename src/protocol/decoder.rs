use std::fmt;

use super::frame::{InFrame, Kind, BODY_FIXED_LEN, HANDLES_FLAG, MAX_BODY_LEN};
use super::handles::ReceivedHandles;

/// Why a worker's byte stream cannot be trusted any more. After one of these the stream has no
/// frame boundary to resynchronise on, so the worker is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
  BodyTooShort(usize),
  BodyTooLong(usize, usize),
  UnknownKind(u8),
}

impl fmt::Display for DecodeError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      DecodeError::BodyTooShort(n) => write!(f, "frame body of {n} bytes is shorter than its header"),
      // In payload bytes, as maxMessageSize counts them.
      DecodeError::BodyTooLong(n, max) => {
        write!(f, "frame payload of {} bytes exceeds the limit of {}", n - BODY_FIXED_LEN, max - BODY_FIXED_LEN)
      }
      DecodeError::UnknownKind(k) => write!(f, "unknown frame kind {k}"),
    }
  }
}

/// Incremental decoder for frames coming from a worker: feed it whatever the socket gave, then
/// take out every complete frame.
/// Room made for each read when no larger frame is in progress.
const READ_CHUNK: usize = 64 * 1024;
/// The most room made ahead of the bytes for a large frame still arriving.
const MAX_RESERVE: usize = 8 << 20;

pub struct FrameDecoder {
  buf: Vec<u8>,
  start: usize,
  max_body: usize,
}

impl Default for FrameDecoder {
  fn default() -> Self {
    Self::with_limit(MAX_BODY_LEN)
  }
}

impl FrameDecoder {
  pub fn new() -> Self {
    Self::default()
  }

  /// A decoder that treats a frame body over `max_body` bytes (at most `MAX_BODY_LEN`) as corrupt.
  pub fn with_limit(max_body: usize) -> Self {
    FrameDecoder { buf: Vec::new(), start: 0, max_body: max_body.clamp(BODY_FIXED_LEN, MAX_BODY_LEN) }
  }

  /// A decoder for a pool's `maxMessageSize`, which bounds a frame's payload (the encoded
  /// arguments, result, error or item): the header around it is not counted.
  pub fn with_payload_limit(max_payload: usize) -> Self {
    Self::with_limit(max_payload.saturating_add(BODY_FIXED_LEN))
  }

  pub fn push(&mut self, bytes: &[u8]) {
    self.read_buffer().extend_from_slice(bytes);
  }

  /// The buffer to read more bytes into (append only), with room reserved for the rest of the
  /// frame in progress: a socket can fill it directly, with no copy in between.
  pub fn read_buffer(&mut self) -> &mut Vec<u8> {
    if self.start > 0 && self.start == self.buf.len() {
      self.buf.clear();
      self.start = 0;
    }
    let avail = &self.buf[self.start..];
    let frame_rest = match avail.get(..4) {
      Some(len) => (4 + u32::from_le_bytes(len.try_into().unwrap()) as usize).saturating_sub(avail.len()),
      None => 0,
    };
    // Not more than MAX_RESERVE ahead of the data: a header alone must not make us allocate much.
    self.buf.reserve(frame_rest.clamp(READ_CHUNK, MAX_RESERVE));
    &mut self.buf
  }

  /// Bytes received but not yet part of a returned frame.
  pub fn buffered(&self) -> usize {
    self.buf.len() - self.start
  }

  pub fn next_frame(&mut self) -> Result<Option<InFrame>, DecodeError> {
    let avail = &self.buf[self.start..];
    if avail.len() < 4 {
      return Ok(None);
    }
    let body_len = u32::from_le_bytes(avail[0..4].try_into().unwrap()) as usize;
    if body_len < BODY_FIXED_LEN {
      return Err(DecodeError::BodyTooShort(body_len));
    }
    if body_len > self.max_body {
      return Err(DecodeError::BodyTooLong(body_len, self.max_body));
    }
    // The kind is checked as soon as it arrives, not after a possibly huge body.
    if avail.len() > 4 && Kind::from_worker(avail[4] & !HANDLES_FLAG).is_none() {
      return Err(DecodeError::UnknownKind(avail[4]));
    }
    if avail.len() < 4 + body_len {
      return Ok(None);
    }
    let kind = Kind::from_worker(avail[4] & !HANDLES_FLAG).expect("checked above");
    let with_handles = avail[4] & HANDLES_FLAG != 0;
    let call = u32::from_le_bytes(avail[5..9].try_into().unwrap());
    let module = u32::from_le_bytes(avail[9..13].try_into().unwrap());
    let payload = avail[4 + BODY_FIXED_LEN..4 + body_len].to_vec();
    self.start += 4 + body_len;
    if self.start == self.buf.len() {
      self.buf.clear();
      self.start = 0;
    } else if self.start > 64 * 1024 && self.start * 2 > self.buf.len() {
      self.buf.drain(..self.start);
      self.start = 0;
    }
    Ok(Some(InFrame { kind, call, module, payload, with_handles, handles: ReceivedHandles::default() }))
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::protocol::encode_header;
  use proptest::prelude::*;

  fn frame_bytes(kind: Kind, call: u32, module: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = encode_header(kind, call, module, payload.len(), false).to_vec();
    out.extend_from_slice(payload);
    out
  }

  #[test]
  fn decodes_one_frame() {
    let mut d = FrameDecoder::new();
    d.push(&frame_bytes(Kind::Resolved, 7, 3, b"hello"));
    let f = d.next_frame().unwrap().unwrap();
    assert_eq!(f.kind, Kind::Resolved);
    assert_eq!((f.call, f.module, f.payload.as_slice(), f.with_handles), (7, 3, &b"hello"[..], false));
    assert_eq!(d.next_frame().unwrap(), None);
    assert_eq!(d.buffered(), 0);
  }

  #[test]
  fn rejects_short_body() {
    let mut d = FrameDecoder::new();
    d.push(&3u32.to_le_bytes());
    assert_eq!(d.next_frame(), Err(DecodeError::BodyTooShort(3)));
  }

  #[test]
  fn rejects_huge_body_without_waiting_for_it() {
    let mut d = FrameDecoder::new();
    d.push(&u32::MAX.to_le_bytes());
    assert!(matches!(d.next_frame(), Err(DecodeError::BodyTooLong(..))));
  }

  #[test]
  fn rejects_parent_kinds_and_garbage_kinds() {
    for kind in [0u8, 1, 2, 4, 15, 23, 0x81, 0x97] {
      let mut d = FrameDecoder::new();
      let mut bytes = frame_bytes(Kind::Resolved, 1, 1, b"");
      bytes[4] = kind;
      d.push(&bytes[..5]);
      assert_eq!(d.next_frame(), Err(DecodeError::UnknownKind(kind)));
    }
  }

  proptest! {
    /// However the stream is cut into reads, the same frames come out in order.
    #[test]
    fn any_split_yields_same_frames(
      frames in prop::collection::vec((0u8..5, any::<u32>(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..300)), 0..20),
      cuts in prop::collection::vec(1usize..97, 1..50),
    ) {
      let kinds = [Kind::Ready, Kind::Resolved, Kind::Rejected, Kind::StreamStart, Kind::Item];
      let mut stream = Vec::new();
      for (k, call, module, payload) in &frames {
        stream.extend(frame_bytes(kinds[*k as usize], *call, *module, payload));
      }
      let mut d = FrameDecoder::new();
      let mut got = Vec::new();
      let mut pos = 0;
      let mut cut = cuts.iter().cycle();
      while pos < stream.len() {
        let end = (pos + cut.next().unwrap()).min(stream.len());
        d.push(&stream[pos..end]);
        pos = end;
        while let Some(f) = d.next_frame().unwrap() {
          got.push(f);
        }
      }
      prop_assert_eq!(got.len(), frames.len());
      for (f, (k, call, module, payload)) in got.iter().zip(&frames) {
        prop_assert_eq!(f.kind, kinds[*k as usize]);
        prop_assert_eq!(f.call, *call);
        prop_assert_eq!(f.module, *module);
        prop_assert_eq!(&f.payload, payload);
      }
      prop_assert_eq!(d.buffered(), 0);
    }

    /// Random bytes never panic the decoder: they decode or fail cleanly.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
      let mut d = FrameDecoder::new();
      d.push(&bytes);
      while let Ok(Some(_)) = d.next_frame() {}
    }
  }

  proptest! {
    // A fuzz run in every `cargo test` (FUZZ_CASES=n for a longer one): valid streams with bytes
    // overwritten, cut anywhere.
    #![proptest_config(ProptestConfig::with_cases(
      std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2000)
    ))]

    /// A corrupted stream yields whole frames within the limit until it fails; it never panics and
    /// never returns a frame over the limit.
    #[test]
    fn corrupted_streams_fail_cleanly(
      frames in prop::collection::vec((0u8..5, any::<u32>(), prop::collection::vec(any::<u8>(), 0..64)), 1..12),
      flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
      cut in 1usize..40,
      limit in 9usize..80,
    ) {
      let kinds = [Kind::Ready, Kind::Resolved, Kind::Rejected, Kind::StreamStart, Kind::Item];
      let mut stream = Vec::new();
      for (k, call, payload) in &frames {
        stream.extend(frame_bytes(kinds[*k as usize], *call, 0, payload));
      }
      for (at, byte) in &flips {
        let i = at.index(stream.len());
        stream[i] = *byte;
      }
      let mut d = FrameDecoder::with_limit(limit);
      let mut failed = None;
      for chunk in stream.chunks(cut) {
        d.push(chunk);
        loop {
          match d.next_frame() {
            Ok(Some(f)) => {
              prop_assert!(failed.is_none(), "a frame after a failure");
              prop_assert!(f.payload.len() + 9 <= limit, "a frame over the limit");
            }
            Ok(None) => break,
            Err(e) => {
              failed = Some(e);
              break;
            }
          }
        }
        if failed.is_some() {
          break;
        }
      }
    }
  }
}

#[cfg(test)]
mod flag_tests {
  use super::*;
  use crate::protocol::encode_header;

  #[test]
  fn the_handles_flag_is_reported_and_not_part_of_the_kind() {
    let mut d = FrameDecoder::new();
    d.push(&encode_header(Kind::Resolved, 9, 0, 0, true));
    let f = d.next_frame().unwrap().unwrap();
    assert_eq!(f.kind, Kind::Resolved);
    assert!(f.with_handles);
  }
}

#[cfg(test)]
mod limit_tests {
  use super::*;
  use crate::protocol::encode_header;

  #[test]
  fn a_payload_limit_admits_a_payload_of_exactly_that_size() {
    let mut d = FrameDecoder::with_payload_limit(100);
    d.push(&encode_header(Kind::Resolved, 1, 0, 100, false));
    d.push(&[7; 100]);
    assert_eq!(d.next_frame().unwrap().unwrap().payload.len(), 100);
    d.push(&encode_header(Kind::Resolved, 1, 0, 101, false));
    assert_eq!(d.next_frame(), Err(DecodeError::BodyTooLong(110, 109)));
  }

  #[test]
  fn a_frame_over_the_configured_limit_is_refused_from_its_header() {
    let mut d = FrameDecoder::with_limit(100);
    d.push(&encode_header(Kind::Resolved, 1, 0, 200, false));
    assert_eq!(d.next_frame(), Err(DecodeError::BodyTooLong(209, 100)));
  }
}
