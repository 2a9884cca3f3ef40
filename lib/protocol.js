'use strict'
// What the parent's Rust and the worker's JS must agree on, written once for the JS side. A Rust
// test reads this file and checks it against src/protocol/frame.rs, src/driver/spawn.rs,
// src/driver/js_callback.rs and the core's failure kinds, so each export stays a plain literal,
// one entry a line (`Name: value,`).

/** Frame kinds on the wire: parent to worker below 16, worker to parent from 16 on. */
const FrameKind = {
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
  Awaiting: 23,
  Pace: 24,
}

/** u32 LE body length | u8 kind | u32 LE call id | u32 LE module id, then the payload. */
const HEADER_LEN = 13

/** On the kind byte: the frame's descriptors came first, as one message on the handle channel. */
const HANDLES_FLAG = 0x80

/** The most sockets and servers one frame carries (src/sys MAX_HANDLES). */
const MAX_HANDLES = 64

/** The most a frame's body can hold (src/protocol/frame.rs MAX_BODY_LEN). */
const MAX_BODY_LEN = 1073741824

/** The worker's fd for frames (a stream socket). */
const CHANNEL_FD = 3

/** The worker's fd for descriptors passed with frames. */
const HANDLE_FD = 4

/** Bytes of a Pace frame's payload: u32 LE busy and elapsed microseconds. */
const PACE_LEN = 8

/** Items a stream may send before the caller has read any. */
const STREAM_WINDOW = 64

/** Environment variables the parent gives a worker at spawn: its slot in the pool, and its pool. */
const WorkerEnv = {
  WorkerId: 'INVOKE_PARALLEL_WORKER_ID',
  PoolId: 'INVOKE_PARALLEL_POOL_ID',
}

/** Kinds of the entries in a settlement batch. */
const BatchKind = {
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
  CallTrace: 12,
  WorkerSpawned: 13,
  WorkerExited: 14,
}

/** A failure's kind, as the scheduler's failure JSON names it (`type`), to its error code. */
const FAILURE_CODES = {
  retry: 'ERR_INVOKE_WORKER_DIED',
  closed: 'ERR_INVOKE_POOL_CLOSED',
  start: 'ERR_INVOKE_WORKER_START',
  crash: 'ERR_INVOKE_WORKER_CRASHED',
  timeout: 'ERR_INVOKE_TIMEOUT',
  'queue-full': 'ERR_INVOKE_QUEUE_FULL',
  'duplicate-id': 'ERR_INVOKE_INTERNAL',
  'load-timeout': 'ERR_INVOKE_LOAD_TIMEOUT',
}

for (const table of [FrameKind, WorkerEnv, BatchKind, FAILURE_CODES]) Object.freeze(table)

module.exports = {
  FrameKind,
  HEADER_LEN,
  HANDLES_FLAG,
  MAX_HANDLES,
  MAX_BODY_LEN,
  CHANNEL_FD,
  HANDLE_FD,
  STREAM_WINDOW,
  PACE_LEN,
  WorkerEnv,
  BatchKind,
  FAILURE_CODES,
}
