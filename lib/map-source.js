'use strict'
// invoke.map's items, read a chunk at a time and only when a chunk is wanted: an array, any
// iterable, or an async iterable (a Node readable stream in object mode is one).

const { makeError } = require('./errors')
// Node's own, not the globals: a test environment may have none (jest's jsdom one deletes them)
// or fake ones (fake timers).
const { setImmediate, clearImmediate } = require('node:timers')

/** Throws a TypeError unless `items` is something map can read. */
function checkItems(items) {
  let readable
  try {
    readable =
      items !== null &&
      (typeof items === 'object' || typeof items === 'function' || typeof items === 'string') &&
      (typeof items[Symbol.asyncIterator] === 'function' || typeof items[Symbol.iterator] === 'function')
  } catch {
    // Looking at it threw (a getter, a Proxy's trap): a source that fails as it starts, which
    // rejects the iteration with what it throws (itemReader reads it again), not the call.
    return
  }
  if (!readable) throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.map', 'items must be an iterable, an async iterable or a readable stream')
}

/**
 * `read(n)`: up to `n` items, fewer only at the end (none once it is reached); an array, or a
 * promise of one for an async source. `close()`: lets an unfinished source go (its `return()`).
 */
function itemReader(items) {
  try {
    // Inside: Array.isArray throws on a revoked Proxy.
    if (Array.isArray(items)) return arrayReader(items)
    if (typeof items[Symbol.asyncIterator] === 'function') return asyncReader(items[Symbol.asyncIterator](), streamOf(items))
    return syncReader(items[Symbol.iterator]())
  } catch (error) {
    // A source that throws as it starts fails the iteration, as one that throws later does.
    return {
      read() {
        throw error
      },
      close() {},
    }
  }
}

/** No failure held back (a source may throw anything, undefined included). */
const NO_FAILURE = Symbol('no failure')

function arrayReader(array) {
  let at = 0
  return {
    read(n) {
      // Copied item by item, not sliced: a slice keeps an array's holes in V8's sense (any array
      // made by `new Array(n)` or `.map()`), and V8 writes such an array key by key, at over
      // twice the bytes and time.
      const end = Math.min(array.length, at + n)
      const items = []
      while (at < end) items.push(array[at++])
      return items
    },
    close() {},
  }
}

/** What a source's next() gave instead of an iterator result (an object), as `for...of` refuses it. */
function notAStep(step) {
  const what = step === null ? 'null' : `a ${typeof step}`
  return makeError('ERR_INVALID_RETURN_VALUE', 'invoke.map', `the source's next() gave ${what}, not an iterator result`)
}

function syncReader(iterator) {
  let finished = false
  /** What the source threw while a read had items: thrown by the next read, after those items went out. */
  let failure = NO_FAILURE
  return {
    read(n) {
      if (failure !== NO_FAILURE) {
        const error = failure
        failure = NO_FAILURE
        throw error
      }
      const items = []
      while (!finished && items.length < n) {
        let step
        try {
          step = iterator.next()
          if (step === null || typeof step !== 'object') throw notAStep(step)
          if (step.done) finished = true
          else items.push(step.value)
        } catch (error) {
          finished = true
          if (items.length === 0) throw error
          failure = error
        }
      }
      return items
    },
    close() {
      failure = NO_FAILURE
      if (finished) return
      finished = true
      try {
        iterator.return?.()
      } catch {
        // The map is over; what the source throws as it closes has nobody to go to.
      }
    },
  }
}

/**
 * An async source is read as far as it has items ready: a read ends early, with what it has,
 * once the turn of the event loop it started in is over and the source's next() still waits
 * (a socket, a queue or a file being written that pauses), so that the items at hand go to work
 * and their results come back while the source waits. A next() that outlives its read is kept
 * for the next one: no item is lost.
 */
/**
 * The Node readable stream `items` is, if it is one. Its async iterator's return() waits behind a
 * next() still pending (an async generator's queue), so a map that stops while a quiet stream (a
 * socket) has no item would leave it open: it is destroyed instead, as a for-await loop's break
 * destroys it.
 */
function streamOf(items) {
  try {
    return typeof items.pipe === 'function' && typeof items.destroy === 'function' && typeof items.readableObjectMode === 'boolean' ? items : null
  } catch {
    return null
  }
}

function asyncReader(iterator, stream = null) {
  let finished = false
  /** A next() under way. */
  let waiting = false
  /** A next() settled while no read was there to take it: its step, or its error if `failed`. */
  let early = false
  let failed = false
  let outcome
  /** The read under way: takes the outcome a next() settled with. */
  let reading = null
  /** What the source failed with while a read had items: the next read rejects with it. */
  let held = NO_FAILURE

  // One pair of callbacks for every next(): a read of thousands of items allocates none per item.
  const settled = (isError) => (value) => {
    waiting = false
    early = true
    failed = isError
    outcome = value
    reading?.()
  }
  const onStep = settled(false)
  const onError = settled(true)
  const pull = () => {
    waiting = true
    let next
    try {
      next = iterator.next()
    } catch (error) {
      return onError(error)
    }
    Promise.resolve(next).then(onStep, onError)
  }

  return {
    read(n) {
      if (held !== NO_FAILURE) {
        const error = held
        held = NO_FAILURE
        return Promise.reject(error)
      }
      return new Promise((resolve, reject) => {
        const items = []
        let turnOver = false
        const end = (...error) => {
          reading = null
          clearImmediate(turn)
          // A source may fail with anything, undefined included: the error is there if it was passed.
          if (error.length === 0) resolve(items)
          else reject(error[0])
        }
        const more = () => {
          while (!finished && items.length < n) {
            if (!early) {
              if (turnOver && items.length > 0) return end()
              if (!waiting) pull()
              if (!early) return undefined
            }
            early = false
            const step = outcome
            outcome = undefined
            if (failed) {
              finished = true
              // The items read before the failure go out first: the error comes with the next read.
              if (items.length === 0) return end(step)
              held = step
              return end()
            }
            if (step === null || typeof step !== 'object') {
              finished = true
              return end(notAStep(step))
            }
            // A step's `done` or `value` may be a getter that throws (a Proxy, say): that fails
            // the iteration like a next() that rejects, rather than escaping into the promise
            // job that called this (an unhandled rejection) and leaving the read waiting.
            try {
              if (step.done) finished = true
              else items.push(step.value)
            } catch (error) {
              finished = true
              if (items.length === 0) return end(error)
              held = error
              return end()
            }
          }
          return end()
        }
        const turn = setImmediate(() => {
          turnOver = true
          if (items.length > 0 && reading === more) end()
        })
        reading = more
        more()
      })
    },
    close() {
      held = NO_FAILURE
      if (finished) return
      finished = true
      // Not awaited: a source stalled in next() may never answer its return().
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => {})
      if (waiting && stream !== null) {
        try {
          stream.destroy()
        } catch {}
      }
    },
  }
}

module.exports = { checkItems, itemReader }
