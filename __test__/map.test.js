'use strict'
// invoke.map over real workers: chunking, order, failures, cancellation, dead workers.

const test = require('ava')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Readable } = require('node:stream')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty, within } = require('./helpers/fuzz')
const { waitFor } = require('./helpers/processes')

function setup(t, options = {}) {
  const pool = invoke.pool({ limit: 2, ...options })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-map-'))
  t.teardown(async () => {
    await pool.close({ force: true })
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return { pool, dir, load: () => invoke.require('./fixtures/mapped', { pool }) }
}

/** Every result of the iteration, or `{error, results}` if it rejected. */
async function collect(iterable) {
  const results = []
  try {
    for await (const result of iterable) results.push(result)
  } catch (error) {
    return { results, error }
  }
  return { results }
}

/** A generator over `items` that counts what was read and whether it was closed. */
function counted(items) {
  const state = { read: 0, closed: false }
  function* generate() {
    try {
      for (const item of items) {
        state.read++
        yield item
      }
    } finally {
      state.closed = true
    }
  }
  return { state, iterable: generate() }
}

const sources = {
  array: (items) => items,
  // A plain iterable, not an array: read through its iterator.
  iterable: (items) => ({ [Symbol.iterator]: () => items[Symbol.iterator]() }),
  async: (items) =>
    (async function* () {
      for (const item of items) yield item
    })(),
  stream: (items) => Readable.from(items, { objectMode: true }),
}

test('results come in input order for every kind of source, counts around chunk boundaries', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  const arbitrary = fc.record({
    chunk: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    concurrency: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
    source: fc.constantFrom(...Object.keys(sources)),
    method: fc.constantFrom('square', 'later'),
    // Sizes cluster around multiples of the chunk: 0, 1, k - 1, k, k + 1, 2k ...
    offset: fc.integer({ min: -1, max: 1 }),
    multiple: fc.integer({ min: 0, max: 6 }),
  })
  await checkProperty(
    t,
    arbitrary,
    async ({ chunk, concurrency, source, method, offset, multiple }) => {
      const count = Math.max(0, multiple * (chunk ?? 4) + offset)
      const items = Array.from({ length: count }, (_, i) => i - 3)
      const expected = method === 'square' ? items.map((x) => x * x) : items
      const options = { chunk, concurrency }
      const got = await within(collect(invoke.map(mod[method], sources[source](items), options)), 20000, 'the map')
      if (got.error) return `rejected: ${got.error.stack}`
      return JSON.stringify(got.results) === JSON.stringify(expected)
        ? null
        : `got ${JSON.stringify(got.results)}, expected ${JSON.stringify(expected)}`
    },
    { runs: 60, msPerRun: 300 },
  )
})

test('ordered: false yields every result once, as they finish', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    fc.record({ count: fc.integer({ min: 0, max: 300 }), chunk: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }) }),
    async ({ count, chunk }) => {
      const items = Array.from({ length: count }, (_, i) => i)
      const got = await within(collect(invoke.map(mod.later, items, { ordered: false, chunk })), 20000, 'the map')
      if (got.error) return `rejected: ${got.error.stack}`
      const sorted = [...got.results].sort((a, b) => a - b)
      return JSON.stringify(sorted) === JSON.stringify(items) ? null : `got ${JSON.stringify(got.results)}`
    },
    { runs: 30, msPerRun: 300 },
  )
})

test('many tiny items go in few calls: chunks grow from the measured time per item', async (t) => {
  const { pool, load } = setup(t)
  const mod = await load()
  const items = Array.from({ length: 20000 }, (_, i) => i)
  const before = pool.stats().completed
  let sum = 0
  for await (const square of invoke.map(mod.square, items)) sum += square
  t.is(sum, items.reduce((total, x) => total + x * x, 0))
  // One call per item would be 20,000; chunks of a few ms of work are hundreds of items.
  const calls = pool.stats().completed - before
  t.true(calls < 500, `${calls} calls for 20,000 items`)
})

const failing = fc.array(
  fc.record({
    fail: fc.option(fc.constantFrom('Error', 'TypeError', 'RangeError', 'SyntaxError'), { nil: undefined, freq: 3 }),
  }),
  { maxLength: 60 },
)

