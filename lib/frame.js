'use strict'
// The worker's side of the frame format in src/protocol/frame.rs (layout and kinds: ./protocol.js).

const fs = require('node:fs')
const { performance } = require('node:perf_hooks')
const { HEADER_LEN, HANDLES_FLAG } = require('./protocol')

const EMPTY = Buffer.alloc(0)

function encodeHeader(kind, call, module, payloadLength) {
  return writeHeader(Buffer.allocUnsafe(HEADER_LEN), 0, kind, call, module, payloadLength)
}

function writeHeader(bytes, at, kind, call, module, payloadLength) {
  bytes.writeUInt32LE(HEADER_LEN - 4 + payloadLength, at)
  bytes.writeUInt8(kind, at + 4)
  bytes.writeUInt32LE(call, at + 5)
  bytes.writeUInt32LE(module, at + 9)
  return bytes
}

/** Room for the small frames of a write, reused from one write to the next. */
const OUT_SIZE = 64 * 1024
/** Frames up to this size (at most, for text) are written into that room; larger ones are queued as they are. */
const SMALL_FRAME = 16 * 1024

/** Reassembles frames from arbitrary chunks of the parent's stream. */
class FrameReader {
  #parts = []
  #size = 0
  /** Bytes needed before parsing can make progress: a large frame is joined once, not per chunk. */
  #need = HEADER_LEN

  /** Bytes of a frame not complete yet, held as views of the chunks they came in. */
  get buffered() {
    return this.#size
  }

  /** Returns the complete frames now available; throws on a corrupt stream. */
  push(chunk) {
    this.#parts.push(chunk)
    this.#size += chunk.length
    if (this.#size < this.#need) return []
    let buf = this.#parts.length === 1 ? this.#parts[0] : Buffer.concat(this.#parts, this.#size)
    const frames = []
    this.#need = HEADER_LEN
    while (buf.length >= HEADER_LEN) {
      const bodyLength = buf.readUInt32LE(0)
      if (bodyLength < HEADER_LEN - 4) throw new Error(`corrupt frame: body of ${bodyLength} bytes`)
      if (buf.length < 4 + bodyLength) {
        this.#need = 4 + bodyLength
        break
      }
      const kindByte = buf.readUInt8(4)
      frames.push({
        kind: kindByte & ~HANDLES_FLAG,
        withHandles: (kindByte & HANDLES_FLAG) !== 0,
        call: buf.readUInt32LE(5),
        module: buf.readUInt32LE(9),
        payload: buf.subarray(HEADER_LEN, 4 + bodyLength),
      })
      buf = buf.subarray(4 + bodyLength)
    }
    // A view of the remainder: the caller leaves the chunk as it is while `buffered` is not 0.
    this.#parts = buf.length === 0 ? [] : [buf]
    this.#size = buf.length
    return frames
  }
}

/**
 * Milliseconds of work after which queued replies leave at once rather than at the end of the
 * turn: an expensive call's reply does not wait for the next call to run too.
 */
const FLUSH_AFTER_MS = 1

/**
 * Queues frames and writes them in one go at the end of the current turn, or as soon as the
 * work since the first of them passes FLUSH_AFTER_MS. `extra(endOfTurn, push)` adds frames after
 * the queued ones at each write (lib/worker/pace.js).
 */
class FrameWriter {
  #socket
  #fd
  /** Frames in the order they were sent: those in #queued, then the #used bytes of #out. */
  #queued = []
  #out = Buffer.allocUnsafeSlow(OUT_SIZE)
  #used = 0
  #scheduled = false
  /** When the work whose replies are queued began (performance.now()), or null: nothing pending. */
  #since = null
  /** Between hold() and release(): frames wait for release, not for the end of the turn. */
  #held = false
  #extra
  /** Turns that ended with a write scheduled: a worker's count of its busy loop turns. */
  turns = 0

