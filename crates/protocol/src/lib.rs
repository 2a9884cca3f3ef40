//! The wire protocol between the parent and a worker: the frame layout, the typed messages each
//! way and the codec between them, which refuses at the boundary what no worker may send.
//! Payloads are opaque bytes that the JS layers on each side encode and decode, and descriptors
//! an opaque token: Rust routes both without looking inside.

#![forbid(unsafe_code)]

mod decoder;
mod header;
mod message;

pub use decoder::{DecodeError, FrameDecoder};
pub use header::{
  CallId, FromWorkerKind, Header, ModuleId, ToWorkerKind, BODY_FIXED_LEN, CHANNEL_FD, HANDLES_FLAG, HANDLE_FD,
  HEADER_LEN, MAX_BODY_LEN, PACE_LEN, POOL_ID_ENV, STREAM_WINDOW, WORKER_ID_ENV,
};
pub use message::{Encoded, FromWorker, Handles, ToWorker};