test('settle: true yields each item as fulfilled or rejected, errors with their class and code', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    fc.record({ flags: failing, chunk: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }), async: fc.boolean() }),
    async ({ flags, chunk, async }) => {
      const items = flags.map(({ fail }, value) => ({ value, fail }))
      const method = async ? mod.checkAsync : mod.check
      const got = await within(collect(invoke.map(method, items, { settle: true, chunk })), 20000, 'the map')
      if (got.error) return `rejected: ${got.error.stack}`
      if (got.results.length !== items.length) return `${got.results.length} outcomes for ${items.length} items`
      for (const [i, outcome] of got.results.entries()) {
        const { fail } = items[i]
        if (fail === undefined) {
          if (outcome.status !== 'fulfilled' || outcome.value !== i) return `item ${i}: ${JSON.stringify(outcome)}`
        } else if (
          outcome.status !== 'rejected' ||
          !(outcome.reason instanceof globalThis[fail]) ||
          outcome.reason.name !== fail ||
          outcome.reason.message !== `item ${i}` ||
          outcome.reason.code !== `E_${i}`
        ) {
          return `item ${i} should have failed with ${fail}: ${outcome.status} ${outcome.reason?.stack ?? outcome.value}`
        }
      }
      return null
    },
    { runs: 40, msPerRun: 300 },
  )
})

test('without settle, the iteration yields the results before the first failing item, then rejects with its error', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    fc.record({ flags: failing, chunk: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }) }),
    async ({ flags, chunk }) => {
      const items = flags.map(({ fail }, value) => ({ value, fail }))
      const got = await within(collect(invoke.map(mod.check, items, { chunk })), 20000, 'the map')
      const first = items.findIndex((item) => item.fail !== undefined)
      const before = (first === -1 ? items : items.slice(0, first)).map((item) => item.value)
      if (JSON.stringify(got.results) !== JSON.stringify(before)) return `yielded ${JSON.stringify(got.results)}`
      if (first === -1) return got.error ? `rejected: ${got.error.stack}` : null
      const fail = items[first].fail
      return got.error instanceof globalThis[fail] && got.error.message === `item ${first}`
        ? null
        : `rejected with ${got.error?.stack ?? 'nothing'}, expected ${fail} of item ${first}`
    },
    { runs: 40, msPerRun: 300 },
  )
})

test('breaking out of the loop stops reading the items and closes the source', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    fc.record({
      count: fc.integer({ min: 1, max: 2000 }),
      stopAfter: fc.integer({ min: 1, max: 50 }),
      chunk: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    }),
    async ({ count, stopAfter, chunk }) => {
      const items = Array.from({ length: count }, (_, i) => i)
      const { state, iterable } = counted(items)
      const seen = []
      await within(
        (async () => {
          for await (const square of invoke.map(mod.square, iterable, { chunk, concurrency: 2 })) {
            seen.push(square)
            if (seen.length === stopAfter) break
          }
        })(),
        20000,
        'the loop',
      )
      const wanted = items.slice(0, Math.min(stopAfter, count)).map((x) => x * x)
      if (JSON.stringify(seen) !== JSON.stringify(wanted)) return `saw ${JSON.stringify(seen)}`
      if (count > stopAfter && !state.closed) return 'the source was not closed'
      // At most a window of chunks (2 × concurrency) is read ahead of what was yielded.
      const ahead = state.read - seen.length
      const bound = 4 * (chunk ?? 4096)
      return count > stopAfter && ahead > bound ? `read ${ahead} items ahead` : null
    },
    { runs: 40, msPerRun: 300 },
  )
})

/** Resolves once every item of holdFrom that started has seen its call aborted, and some did. */
function everyStartedAborted(dir) {
  return waitFor(
    () => {
      const files = fs.readdirSync(dir)
      const started = files.filter((file) => file.endsWith('.started'))
      return started.length > 0 && started.every((file) => files.includes(file.replace('.started', '.aborted')))
    },
    10000,
    'the workers to see the cancellation',
  )
}

test('breaking out cancels the chunk calls in flight: the worker sees their signals abort', async (t) => {
  const { dir, load } = setup(t)
  const mod = await load()
  const items = Array.from({ length: 100 }, (_, value) => ({ value, from: 2, dir }))
  const seen = []
  for await (const value of invoke.map(mod.holdFrom, items, { chunk: 1, concurrency: 4 })) {
    seen.push(value)
    if (seen.length === 2) break
  }
  t.deepEqual(seen, [0, 1])
  await everyStartedAborted(dir)
})

