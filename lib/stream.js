'use strict'
// A worker method's streamed result, as the caller sees it: an async iterable fed by the pool.
// The worker may run ahead by at most STREAM_WINDOW items; reading gives it credit for more.

const { STREAM_WINDOW } = require('./protocol')

/** Credit goes back in chunks of this many read items, not one message per item. */
const GRANT = STREAM_WINDOW / 2

class WorkerStream {
  #buffered = []
  #readers = []
  #ended = false
  #error = undefined
  #failed = false
  #unreported = 0
  /** Each item read is credit at once (the pool is closing: see `closing`). */
  #creditEach = false
  #hooks

  /**
   * `hooks`: `credit(n)` lets the worker send n more; `stop()` ends it early; `finished()` after the
   * end; `waiting(bool)` when someone starts or stops awaiting an item.
   */
  constructor(hooks) {
    this.#hooks = hooks
  }

  push(value) {
    if (this.#ended) return
    const reader = this.#readers.shift()
    if (reader === undefined) {
      this.#buffered.push(value)
      return
    }
    if (this.#readers.length === 0) this.#hooks.waiting(false)
    this.#read()
    reader.resolve({ value, done: false })
  }

  end() {
    if (this.#finish()) for (const reader of this.#readers.splice(0)) reader.resolve({ value: undefined, done: true })
  }

  fail(error) {
    if (!this.#finish()) return
    this.#failed = true
    this.#error = error
    const [first, ...rest] = this.#readers.splice(0)
    if (first !== undefined) {
      this.#failed = false
      first.reject(error)
    }
    for (const reader of rest) reader.resolve({ value: undefined, done: true })
  }

  /** Stops the worker's side and ends the stream with `error` (a cancellation). */
  abort(error) {
    if (this.#ended) return
    this.#hooks.stop()
    this.fail(error)
  }

  next() {
    if (this.#buffered.length > 0) {
      this.#read()
      return Promise.resolve({ value: this.#buffered.shift(), done: false })
    }
    if (this.#failed) {
      // The error is thrown once, after the items that came before it.
      this.#failed = false
      return Promise.reject(this.#error)
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true })
    if (this.#readers.length === 0) this.#hooks.waiting(true)
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }))
  }

  /**
   * The pool closes gracefully: it waits for this stream while it is read, and ends it once the
   * worker has waited on a reader who read nothing for `closeReadGrace`. So from now on every
   * item read is credit at once (what was read and not yet credited included), or a reader
   * slower than one item per grace/32 would look like none.
   */
  closing() {
    this.#creditEach = true
    if (this.#unreported > 0) this.#flush()
  }

  /** `break` in a `for await` loop: the worker's generator is stopped and its slot freed. */
  return(value) {
    if (!this.#ended) {
      this.#hooks.stop()
      this.#buffered = []
      this.end()
    }
    return Promise.resolve({ value, done: true })
  }

  [Symbol.asyncIterator]() {
    return this
  }

  #read() {
    if (++this.#unreported === GRANT || this.#creditEach) this.#flush()
  }

  #flush() {
    const items = this.#unreported
    this.#unreported = 0
    if (!this.#ended) this.#hooks.credit(items)
  }

  #finish() {
    if (this.#ended) return false
    this.#ended = true
    this.#hooks.finished()
    return true
  }
}

module.exports = { WorkerStream }
