'use strict'
// What the JS side shares with Rust, written once here: the frame format and descriptors of
// src/protocol (crates/protocol), the batch kinds of src/driver/js_callback.rs and the failure
// codes of crates/core. Rust tests read this file and fail when the two sides differ, so keep
// each value a plain literal, one entry per line.

/** Frame kinds: 1..15 travel parent → worker, 16.. worker → parent. */
const FrameKind = Object.freeze({
  Load: 1,
  Call: 2,
  Cancel: 3,
  Credit: 4,
  Ready: 16,
  Resolved: 17,
  Rejected: 18,
  StreamStart: 19,
  Item: 20,
  Fatal: 21,
  Recycle: 22,
})

/** u32 LE body length | u8 kind | u32 LE call id | u32 LE module id, then the payload. */
const HEADER_LEN = 13
/** On the kind byte: the frame's descriptors came first, as one message on HANDLE_FD. */
const HANDLES_FLAG = 0x80
/** The worker's frame channel. */
const CHANNEL_FD = 3
/** The worker's handle channel (descriptors passed with frames). */
const HANDLE_FD = 4
/** Items of a streamed result the worker may send ahead of the parent's credit. */
const STREAM_WINDOW = 64

/** Kinds of the entries in a settlement batch. */
const BatchKind = Object.freeze({
  Resolved: 0,
  Rejected: 1,
  Failed: 2,
  Report: 3,
  Closed: 4,
  ResolvedWithHandles: 5,
  StdoutLine: 6,
  StderrLine: 7,
  StreamStart: 8,
  StreamItem: 9,
  ReportWithError: 10,
  Room: 11,
})

/** The error code for each kind of failure the scheduler reports, by the name JS receives. */
const FAILURE_CODES = Object.freeze({
  retry: 'ERR_INVOKE_WORKER_DIED',
  closed: 'ERR_INVOKE_POOL_CLOSED',
  start: 'ERR_INVOKE_WORKER_START',
  crash: 'ERR_INVOKE_WORKER_CRASHED',
  timeout: 'ERR_INVOKE_TIMEOUT',
  'queue-full': 'ERR_INVOKE_QUEUE_FULL',
  'duplicate-id': 'ERR_INVOKE_DUPLICATE_ID',
})

module.exports = {
  FrameKind,
  HEADER_LEN,
  HANDLES_FLAG,
  CHANNEL_FD,
  HANDLE_FD,
  STREAM_WINDOW,
  BatchKind,
  FAILURE_CODES,
}