  constructor(socket, extra = () => {}) {
    this.#socket = socket
    // Unix only (and not documented): without it, every write goes through the stream. Not on
    // Windows: there the channel's handle is overlapped (the portable driver makes it so) and
    // fs.writeSync's WriteFile without an OVERLAPPED may report a full pipe's write as failed
    // while it still completes later, so the frame also sent through the stream arrived twice.
    this.#fd = process.platform === 'win32' ? -1 : (socket._handle?.fd ?? -1)
    this.#extra = extra
  }

  /** Work is starting that will send frames: they leave at the end of this turn at the latest. */
  begin() {
    this.#since ??= performance.now()
    this.#schedule()
  }

  send(kind, call, module, payload) {
    this.#push(kind, call, payload, module)
    this.#since ??= performance.now()
    if (performance.now() - this.#since >= FLUSH_AFTER_MS) this.#flush(false)
    else this.#schedule()
  }

  /**
   * While the calls of one read run: their replies leave together once it is done, in one
   * write, instead of at the end of the turn. A lone call's answer then leaves before the work
   * it queued (microtasks, nextTicks) and without a turn of the loop; a busy worker still
   * writes once per read of its socket.
   */
  hold() {
    this.#held = true
  }

  /** The read is done: what it queued leaves now; with `turnEnd`, the end of the turn still has news. */
  release(turnEnd) {
    this.#held = false
    if (this.#since !== null) this.#flush(false)
    if (turnEnd) this.#schedule()
  }

  /** Writes everything queued plus this frame now; `done` runs once it is all on its way. */
  sendLast(kind, call, module, payload, done) {
    this.#push(kind, call, payload, module)
    this.#write(done)
  }

  /** `payload`: a Buffer, or text (UTF-8 on the wire). */
  #push = (kind, call, payload, module = 0) => {
    const text = typeof payload === 'string'
    const most = HEADER_LEN + (text ? payload.length * 3 : payload.length)
    if (most > SMALL_FRAME) {
      this.#spill()
      const bytes = text ? Buffer.from(payload) : payload
      this.#queued.push(encodeHeader(kind, call, module, bytes.length), bytes)
      return
    }
    if (most > OUT_SIZE - this.#used) this.#spill()
    const at = this.#used
    const length = text ? this.#out.write(payload, at + HEADER_LEN) : payload.copy(this.#out, at + HEADER_LEN)
    writeHeader(this.#out, at, kind, call, module, length)
    this.#used = at + HEADER_LEN + length
  }

  /** Moves the frames in #out behind those queued, as bytes of their own. */
  #spill() {
    if (this.#used === 0) return
    this.#queued.push(Buffer.from(this.#out.subarray(0, this.#used)))
    this.#used = 0
  }

  #schedule() {
    if (this.#scheduled || this.#held) return
    this.#scheduled = true
    // At the end of this loop turn: every reply produced in it goes in one write, those of
    // timers that fire together included (microtasks run between timer callbacks).
    setImmediate(() => {
      this.#scheduled = false
      this.turns++
      this.#flush(true)
    })
  }

  #flush(endOfTurn) {
    this.#since = null
    this.#extra(endOfTurn, this.#push)
    if (this.#queued.length > 0 || this.#used > 0) this.#write()
  }

  #write(done) {
    // Only what the socket takes at once may leave from #out itself: the rest is copied.
    const lent = this.#queued.length === 0
    if (!lent) this.#spill()
    const chunks = this.#queued
    this.#queued = []
    const bytes = lent ? this.#out.subarray(0, this.#used) : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
    const written = done === undefined && this.#socket.writableLength === 0 ? writeNow(this.#fd, bytes) : 0
    if (written < bytes.length) {
      const rest = written === 0 ? bytes : bytes.subarray(written)
      this.#socket.write(lent ? Buffer.from(rest) : rest, done)
    }
    this.#used = 0
  }
}

/**
 * Writes what the socket takes at once, straight to its descriptor: when nothing waits in the
 * stream, that is the same bytes in the same order, without the stream's machinery per write.
 * Whatever did not fit, or failed (a full socket, a parent gone), goes through the stream.
 */
function writeNow(fd, bytes) {
  if (fd < 0) return 0
  try {
    return fs.writeSync(fd, bytes)
  } catch {
    return 0
  }
}

module.exports = { FrameReader, FrameWriter, EMPTY }
