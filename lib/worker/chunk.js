'use strict'
// The worker's half of invoke.map (lib/map.js): one call runs a module method over a chunk of
// items, and answers with each item's outcome and the time the chunk took, from which the parent
// sizes the next chunks.

const { performance } = require('node:perf_hooks')
const wire = require('../wire')
const { makeError } = require('../errors')

/** The method name a chunk call carries; an export of that name is shadowed (none has a NUL in it by accident). */
const CHUNK_METHOD = '\0invoke-parallel.map'
/** Room left in a message for what wraps an answer (the result's own encoding of the bytes). */
const ENVELOPE = 16

/**
 * `methods.get(name)` over every item, started in order (an async item overlaps with the next
 * ones, as separate calls would). Resolves to the encoded `[busyMs, values, failures,
 * argumentBytes, maxMessageSize]`: `failures` null, or `[index, thrown]` pairs with `thrown`
 * encoded as a call's rejection is, so each error keeps its class; the last two let the parent
 * size chunks by bytes. Encoded here so that one value that cannot cross fails its own item,
 * not the chunk. Outcomes too large for one message go as several such answers, in order (an
 * async iterable: a streamed result), each of consecutive items; one item's result too large
 * alone fails that item as a call's would.
 */
function runChunk(methods, name, items, limits) {
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
    ;(failures ??= []).push([index, encodeThrownWithin(thrown, limits)])
  }
  const settled = (index, ok) => (outcome) => {
    if (ok) values[index] = outcome
    else fail(index, outcome)
    if (--waiting === 0 && finish !== undefined) finish()
  }
  for (let i = 0; i < items.length; i++) {
    let result
    try {
      result = Reflect.apply(target.fn, target.self, [items[i]])
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
  const answer = () => answerOf(performance.now() - started, values, failures, limits)
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

/** The chunk's answer: its encoded outcomes, or if they do not fit one message, parts of them. */
function answerOf(busy, values, failures, limits) {
  const outcomes = { values, failures }
  const whole = encodeOutcomes(busy, outcomes, limits)
  if (whole.length + ENVELOPE <= limits.maxMessageSize) return whole
  const parts = []
  const byIndex = new Map(outcomes.failures)
  splitOutcomes({ busy, values, byIndex, limits }, 0, values.length, parts)
  return sendParts(parts)
}

/** Appends to `parts` the outcomes of items [from, to), halved until each part fits a message. */
function splitOutcomes(chunk, from, to, parts) {
  const { values, byIndex, limits } = chunk
  const failures = []
  for (let i = from; i < to; i++) if (byIndex.has(i)) failures.push([i - from, byIndex.get(i)])
  // The measured time goes with the first part only: the parent adds them up.
  const busy = from === 0 ? chunk.busy : 0
  const bytes = encodeOutcomes(busy, { values: values.slice(from, to), failures: failures.length > 0 ? failures : null }, limits)
  if (bytes.length + ENVELOPE <= limits.maxMessageSize) return parts.push(bytes)
  if (to - from === 1) {
    // Its result alone is too large: the item fails, and its failure (a short error) is the part.
    const failure = [[0, wire.encodeThrown(tooLarge('result', bytes.length, limits))]]
    return parts.push(encodeOutcomes(busy, { values: [undefined], failures: failure }, limits))
  }
  const middle = from + Math.floor((to - from) / 2)
  splitOutcomes(chunk, from, middle, parts)
  return splitOutcomes(chunk, middle, to, parts)
}

async function* sendParts(parts) {
  yield* parts
}

/** `outcomes` (`{values, failures}`) encoded; a value that cannot cross becomes its item's failure, in `outcomes`. */
function encodeOutcomes(busy, outcomes, { argumentBytes, maxMessageSize }) {
  // An unknown limit is said as 0: the parent then sizes by time alone.
  const limit = Number.isFinite(maxMessageSize) ? maxMessageSize : 0
  const answer = () => wire.encode([busy, outcomes.values, outcomes.failures, argumentBytes, limit], 'result')
  try {
    return answer()
  } catch {
    // Some value cannot cross: find which, and fail those items with the error a call would get.
    const { values } = outcomes
    for (let i = 0; i < values.length; i++) {
      try {
        wire.encode(values[i], 'result')
      } catch (error) {
        values[i] = undefined
        ;(outcomes.failures ??= []).push([i, wire.encodeThrown(error)])
      }
    }
    return answer()
  }
}

/** A thrown value's bytes, or the error saying they are over the limit, as a call's rejection is. */
function encodeThrownWithin(thrown, limits) {
  const bytes = wire.encodeThrown(thrown)
  return bytes.length + ENVELOPE <= limits.maxMessageSize ? bytes : wire.encodeThrown(tooLarge('thrown error', bytes.length, limits))
}

/** Without a stack (it would only show this file), as the shim's own. */
function tooLarge(what, size, { maxMessageSize }) {
  const error = makeError('ERR_INVOKE_MESSAGE_TOO_LARGE', what, size, maxMessageSize)
  error.stack = undefined
  return error
}

/**
 * What a chunk call runs, in the shape of a module's method (lib/worker/main.js). `limits`:
 * `maxMessageSize`, and `argumentBytes`, the size of the call's own message.
 */
function chunkTarget(methods, { maxMessageSize, argumentBytes }) {
  // A worker started without the pool's limits (by another host, say) splits nothing.
  const limits = {
    maxMessageSize: maxMessageSize > 0 ? maxMessageSize : Infinity,
    argumentBytes: argumentBytes >= 0 ? argumentBytes : 0,
  }
  return { fn: (name, items) => runChunk(methods, name, items, limits), self: undefined }
}

/** A call (or a chunk) naming a method its module does not export: only a pool interface used by hand can. */
function notExported(name) {
  return makeError('ERR_INVALID_ARG_VALUE', 'invoke-parallel', `${String(name)} is not an exported function`)
}

module.exports = { CHUNK_METHOD, chunkTarget, notExported }