for (const [kind, make] of [
  ['an AbortSignal', () => {
    const controller = new AbortController()
    return { options: { signal: controller.signal }, cancel: () => controller.abort(new Error('enough')) }
  }],
  ['a cancel token', () => {
    const token = invoke.cancelToken()
    return { options: { cancelToken: token }, cancel: () => token.resolve() }
  }],
]) {
  test(`cancelling with ${kind} mid-way rejects with Cancel and cancels the calls in flight`, async (t) => {
    t.timeout(scaled(30000))
    const { dir, load } = setup(t)
    const mod = await load()
    const items = Array.from({ length: 100 }, (_, value) => ({ value, from: 3, dir }))
    const { options, cancel } = make()
    const seen = []
    const error = await t.throwsAsync(async () => {
      for await (const value of invoke.map(mod.holdFrom, items, { chunk: 1, concurrency: 3, ...options })) {
        seen.push(value)
        // Item 3 never answers by itself: cancel while it and the next ones are in flight.
        if (seen.length === 3) cancel()
      }
    }, { instanceOf: invoke.Cancel })
    t.deepEqual(seen, [0, 1, 2])
    if (kind === 'an AbortSignal') t.is(error.cause.message, 'enough')
    await everyStartedAborted(dir)
  })
}

test('a cancel token bound to the proxy cancels the map; one already cancelled stops it before any call', async (t) => {
  const { pool, load } = setup(t)
  const mod = await load()
  const token = invoke.cancelToken()
  token.resolve()
  const before = pool.stats().completed
  const got = await collect(invoke.map(mod({ cancelToken: token }).square, [1, 2, 3]))
  t.true(got.error instanceof invoke.Cancel)
  t.deepEqual(got.results, [])
  t.is(pool.stats().completed, before)
})

test('timeout is per item: an item that hangs rejects with Timeout, the others resolve', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
    async (hangs) => {
      const items = hangs.map((hang, value) => ({ value, hang }))
      // The limit covers an item's wait for a worker too, and the hanging items' workers are
      // replaced after their cancel: under a loaded machine a start can take seconds, so the
      // limit leaves the honest items room for that (it only delays the hanging ones' outcome).
      const got = await within(collect(invoke.map(mod.hangIf, items, { chunk: 1, timeout: 5000, settle: true })), 60000, 'the map')
      if (got.error) return `rejected: ${got.error.stack}`
      for (const [i, outcome] of got.results.entries()) {
        const ok = hangs[i]
          ? outcome.status === 'rejected' && outcome.reason instanceof invoke.Timeout
          : outcome.status === 'fulfilled' && outcome.value === i
        if (!ok) return `item ${i}: ${outcome.status} ${outcome.reason?.stack ?? outcome.value}`
      }
      return null
    },
    { runs: 4, msPerRun: 12000 },
  )
})

test('a worker killed mid-map: its chunk is retried and every item arrives once, in order', async (t) => {
  const { dir, load } = setup(t, { onError: () => {} })
  const mod = await load()
  await checkProperty(
    t,
    fc.record({
      count: fc.integer({ min: 1, max: 200 }),
      at: fc.nat(),
      chunk: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
    }),
    async ({ count, at, chunk }) => {
      const marker = path.join(dir, `marker-${Math.random()}`)
      const items = Array.from({ length: count }, (_, value) => ({ value, at: at % count, marker }))
      const got = await within(collect(invoke.map(mod.exitOnceAt, items, { chunk })), 20000, 'the map')
      if (got.error) return `rejected: ${got.error.stack}`
      if (!fs.existsSync(marker)) return 'no worker died'
      return JSON.stringify(got.results) === JSON.stringify(items.map((item) => item.value))
        ? null
        : `got ${JSON.stringify(got.results)}`
    },
    { runs: 10, msPerRun: 1000 },
  )
})

test('with noRetry, the items of the dead worker\'s chunk reject with Retry and the rest resolve', async (t) => {
  const { dir, load } = setup(t, { onError: () => {} })
  const mod = await load()
  const marker = path.join(dir, 'marker')
  const items = Array.from({ length: 12 }, (_, value) => ({ value, at: 5, marker }))
  const got = await collect(invoke.map(mod({ noRetry: true }).exitOnceAt, items, { chunk: 4, settle: true }))
  t.is(got.error, undefined)
  t.deepEqual(
    got.results.map((outcome) => outcome.status),
    [...Array(4).fill('fulfilled'), ...Array(4).fill('rejected'), ...Array(4).fill('fulfilled')],
  )
  t.true(got.results[5].reason instanceof invoke.Retry)
})

