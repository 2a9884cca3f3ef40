'use strict'
// invoke.map's async iterator: hands out one result per next() from the arrays its engine (an
// async generator, lib/map.js) yields a chunk at a time. Resuming a generator per item costs
// several promises and microtask hops; a result already at hand costs one settled promise here.

const EMPTY = []
/** What every async generator inherits: `[Symbol.asyncIterator]() { return this }`, and in newer Nodes more. */
const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}.prototype))

class MapResults {
  #engine
  #stopped
  #results = EMPTY
  #at = 0
  /** The engine's next() under way: later calls wait for it, so results keep their order. */
  #pulling = null
  #closed = false

  /** `engine` yields arrays of results; `stopped()` is true once it must be resumed to throw. */
  constructor(engine, stopped) {
    this.#engine = engine
    this.#stopped = stopped
  }

  next() {
    if (this.#pulling !== null) return this.#pulling.then(this.#again, this.#again)
    if (this.#at < this.#results.length && !this.#stopped()) return Promise.resolve(this.#take())
    this.#results = EMPTY
    const pulling = this.#engine.next().then(
      (step) => {
        this.#pulling = null
        if (step.done) return step
        if (step.value.length === 0) return this.next()
        this.#results = step.value
        this.#at = 0
        return this.#take()
      },
      (error) => {
        this.#pulling = null
        throw error
      },
    )
    this.#pulling = pulling
    return pulling
  }

  #again = () => this.next()

  #take() {
    const step = { value: this.#results[this.#at++], done: false }
    // Once closed, what the engine handed over after the close goes no further than this call.
    if (this.#closed) this.#results = EMPTY
    return step
  }

  return(value) {
    this.#close()
    return this.#engine.return(value)
  }

  throw(error) {
    this.#close()
    return this.#engine.throw(error)
  }

  #close() {
    this.#closed = true
    this.#results = EMPTY
  }
}
Object.setPrototypeOf(MapResults.prototype, AsyncIteratorPrototype)

module.exports = { MapResults }
