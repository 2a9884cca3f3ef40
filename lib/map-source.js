'use strict'
// invoke.map's items, read a chunk at a time and only when a chunk is wanted: an array, any
// iterable, or an async iterable (a Node readable stream in object mode is one).

const { makeError } = require('./errors')

/** Throws a TypeError unless `items` is something map can read. */
function checkItems(items) {
  const readable =
    items !== null &&
    (typeof items === 'object' || typeof items === 'function' || typeof items === 'string') &&
    (typeof items[Symbol.asyncIterator] === 'function' || typeof items[Symbol.iterator] === 'function')
  if (!readable) throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.map', 'items must be an iterable, an async iterable or a readable stream')
}

/**
 * `read(n)`: up to `n` items, fewer only at the end (none once it is reached); an array, or a
 * promise of one for an async source. `close()`: lets an unfinished source go (its `return()`).
 */
function itemReader(items) {
  if (Array.isArray(items)) return arrayReader(items)
  if (typeof items[Symbol.asyncIterator] === 'function') return asyncReader(items[Symbol.asyncIterator]())
  return syncReader(items[Symbol.iterator]())
}

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

function syncReader(iterator) {
  let finished = false
  return {
    read(n) {
      const items = []
      while (!finished && items.length < n) {
        const step = iterator.next()
        if (step.done) finished = true
        else items.push(step.value)
      }
      return items
    },
    close() {
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

function asyncReader(iterator) {
  let finished = false
  return {
    async read(n) {
      const items = []
      while (!finished && items.length < n) {
        const step = await iterator.next()
        if (step.done) finished = true
        else items.push(step.value)
      }
      return items
    },
    close() {
      if (finished) return
      finished = true
      // Not awaited: a source stalled in next() may never answer its return().
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => {})
    },
  }
}

module.exports = { checkItems, itemReader }
