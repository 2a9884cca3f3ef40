'use strict'
// The buffer the worker reads the parent's frames into (net.Socket's `onread`). It is reused
// from one read to the next while nothing refers to the bytes read into it, which spares the
// stream machinery and an allocation per read; once something may (a partial frame, a payload
// decoded into views of its bytes, a call waiting for its module), the next read gets a new one.

/** As much as libuv reads at once into a buffer of its own. */
const SIZE = 64 * 1024

class ReadBuffer {
  #bytes = Buffer.allocUnsafeSlow(SIZE)
  #kept = false

  /** Where the next read goes. */
  next() {
    if (this.#kept) {
      this.#bytes = Buffer.allocUnsafeSlow(SIZE)
      this.#kept = false
    }
    return this.#bytes
  }

  /** Something may still refer to the bytes of the latest read: they stay as they are. */
  keep() {
    this.#kept = true
  }
}

module.exports = { ReadBuffer }
