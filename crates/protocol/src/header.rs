//! The frame layout, declared once: every frame is a header and an opaque payload.

/// Bytes before the payload: body length (u32 LE, counting everything after itself), kind (u8),
/// call id (u32 LE), module id (u32 LE).
pub const HEADER_LEN: usize = 13;
/// The fixed part of a body: kind, call id, module id.
pub const BODY_FIXED_LEN: usize = HEADER_LEN - 4;
/// A larger announced body is treated as a corrupt stream rather than buffered.
pub const MAX_BODY_LEN: usize = 1 << 30;
/// Set on the kind byte when the frame's descriptors were sent, just before it, as one message on
/// the handle channel (the worker's `HANDLE_FD`).
pub const HANDLES_FLAG: u8 = 0x80;
/// Items of a streamed result a worker may send before the parent grants more credit (the
/// window `lib/stream.js` and `lib/worker/main.js` use). Sending more breaks the protocol.
pub const STREAM_WINDOW: u32 = 64;
/// The descriptor a worker finds its frame channel on (a stream socket).
pub const CHANNEL_FD: i32 = 3;
/// The descriptor a worker finds its handle channel on (datagrams, each the descriptors of one
/// frame).
pub const HANDLE_FD: i32 = 4;
/// The payload of a `Pace` frame: two u32 LE, microseconds its event loop was busy and
/// microseconds elapsed since its previous one.
pub const PACE_LEN: usize = 8;
/// The environment variable a worker finds its `workerId` in: its slot in the pool, 1 to `limit`.
pub const WORKER_ID_ENV: &str = "INVOKE_PARALLEL_WORKER_ID";
/// The environment variable a worker finds its `poolId` in: which of its parent's pools it is in.
pub const POOL_ID_ENV: &str = "INVOKE_PARALLEL_POOL_ID";

pub type CallId = u32;
pub type ModuleId = u32;

/// Declares a direction's kinds, each tag once: the enum and its decoding come from one list.
macro_rules! kinds {
  ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)* }) => {
    $(#[$meta])*
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u8)]
    pub enum $name {
      $($(#[$vmeta])* $variant = $value,)*
    }

    impl $name {
      pub const ALL: &'static [$name] = &[$($name::$variant),*];

      pub fn from_byte(byte: u8) -> Option<$name> {
        match byte {
          $($value => Some($name::$variant),)*
          _ => None,
        }
      }
    }
  };
}

kinds! {
  /// What the parent sends (the payload each carries is on `ToWorker`).
  pub enum ToWorkerKind {
    Load = 1,
    Call = 2,
    Cancel = 3,
    Credit = 4,
  }
}

kinds! {
  /// What a worker sends (the payload each carries is on `FromWorker`). Their numbers do not
  /// overlap the parent's, so a frame going the wrong way is caught as malformed.
  pub enum FromWorkerKind {
    Ready = 16,
    Resolved = 17,
    Rejected = 18,
    StreamStart = 19,
    Item = 20,
    Fatal = 21,
    Recycle = 22,
    Awaiting = 23,
    Pace = 24,
  }
}

/// A frame's header, as it is on the wire: the kind is the raw byte (without the handles flag),
/// checked against a direction's kinds by whoever reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
  pub kind: u8,
  pub with_handles: bool,
  pub call: CallId,
  pub module: ModuleId,
  pub payload_len: usize,
}

impl Header {
  pub fn encode(&self) -> [u8; HEADER_LEN] {
    let body_len = u32::try_from(BODY_FIXED_LEN + self.payload_len).expect("payload larger than 4 GiB");
    let mut bytes = [0u8; HEADER_LEN];
    bytes[0..4].copy_from_slice(&body_len.to_le_bytes());
    bytes[4] = self.kind | if self.with_handles { HANDLES_FLAG } else { 0 };
    bytes[5..9].copy_from_slice(&self.call.to_le_bytes());
    bytes[9..13].copy_from_slice(&self.module.to_le_bytes());
    bytes
  }

  /// The header at the start of `bytes`, whose announced body length the caller has checked is
  /// at least `BODY_FIXED_LEN`.
  pub fn decode(bytes: &[u8; HEADER_LEN]) -> Header {
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    Header {
      kind: bytes[4] & !HANDLES_FLAG,
      with_handles: bytes[4] & HANDLES_FLAG != 0,
      call: word(5),
      module: word(9),
      payload_len: (word(0) as usize).saturating_sub(BODY_FIXED_LEN),
    }
  }
}

/// The body length a frame's first four bytes announce.
pub fn body_len(bytes: &[u8; 4]) -> usize {
  u32::from_le_bytes(*bytes) as usize
}
