'use strict'
// The pool's pending calls and loads, by id, and whether they hold the event loop open: the pool
// holds it only while someone awaits it, so a script that forgets to close its pool still exits
// when its work is done.

const { WorkerStream } = require('./stream')
const { microtask } = require('./microtask')

// Pools with calls pending stay reachable here: a caller awaiting a result may hold nothing else.
// An idle pool nobody references is collected, and its workers exit with it.
const busyPools = new Set()

/**
 * A stream its caller dropped unread (`await stream.next()` once, then nothing) is stopped as
 * `return()` would stop it: its generator's `finally` runs in the worker and its place is freed,
 * instead of both being held, with its buffered items, for as long as the pool lives.
 */
const droppedStreams = new FinalizationRegistry((stop) => stop())

/** What a collected stream's entries are fed to until its call is forgotten: nothing reads them. */
const GONE = Object.freeze({ push() {}, end() {}, fail() {}, abort() {}, closing() {} })

class Calls {
  /** call id -> { resolve, reject, and for a streamed result: stream, waiting; finished?() } */
  #pending = new Map()
  /** Streams in #pending that nobody is reading from: they do not hold the process open. */
  #idleStreams = 0
  #holding = false
  #releaseQueued = false
  #pool
  #native
  /** Whether the pool waits for something besides calls (its close, room for a call). */
  #poolWaits
  /** The pool closes gracefully: streams report each item read (see WorkerStream.closing). */
  #closing = false

  constructor(pool, native, poolWaits) {
    this.#pool = pool
    this.#native = native
    this.#poolWaits = poolWaits
  }

  has(id) {
    return this.#pending.has(id)
  }

  get(id) {
    return this.#pending.get(id)
  }

  /** The promise of call or load `id`'s outcome. */
  track(id) {
    this.hold()
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
    })
  }

  /** Registers `entry` ({resolve, reject, finished?}) for call `id`. */
  add(id, entry) {
    this.hold()
    this.#pending.set(id, entry)
  }

  /** Drops a call; false if it was not there. */
  forget(id, call) {
    if (!this.#pending.delete(id)) return false
    if (call.stream !== undefined) {
      droppedStreams.unregister(call)
      if (!call.waiting) this.#idleStreams--
    }
    return true
  }

  /** The caller gave up on call `id` (cancelled): the pool stops it and forgets it. */
  abandon(id) {
    this.#pending.delete(id)
    this.#native.cancel(id)
    this.release()
  }

  /** The pool closes gracefully: every stream, open or to come, tells the pool of each read. */
  closing() {
    this.#closing = true
    for (const call of this.#pending.values()) call.stream?.closing()
  }

  /** Call `id`'s result is a stream: the caller reads it at its own pace. */
  openStream(id, call) {
    call.waiting = false
    this.#idleStreams++
    const stop = () => {
      if (this.forget(id, call)) {
        this.#native.cancel(id)
        this.release()
      }
    }
    const stream = new WorkerStream({
      credit: (items) => this.#native.credit(id, items),
      stop,
      finished: () => call.finished?.(),
      // A stream holds the process open only while someone awaits its next item.
      waiting: (waiting) => {
        if (this.#pending.get(id) !== call || call.waiting === waiting) return
        call.waiting = waiting
        // Someone awaiting an item may be reachable only through the stream: hold it meanwhile.
        call.read = waiting ? held.deref() : undefined
        if (waiting) {
          this.#idleStreams--
          this.hold()
        } else {
          this.#idleStreams++
          this.release()
        }
      },
    })
    // The pending call holds its stream weakly, so that one its caller dropped can be collected
    // (no closure here may name `stream`: they share this scope, and the call holds them).
    const held = new WeakRef(stream)
    Object.defineProperty(call, 'stream', { get: () => held.deref() ?? GONE, configurable: true })
    droppedStreams.register(stream, stop, call)
    if (this.#closing) stream.closing()
    return stream
  }

  /** Whether the pool holds the event loop open. */
  get holding() {
    return this.#holding
  }

  hold() {
    if (!this.#holding) {
      this.#holding = true
      busyPools.add(this.#pool)
      this.#native.keepAlive(true)
    }
  }

  /**
   * `release()` once the reactions to what just settled have run: a caller that makes its next
   * call as soon as one returns keeps the pool held, instead of letting go of the loop and
   * taking it back for every call (each a call into the addon).
   */
  releaseSoon() {
    if (!this.#holding || this.#releaseQueued) return
    this.#releaseQueued = true
    microtask(this.#releaseQueuedNow)
  }

  #releaseQueuedNow = () => {
    this.#releaseQueued = false
    this.release()
  }

  /** Lets the event loop go if nothing awaits the pool any more. */
  release() {
    if (this.#holding && this.#pending.size === this.#idleStreams && !this.#poolWaits()) {
      this.#holding = false
      busyPools.delete(this.#pool)
      this.#native.keepAlive(false)
    }
  }
}

module.exports = { Calls }
