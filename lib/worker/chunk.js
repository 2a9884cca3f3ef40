'use strict'
// The worker's half of invoke.map (lib/map.js): one call runs a module method over a chunk of
// items, and answers with each item's outcome and the time the chunk took, from which the parent
// sizes the next chunks.

const { performance } = require('node:perf_hooks')
const wire = require('../wire')
const { makeError } = require('../errors')

/** The method name a chunk call carries; an export of that name is shadowed (none has a NUL in it by accident). */
const CHUNK_METHOD = '\0invoke-parallel.map'

/**
 * `methods.get(name)` over every item, started in order (an async item overlaps with the next
 * ones, as separate calls would). Resolves to the encoded `[busyMs, values, failures]`:
 * `failures` null, or `[index, thrown]` pairs with `thrown` encoded as a call's rejection is,
 * so each error keeps its class. Encoded here so that one value that cannot cross fails its own
 * item, not the chunk.
 */
function runChunk(methods, name, items) {
  const target = methods.get(name)
  if (target === undefined) throw notExported(name)
  const started = performance.now()
  // Filled by push, in order, so that it never has a hole: V8 writes an array with holes as a
  // sparse one, key by key, twice the bytes and several times slower to write and to read back.
  const values = []
  let failures = null
  let waiting = 0
  let finish
  const fail = (index, thrown) => {
    values[index] = undefined
    ;(failures ??= []).push([index, wire.encodeThrown(thrown)])
  }
  const settled = (index, ok) => (outcome) => {
    if (ok) values[index] = outcome
    else fail(index, outcome)
    if (--waiting === 0 && finish !== undefined) finish()
  }
  for (let i = 0; i < items.length; i++) {
    let result
    try {
      result = target.fn.call(target.self, items[i])
    } catch (thrown) {
      values.push(undefined)
      fail(i, thrown)
      continue
    }
    if (isThenable(result)) {
      values.push(undefined)
      waiting++
      // Promise.resolve follows a foreign thenable as `await` would; a throwing `then` rejects.
      Promise.resolve(result).then(settled(i, true), settled(i, false))
    } else {
      values.push(result)
    }
  }
  const answer = () => encodeOutcomes(performance.now() - started, values, failures)
  if (waiting === 0) return answer()
  return new Promise((resolve) => {
    finish = () => resolve(answer())
  })
}

function isThenable(value) {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false
  try {
    return typeof value.then === 'function'
  } catch {
    // Its `then` getter throws: Promise.resolve meets the same throw and rejects the item.
    return true
  }
}

function encodeOutcomes(busy, values, failures) {
  try {
    return wire.encode([busy, values, failures], 'result')
  } catch {
    // Some value cannot cross: find which, and fail those items with the error a call would get.
    for (let i = 0; i < values.length; i++) {
      try {
        wire.encode(values[i], 'result')
      } catch (error) {
        values[i] = undefined
        ;(failures ??= []).push([i, wire.encodeThrown(error)])
      }
    }
    return wire.encode([busy, values, failures], 'result')
  }
}

/** What a chunk call runs, in the shape of a module's method (lib/worker/main.js). */
function chunkTarget(methods) {
  return { fn: (name, items) => runChunk(methods, name, items), self: undefined }
}

/** A call (or a chunk) naming a method its module does not export: only a pool interface used by hand can. */
function notExported(name) {
  return makeError('ERR_INVALID_ARG_VALUE', 'invoke-parallel', `${String(name)} is not an exported function`)
}

module.exports = { CHUNK_METHOD, chunkTarget, notExported }
