'use strict'
// The worker's half of the protocol (lib/worker/shim.js) run in this process: frames in as the
// parent would write them, in any chunking; frames out as the parent would read them.

const SHIM = require.resolve('../../lib/worker/shim')
const { FrameReader } = require('../../lib/frame')
const { FrameKind, HEADER_LEN } = require('../../lib/protocol')
const wire = require('../../lib/wire')

const KIND_NAMES = new Map(Object.entries(FrameKind).map(([name, kind]) => [kind, name]))

/** A parent's frame as bytes (src/protocol/frame.rs's layout). */
function parentFrame(kind, call, module, payload = Buffer.alloc(0)) {
  const bytes = Buffer.alloc(HEADER_LEN + payload.length)
  bytes.writeUInt32LE(HEADER_LEN - 4 + payload.length, 0)
  bytes.writeUInt8(kind, 4)
  bytes.writeUInt32LE(call, 5)
  bytes.writeUInt32LE(module, 9)
  payload.copy(bytes, HEADER_LEN)
  return bytes
}

const load = (call, module, path) => parentFrame(FrameKind.Load, call, module, Buffer.from(path))
const invoke = (call, module, method, args) => {
  const payload = wire.encodeCall(method, args)
  return parentFrame(FrameKind.Call, call, module, typeof payload === 'string' ? Buffer.from(payload) : payload)
}
const cancel = (call, module) => parentFrame(FrameKind.Cancel, call, module)
const credit = (call, module, items) => {
  const payload = Buffer.alloc(4)
  payload.writeUInt32LE(items, 0)
  return parentFrame(FrameKind.Credit, call, module, payload)
}

/** A shim over a channel that keeps what it writes; `exits` and `warnings` record the rest. */
function startShim({ maxMessageSize = 2 ** 28, maxMemory } = {}) {
  const reader = new FrameReader()
  const frames = []
  const exits = []
  const warnings = []
  const channel = {
    writableLength: 0,
    write(bytes, done) {
      // The writer lends its buffer: a copy is the parent's.
      for (const frame of reader.push(Buffer.from(bytes))) frames.push({ ...frame, name: KIND_NAMES.get(frame.kind) })
      done?.()
      return true
    },
  }
  // A shim's state is its module's: each gets a fresh load of it.
  delete require.cache[SHIM]
  const shim = require(SHIM)
  shim.start({
    channel,
    keep: () => {},
    exit: (code) => exits.push(code),
    warn: (text) => warnings.push(text),
    handles: () => {
      throw new Error('no descriptors in this process')
    },
    rss: () => 0,
    maxMemory,
    maxMessageSize,
  })
  /** Resolves once the writer's end of turn has passed (replies leave then at the latest). */
  const turn = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
  /** The answers (Resolved, Rejected, StreamStart, Item) sent so far, decoded. */
  const answers = () =>
    frames
      .filter((f) => ['Resolved', 'Rejected', 'StreamStart', 'Item'].includes(f.name))
      .map((f) => ({
        name: f.name,
        call: f.call,
        value:
          f.name === 'Resolved' || f.name === 'Item'
            ? wire.decode(f.payload)
            : f.name === 'Rejected'
              ? wire.decodeThrown(Buffer.from(f.payload))
              : undefined,
      }))
  return { shim, frames, exits, warnings, turn, answers, send: (bytes) => shim.received(Buffer.from(bytes)) }
}

module.exports = { startShim, parentFrame, load, invoke, cancel, credit }
