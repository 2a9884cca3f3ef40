'use strict'
// invoke.map does not fail where single calls work: chunks are sized by bytes as well as time,
// a chunk the pool refuses is split down to the item at fault, and outcomes over one message come
// back in parts. The oracle for generated sizes is the single call: each item's outcome in the
// map is the outcome of calling the method on it alone.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty } = require('./helpers/fuzz')
const { freshPool } = require('./helpers/pools')
const wire = require('../lib/wire')

/** What a chunk adds around an item or a result (a call's or an answer's own encoding): a map may fail within it where a call does not. */
const CHUNK_OVERHEAD = 64

async function collect(iterable) {
  const results = []
  for await (const result of iterable) results.push(result)
  return results
}

test('items of 300 KB under a 1 MiB maxMessageSize all succeed, their results likewise', async (t) => {
  const pool = freshPool(t, { limit: 2, maxMessageSize: 2 ** 20 })
  const mod = await invoke.require('./fixtures/mapped', { pool })
  const items = Array.from({ length: 10 }, (_, i) => String(i).repeat(300 * 1024))
  const got = await collect(invoke.map(mod.same, items))
  t.is(got.length, 10)
  t.true(got.every((value, i) => value === items[i]))
})

test('small items whose results are 200 KB each under a 1 MiB limit succeed, a fixed chunk of 40 included', async (t) => {
  const pool = freshPool(t, { limit: 2, maxMessageSize: 2 ** 20 })
  const mod = await invoke.require('./fixtures/mapped', { pool })
  const items = Array.from({ length: 40 }, () => ({ size: 200 * 1024 }))
  for (const options of [{}, { chunk: 40 }]) {
    const got = await collect(invoke.map(mod.sized, items, options))
    t.is(got.length, 40)
    t.true(got.every((value) => value.length === 200 * 1024))
  }
})

