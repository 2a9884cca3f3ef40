'use strict'
// The parent's frames, handled in the order they came. An async call that computes in its
// continuations (an async function that awaits nothing slow, such as a minifier's) shares the
// thread with every call started in the same turn: they advance in turns at each `await`, and
// all finish late. Once calls here have been seen doing that, a call that is still pending after
// its synchronous part makes the next frame wait for the next turn, by which time such a call has
// finished; calls that truly wait (I/O) still overlap, a turn apart. Calls that turn out cheap
// for a while end it.

/**
 * An async call that settled in the turn it started, this long after the frames were handled or
 * the previous call settled, computed in its continuations.
 */
const COMPUTING_MS = 1
/** Cheap async calls in a row after which calls are started together again. */
const CHEAP_RUN = 16

class Inbox {
  #frames = []
  #next = 0
  #scheduled = false
  #handle
  #deferring
  #around
  // Until calls are seen, assume they may compute after they await: the first two calls of a
  // bulk job would otherwise advance together and both finish late.
  #serial = true
  #cheap = 0
  /** When the latest frames were handled or a call settled (performance.now()). */
  #mark = 0

  /**
   * `handle(frame)`: true if it started a call whose result is still pending; `deferring()`: some
   * of the latest frames wait for a later turn; `around(handleAll)` runs each batch of frames.
   */
  constructor(handle, { deferring = () => {}, around = (handleAll) => handleAll() } = {}) {
    this.#handle = handle
    this.#deferring = deferring
    this.#around = around
  }

  push(frames) {
    if (!this.#scheduled) {
      // Nothing waits: the read's own array is the queue (no copy per read on the common path).
      this.#frames = frames
      this.#next = 0
      this.#drain()
      return
    }
    for (const frame of frames) this.#frames.push(frame)
    if (frames.length > 0) this.#deferring()
  }

  /** An async call settled, in the turn it started or (`sameTurn` false) a later one. */
  settled(sameTurn) {
    const now = performance.now()
    const ms = now - this.#mark
    this.#mark = now
    if (sameTurn && ms >= COMPUTING_MS) {
      this.#serial = true
      this.#cheap = 0
    } else if (this.#serial && ++this.#cheap >= CHEAP_RUN) {
      this.#serial = false
    }
  }

  #drain = () => {
    this.#scheduled = false
    this.#around(this.#handleSome)
    if (this.#scheduled) this.#deferring()
    // What runs next is the continuations of the calls just started: they are timed from here.
    this.#mark = performance.now()
    if (this.#scheduled) return
    this.#frames = []
    this.#next = 0
  }

  #handleSome = () => {
    while (this.#next < this.#frames.length) {
      const frame = this.#frames[this.#next++]
      if (this.#handle(frame) && this.#serial && this.#next < this.#frames.length) {
        this.#scheduled = true
        setImmediate(this.#drain)
        return
      }
    }
  }
}

module.exports = { Inbox }