test('an item that always kills its worker fails alone with Retry; the rest of its chunk resolves', async (t) => {
  const { load } = setup(t, { onError: () => {} })
  const mod = await load()
  const items = Array.from({ length: 8 }, (_, value) => ({ value, at: 5 }))
  const got = await collect(invoke.map(mod.exitAt, items, { chunk: 8, settle: true }))
  t.deepEqual(
    got.results.map((outcome) => outcome.status),
    [...Array(5).fill('fulfilled'), 'rejected', ...Array(2).fill('fulfilled')],
  )
  t.true(got.results[5].reason instanceof invoke.Retry)
  t.regex(got.results[5].reason.message, /gave up after 3 attempts/)
})

test('a value that cannot cross fails its own item, not its chunk', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  const got = await collect(invoke.map(mod.functionIfOdd, [0, 1, 2, 3], { chunk: 4, settle: true }))
  t.deepEqual(got.results.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected'])
  t.is(got.results[1].reason.code, 'ERR_INVOKE_UNSERIALIZABLE')
  t.true(got.results[1].reason instanceof TypeError)
})

test('bad arguments throw a TypeError or RangeError naming what is wrong', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  t.throws(() => invoke.map(() => 1, []), { instanceOf: TypeError, message: /method of a module proxy/ })
  t.throws(() => invoke.map(mod.square, 42), { instanceOf: TypeError, message: /items must be/ })
  t.throws(() => invoke.map(mod.square, [], { chunk: 0 }), { instanceOf: RangeError, message: /chunk/ })
  t.throws(() => invoke.map(mod.square, [], { concurrency: 1.5 }), { instanceOf: RangeError, message: /concurrency/ })
  t.throws(() => invoke.map(mod.square, [], { ordered: 'yes' }), { instanceOf: TypeError, message: /ordered/ })
  t.throws(() => invoke.map(mod.square, [], { nope: true }), { instanceOf: TypeError, message: /unknown option "nope"/ })
  t.throws(() => invoke.map(mod.square, [], { signal: {} }), { instanceOf: TypeError, message: /signal/ })
  // Each with the code of its kind, as the pool's own option errors.
  t.throws(() => invoke.map(() => 1, []), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.map(mod.square, 42), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.map(mod.square, [], null), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.map(mod.square, [], { chunk: 0 }), { code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => invoke.map(mod.square, [], { chunk: '1' }), { code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.map(mod.square, [], { nope: true }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => invoke.map(mod.square, [], { timeout: -1 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => invoke.map(mod.square, [], { settle: 1 }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('a chunk answer of the wrong shape fails that chunk\'s items only; the map and the pool go on', async (t) => {
  // One worker, one chunk of one item at a time: the call ids are known (the load took id 1).
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const mod = await invoke.require('./fixtures/map-forger', { pool })
  let nextCall = 2
  const shapes = fc.oneof(
    fc.constantFrom('[1]', '"text"', '[0,[1,2],null]', '[0,[null],[[5,"x"]]]', '[0,[null],[[0,"x"]]]', '[0,[null],7]', '{}'),
    fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'),
  )
  await checkProperty(
    t,
    shapes,
    async (payload) => {
      const items = [{ forge: { call: nextCall, payload } }, { value: 'after' }, { value: 'last' }]
      nextCall += items.length
      const got = await within(collect(invoke.map(mod.forgeOrEcho, items, { chunk: 1, concurrency: 1, settle: true })), 20000, 'the map')
      if (got.error) return `rejected: ${got.error.stack}`
      const [forged, ...rest] = got.results
      if (forged.status !== 'rejected' || !/answer to a map chunk could not be read/.test(forged.reason.message)) {
        return `the forged chunk: ${forged.status} ${forged.reason?.stack ?? JSON.stringify(forged.value)}`
      }
      return JSON.stringify(rest) === JSON.stringify([{ status: 'fulfilled', value: 'after' }, { status: 'fulfilled', value: 'last' }])
        ? null
        : `the honest chunks: ${JSON.stringify(rest)}`
    },
    { runs: 30, msPerRun: 300 },
  )
})

test("a source whose next() gives no iterator result (sync or async) fails the map with ERR_INVALID_RETURN_VALUE, never maps forever", async (t) => {
  const echo = await invoke.require('./fixtures/echo')
  const sync = (step) => ({ [Symbol.iterator]: () => ({ next: () => step }) })
  const async = (step) => ({ [Symbol.asyncIterator]: () => ({ next: async () => step }) })
  for (const step of [null, undefined, 5, 'done', true]) {
    for (const source of [sync(step), async(step)]) {
      const error = await t.throwsAsync(async () => {
        for await (const _ of invoke.map(echo.echo, source));
      })
      t.is(error.code, 'ERR_INVALID_RETURN_VALUE', `${String(step)}: ${error.message}`)
      t.true(error instanceof TypeError)
    }
  }
})
