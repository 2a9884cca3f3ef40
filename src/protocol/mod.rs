//! The wire protocol between the parent and a worker: framing only. Payloads are opaque bytes that
//! the JS layers on each side encode and decode; Rust routes them without looking inside.

mod decoder;
mod frame;
mod handles;

pub use decoder::{DecodeError, FrameDecoder};
pub use frame::{encode_header, InFrame, Kind, OutFrame, HANDLES_FLAG, HEADER_LEN, MAX_BODY_LEN, STREAM_WINDOW};
pub use handles::{ReceivedHandles, SharedHandles};
