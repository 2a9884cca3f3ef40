'use strict'
// invoke.map: a proxy method over many items, as an async iterable of their results. Items go to
// the workers in chunks, one call each (lib/worker/chunk.js runs them), sized from the measured
// time per item so that a chunk is a few milliseconds of work; a bounded number of chunks is out
// at once, and the items are read only as chunks are wanted.

const os = require('node:os')
const { methodTargets } = require('./proxy')
const { callMethod } = require('./pool-interface')
const { kLimit } = require('./pool')
const { CHUNK_METHOD } = require('./worker/chunk')
const wire = require('./wire')
const { cancelToken, isCancelled, onCancel, cancelError } = require('./cancel')
const { mapOptions } = require('./map-options')
const { checkItems, itemReader } = require('./map-source')
const { chunkSizer } = require('./map-chunk-size')
const { MapResults } = require('./map-results')
const { makeError } = require('./errors')

/** Throws a TypeError for a bad argument; everything else rejects the iteration. */
function map(method, items, options) {
  const target = methodTargets.get(method)
  if (target === undefined) throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.map', 'method must be a method of a module proxy')
  const o = mapOptions(options)
  checkItems(items)
  const cancel = { reason: null }
  return new MapResults(mapChunks(target, items, o, cancel), () => cancel.reason !== null)
}

/** Yields the results chunk by chunk, an array each; `cancel.reason` is set when a token fires. */
async function* mapChunks({ pool, moduleId, name, bound }, items, o, cancel) {
  const source = itemReader(items)
  // Cancels every chunk call still out when the iteration ends, however it ends.
  const stop = cancelToken()
  const { cancelToken: boundToken, ...boundRest } = bound
  const callOptions = { ...boundRest, cancelToken: stop }
  const timeout = o.timeout ?? bound.timeout
  const concurrency = o.concurrency ?? 2 * (pool[kLimit] ?? os.availableParallelism() + 1)
  // Chunks read and not yet yielded, settled ones waiting their turn included: what memory holds.
  const window = 2 * concurrency
  const sizer = chunkSizer(o.chunk)
  /** Chunks in input order (ordered) or in the order they settled (unordered), from `head` on. */
  const queue = []
  let head = 0
  let running = 0
  let exhausted = false
  /** Set when a chunk has an item that will end the iteration: nothing more is read. */
  let failing = false
  let wake = null
  let interrupt = null
  const poke = () => {
    const w = wake
    wake = null
    w?.()
  }
  const listeners = []
  for (const token of [o.signal, o.cancelToken, boundToken]) {
    if (token === undefined) continue
    if (isCancelled(token)) cancel.reason ??= cancelError(token)
    listeners.push(
      onCancel(token, () => {
        cancel.reason ??= cancelError(token)
        stop.resolve()
        interrupt?.()
        poke()
      }),
    )
  }

  const send = (batch) => {
    const chunk = { size: batch.length, settled: false, values: null, reasons: null, error: null }
    if (o.ordered) queue.push(chunk)
    running++
    const options = timeout === undefined ? callOptions : { ...callOptions, timeout: timeout * batch.length }
    let call
    try {
      call = pool[callMethod](moduleId, CHUNK_METHOD, [name, batch], options)
    } catch (error) {
      call = Promise.reject(error)
    }
    Promise.resolve(call)
      .then(
        (payload) => takeOutcomes(chunk, payload, sizer),
        (error) => {
          chunk.error = error
        },
      )
      .then(() => {
        chunk.settled = true
        running--
        if (!o.settle && (chunk.error !== null || chunk.reasons !== null)) failing = true
        if (!o.ordered) queue.push(chunk)
        poke()
      })
  }

  // Ordered, the queue holds the running chunks too; unordered, only the settled ones.
  const held = () => queue.length - head + (o.ordered ? 0 : running)

  /** `promise`, unless a token fires first. */
  const unlessCancelled = (promise) =>
    new Promise((resolve, reject) => {
      interrupt = resolve
      promise.then(resolve, reject)
    }).finally(() => {
      interrupt = null
    })

  try {
    for (;;) {
      if (cancel.reason !== null) throw cancel.reason
      while (!exhausted && !failing && running < concurrency && held() < window) {
        let batch = source.read(sizer.size())
        if (!Array.isArray(batch)) batch = await unlessCancelled(batch)
        if (cancel.reason !== null) throw cancel.reason
        if (batch.length === 0) exhausted = true
        else send(batch)
      }
      const chunk = queue[head]
      if (chunk !== undefined && chunk.settled) {
        queue[head++] = undefined
        if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head)
          head = 0
        }
        const { results, failure } = resultsOf(chunk, o.settle)
        if (results.length > 0) yield results
        if (cancel.reason !== null) throw cancel.reason
        if (failure !== NONE) throw failure
        continue
      }
      if (exhausted && running === 0 && head === queue.length) return
      await new Promise((resolve) => {
        wake = resolve
      })
    }
  } finally {
    stop.resolve()
    for (const stopListening of listeners) stopListening()
    source.close()
  }
}

const NONE = Symbol('no failure')

function reasonOf(chunk, i) {
  if (chunk.error !== null) return chunk.error
  return chunk.reasons?.get(i) ?? NONE
}

/**
 * What a settled chunk gives the loop: with `settle`, an outcome per item; else its values up to
 * the first failing item, and that item's error as `failure`.
 */
function resultsOf(chunk, settle) {
  if (chunk.error === null && chunk.reasons === null && !settle) return { results: chunk.values, failure: NONE }
  const results = []
  for (let i = 0; i < chunk.size; i++) {
    const reason = reasonOf(chunk, i)
    if (reason === NONE) results.push(settle ? { status: 'fulfilled', value: chunk.values[i] } : chunk.values[i])
    else if (settle) results.push({ status: 'rejected', reason })
    else return { results, failure: reason }
  }
  return { results, failure: NONE }
}

/** A chunk call's answer (lib/worker/chunk.js) into the chunk; what cannot be read fails it whole. */
function takeOutcomes(chunk, payload, sizer) {
  try {
    const [busy, values, failures] = wire.decode(payload)
    if (!Array.isArray(values) || values.length !== chunk.size || typeof busy !== 'number') {
      throw new Error('the answer does not match the chunk it was sent')
    }
    chunk.values = values
    if (failures !== null) {
      chunk.reasons = new Map()
      for (const [index, thrown] of failures) {
        if (!Number.isInteger(index) || index < 0 || index >= chunk.size) throw new Error('an outcome names no item')
        chunk.reasons.set(index, wire.decodeThrown(thrown))
      }
    }
    sizer.observe(busy, chunk.size)
  } catch (err) {
    chunk.values = null
    chunk.reasons = null
    chunk.error = new Error(`invoke-parallel: the worker's answer to a map chunk could not be read: ${err.message}`)
  }
}

module.exports = { map }
