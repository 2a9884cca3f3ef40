'use strict'
// invoke.map over sources that misbehave in how they answer, not only in when: a step object
// whose `done` or `value` getter throws (a Proxy, an accessor) must fail the iteration with what
// it threw, after the results of the items before it, and leave nothing unhandled behind.
// `within` only turns a hang into a failure with its seed.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty, within } = require('./helpers/fuzz')
const { freshPool } = require('./helpers/pools')

const MAPPED = require.resolve('./fixtures/mapped')

/** An async source of 0, 1, … whose step `at` has a `field` getter that throws `thrown`; `sync`: next() answers a plain object, not a promise. */
function throwingStepSource({ at, field, sync }, thrown) {
  return {
    [Symbol.asyncIterator]() {
      let index = 0
      return {
        next() {
          const i = index++
          const step =
            i < at
              ? { value: i, done: false }
              : field === 'done'
                ? Object.defineProperty({ value: i }, 'done', { get: () => { throw thrown } })
                : Object.defineProperty({ done: false }, 'value', { get: () => { throw thrown } })
          return sync ? step : Promise.resolve(step)
        },
      }
    },
  }
}

test('a source step whose done or value getter throws rejects the map with it, after the items before it (generated positions)', async (t) => {
  const pool = freshPool(t, { limit: 2 })
  const mapped = await invoke.require(MAPPED, { pool })
  const unhandled = []
  const onUnhandled = (reason) => unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => process.off('unhandledRejection', onUnhandled))
  const arbitrary = fc.record({
    at: fc.integer({ min: 0, max: 40 }),
    field: fc.constantFrom('done', 'value'),
    sync: fc.boolean(),
    ordered: fc.boolean(),
  })
  await checkProperty(
    t,
    arbitrary,
    async (shape) => {
      const thrown = new Error(`step ${shape.at}`)
      const results = []
      let caught = null
      try {
        await within(
          (async () => {
            for await (const result of invoke.map(mapped.square, throwingStepSource(shape, thrown), { ordered: shape.ordered })) results.push(result)
          })(),
          20_000,
          'the map',
        )
      } catch (error) {
        caught = error
      }
      // Let any stray rejection of this run reach the handler before it is looked at.
      await new Promise((resolve) => setImmediate(resolve))
      if (unhandled.length > 0) return `an unhandled rejection: ${unhandled[0]?.stack ?? unhandled[0]}`
      if (caught !== thrown) return `the map ended with ${caught?.stack ?? caught}, not the getter's error`
      const expected = Array.from({ length: shape.at }, (_, i) => i * i)
      const got = shape.ordered ? results : [...results].sort((a, b) => a - b)
      if (JSON.stringify(got) !== JSON.stringify(expected)) return `results ${JSON.stringify(results)}, expected ${JSON.stringify(expected)}`
      return null
    },
    { runs: 30, msPerRun: 1000 },
  )
})

/** A source of 0, 1, … that fails with `thrown` at item `at`: `kind` says how (an async next() that rejects or throws, or a sync iterator's next() that throws). */
function failingSource({ at, kind }, thrown) {
  let index = 0
  const next = () => {
    const i = index++
    if (i >= at) {
      if (kind === 'rejects') return Promise.reject(thrown)
      throw thrown
    }
    return kind === 'sync' ? { value: i, done: false } : Promise.resolve({ value: i, done: false })
  }
  return kind === 'sync' ? { [Symbol.iterator]: () => ({ next }) } : { [Symbol.asyncIterator]: () => ({ next }) }
}