test('one item that cannot be sent (a function) fails only itself; the rest of its chunk succeed', async (t) => {
  const pool = freshPool(t, { limit: 2 })
  const mod = await invoke.require('./fixtures/mapped', { pool })
  const items = [1, 2, 3, { f: () => 4 }, 5, 6, 7, 8]
  const got = await collect(invoke.map(mod.same, items, { chunk: 8, settle: true }))
  t.deepEqual(got.map((outcome) => outcome.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'])
  t.deepEqual(got.filter((o) => o.status === 'fulfilled').map((o) => o.value), [1, 2, 3, 5, 6, 7, 8])
  const { reason } = got[3]
  t.true(reason instanceof TypeError)
  t.is(reason.code, 'ERR_INVOKE_UNSERIALIZABLE')
  t.regex(reason.message, /item\.f is a function/)
  // Without settle, the items before it arrive, then its error.
  const seen = []
  const error = await t.throwsAsync(async () => {
    for await (const value of invoke.map(mod.same, items, { chunk: 8 })) seen.push(value)
  })
  t.is(error.code, 'ERR_INVOKE_UNSERIALIZABLE')
  t.deepEqual(seen, [1, 2, 3])
})

/** An item: a string of some size around the limit (Latin-1 or not), or an object holding one; its result the same, or a large one. */
const LIMIT = 16 * 1024
const around = (limit) =>
  fc.oneof(
    fc.integer({ min: 0, max: 64 }),
    fc.integer({ min: limit / 8 - 64, max: limit / 8 + 64 }),
    fc.integer({ min: limit / 4 - 64, max: limit / 2 + 64 }),
    fc.integer({ min: limit - 256, max: limit + 256 }),
  )
const itemOf = fc.record({ size: around(LIMIT), wide: fc.boolean() })

test('generated item and result sizes around maxMessageSize: each item fares in the map as in a call of its own', async (t) => {
  const pool = freshPool(t, { limit: 2, maxMessageSize: LIMIT })
  const mod = await invoke.require('./fixtures/mapped', { pool })
  /** Outcomes seen, by code: both kinds must occur for the property to mean anything. */
  const tally = {}
  await checkProperty(
    t,
    fc.record({
      specs: fc.array(itemOf, { minLength: 1, maxLength: 24 }),
      chunk: fc.option(fc.integer({ min: 1, max: 24 }), { nil: undefined }),
      // The item back (its result as large as it), or a small item asking for a large result.
      method: fc.constantFrom('same', 'sized'),
    }),
    async ({ specs, chunk, method }) => {
      const items = specs.map(({ size, wide }) => (method === 'sized' ? { size } : (wide ? 'é€' : 'ab').repeat(size >> 1)))
      const alone = await Promise.allSettled(items.map((item) => mod[method](item)))
      const mapped = await collect(invoke.map(mod[method], items, { chunk, settle: true }))
      for (const m of mapped) {
        const key = m.status === 'fulfilled' ? 'fulfilled' : m.reason.code
        tally[key] = (tally[key] ?? 0) + 1
      }
      if (mapped.length !== items.length) return `${mapped.length} outcomes for ${items.length} items`
      for (let i = 0; i < items.length; i++) {
        const [a, m] = [alone[i], mapped[i]]
        if (m.status === 'fulfilled') {
          if (a.status !== 'fulfilled' || a.value !== m.value) return `item ${i}: the map gave a value a call did not`
          continue
        }
        if (m.reason.code !== 'ERR_INVOKE_MESSAGE_TOO_LARGE') return `item ${i}: ${m.reason.stack}`
        if (a.status === 'fulfilled') {
          // Only an item or result within a chunk's overhead of the limit may fit a call and not a chunk.
          const size = wire.encode(a.value, 'result').length
          if (size < LIMIT - CHUNK_OVERHEAD) return `item ${i} (${size} bytes) failed in the map, not alone: ${m.reason.message}`
        }
      }
      return null
    },
    { runs: 40, msPerRun: 1000 },
  )
  t.log(JSON.stringify(tally))
  t.true(tally.fulfilled > 0 && tally.ERR_INVOKE_MESSAGE_TOO_LARGE > 0, JSON.stringify(tally))
})

const v8 = require('node:v8')
const { monitorEventLoopDelay } = require('node:perf_hooks')

function sparse() {
  const array = []
  array.length = 2 ** 32 - 1
  return array
}
function doubling(levels) {
  let d = { kind: 'error', native: 'Error', name: 'Error', message: 'leaf', pid: 1, props: {} }
  for (let i = 0; i < levels; i++) d = { ...d, native: 'AggregateError', errors: [d, d] }
  return d
}

/** Forged answers to a chunk of one item: what the chunk call resolves with, as the worker's result bytes. */
const forgedChunkAnswers = {
  'a sparse array of 2^32 - 1, not bytes': () => v8.serialize(sparse()),
  'an array of numbers, not bytes': () => v8.serialize([0xff, 0x0f, 0x41]),
  'failures as a sparse array of 2^32 - 1': () => v8.serialize(v8.serialize([0, [null], sparse(), 0, 1024])),
  'values as a sparse array of 2^32 - 1': () => v8.serialize(v8.serialize([0, sparse(), null, 0, 1024])),
  'an error shared at 40 levels': () => v8.serialize(v8.serialize([0, [null], [[0, v8.serialize(doubling(40))]], 0, 1024])),
  'a streamed answer of more parts than items': () => ({
    frames: [
      [19, []],
      ...Array.from({ length: 3 }, () => [20, v8.serialize(v8.serialize([0, [1], null, 0, 1024]))]),
      [17, v8.serialize(undefined)],
    ],
  }),
  'a streamed answer with a part of no items': () => ({
    frames: [[19, []], [20, v8.serialize(v8.serialize([0, [], null, 0, 1024]))], [17, v8.serialize(undefined)]],
  }),
  "two failures sharing one error's bytes": () => {
    const thrown = v8.serialize({ kind: 'value', value: 1 })
    return { chunk: 2, payload: v8.serialize(v8.serialize([0, [null, null], [[0, thrown], [1, thrown]], 0, 1024])) }
  },
  'the same item failing twice': () => v8.serialize(v8.serialize([0, [null], [[0, v8.serialize({ kind: 'value', value: 1 })], [0, v8.serialize({ kind: 'value', value: 2 })]], 0, 1024])),
}

test('forged chunk answers that claim more work than their bytes fail their chunk with ERR_INVOKE_BAD_ANSWER at once; the map goes on', async (t) => {
  t.timeout(120000)
  // One worker, one chunk of one item at a time: the call ids are known (the load took id 1).
  const pool = freshPool(t, { limit: 1 })
  const mod = await invoke.require('./fixtures/map-forger', { pool })
  let nextCall = 2
  for (const [what, forge] of Object.entries(forgedChunkAnswers)) {
    const forged = forge()
    const { chunk = 1, ...frames } = forged instanceof Uint8Array ? { payload: forged } : forged
    // The forged chunk (padded to `chunk` items), then one honest chunk.
    const pad = Array.from({ length: chunk - 1 }, () => ({ value: 'pad' }))
    const items = [{ forge: { call: nextCall, ...frames } }, ...pad, ...Array.from({ length: chunk }, () => ({ value: 'after' }))]
    nextCall += 2
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    const heapBefore = process.memoryUsage().heapUsed
    const got = await collect(invoke.map(mod.forgeOrEcho, items, { chunk, concurrency: 1, settle: true }))
    delay.disable()
    t.log(`${what}: loop blocked at most ${(delay.max / 1e6).toFixed(0)} ms, heap ${((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20).toFixed(1)} MB`)
    t.is(got[0].status, 'rejected', what)
    t.is(got[0].reason.code, 'ERR_INVOKE_BAD_ANSWER', what)
    t.regex(got[0].reason.message, /answer to a map chunk could not be read/)
    t.deepEqual(got.slice(chunk), Array(chunk).fill({ status: 'fulfilled', value: 'after' }), what)
  }
})