test('a source that fails after n items has all n results out before its error, ordered or not (generated n)', async (t) => {
  const pool = freshPool(t, { limit: 2 })
  const mapped = await invoke.require(MAPPED, { pool })
  const arbitrary = fc.record({
    at: fc.integer({ min: 0, max: 300 }),
    kind: fc.constantFrom('rejects', 'async-throws', 'sync'),
    ordered: fc.boolean(),
  })
  await checkProperty(
    t,
    arbitrary,
    async (shape) => {
      // Anything may be thrown: undefined is the value a bare `throw` of nothing gives.
      const thrown = shape.at % 2 === 0 ? new Error(`at ${shape.at}`) : undefined
      const results = []
      let caught = 'nothing'
      try {
        await within(
          (async () => {
            for await (const result of invoke.map(mapped.square, failingSource(shape, thrown), { ordered: shape.ordered })) results.push(result)
          })(),
          20_000,
          'the map',
        )
      } catch (error) {
        caught = error
      }
      if (caught !== thrown) return `the map ended with ${caught?.stack ?? caught}, not the source's error`
      const got = shape.ordered ? results : [...results].sort((a, b) => a - b)
      const expected = Array.from({ length: shape.at }, (_, i) => i * i)
      if (JSON.stringify(got) !== JSON.stringify(expected)) return `${results.length} results, expected ${shape.at}`
      return null
    },
    { runs: 40, msPerRun: 1000 },
  )
})

test('a source that throws when looked at rejects the iteration; options that throw when read throw ERR_INVALID_ARG_VALUE at once', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const mapped = await invoke.require(MAPPED, { pool })
  const thrown = new Error('looked at')
  const revoked = Proxy.revocable({}, {})
  revoked.revoke()
  const sources = {
    'an asyncIterator getter': { get [Symbol.asyncIterator]() { throw thrown } },
    'an iterator getter': { get [Symbol.iterator]() { throw thrown } },
    'a Proxy whose traps throw': new Proxy({}, { get() { throw thrown } }),
    'a revoked Proxy': revoked.proxy,
  }
  for (const [what, source] of Object.entries(sources)) {
    let iteration
    t.notThrows(() => {
      iteration = invoke.map(mapped.square, source)
    }, what)
    const error = await t.throwsAsync(async () => {
      for await (const _ of iteration);
    }, undefined, what)
    if (what !== 'a revoked Proxy') t.is(error, thrown, what)
  }
  const badOptions = [new Proxy({}, { ownKeys() { throw thrown } }), { get chunk() { throw thrown } }]
  for (const options of badOptions) {
    const error = t.throws(() => invoke.map(mapped.square, [1], options), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
    t.is(error.cause, thrown)
  }
})

test('stopping a map over a quiet readable stream closes the stream, whatever was read (generated stops)', async (t) => {
  const { PassThrough } = require('node:stream')
  const pool = freshPool(t, { limit: 2 })
  const mapped = await invoke.require(MAPPED, { pool })
  await checkProperty(
    t,
    fc.record({ written: fc.integer({ min: 1, max: 60 }), stopAfter: fc.integer({ min: 1, max: 60 }), how: fc.constantFrom('break', 'abort') }),
    async ({ written, stopAfter, how }) => {
      const stop = Math.min(stopAfter, written)
      // A stream that says nothing more after `written` items, as a socket does: a next() waits.
      const stream = new PassThrough({ objectMode: true })
      for (let i = 0; i < written; i++) stream.write(i)
      // Closed as a for-await loop's break closes it: a stream that still held items is destroyed
      // with an AbortError (Node's iterator return()), so 'error' may come first and is no failure.
      const closed = new Promise((resolve) => stream.once('close', resolve))
      stream.on('error', () => {})
      const controller = new AbortController()
      let got = 0
      try {
        for await (const _ of invoke.map(mapped.square, stream, { signal: controller.signal })) {
          if (++got === stop) {
            if (how === 'break') break
            controller.abort()
          }
        }
      } catch (error) {
        if (how !== 'abort' || error?.code !== 'ERR_INVOKE_CANCELLED') return `the map threw ${error?.stack ?? error}`
      }
      await within(closed, 20_000, "the stream's close")
      if (stream.errored && stream.errored.name !== 'AbortError') return `the stream was destroyed with ${stream.errored.stack}`
      return stream.destroyed ? null : 'the stream is still open'
    },
    { runs: 20, msPerRun: 1000 },
  )
})
