'use strict'
// What invoke.map costs per result, and that handing results out a chunk at a time keeps the
// async-iterator protocol: order under concurrent next() calls, return() mid-chunk.

const test = require('ava')
const { scaled } = require('./helpers/time')
const { createHook } = require('node:async_hooks')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty, within } = require('./helpers/fuzz')

function setup(t, options = {}) {
  const pool = invoke.pool({ limit: 2, ...options })
  t.teardown(() => pool.close({ force: true }))
  return { pool, load: () => invoke.require('./fixtures/mapped', { pool }) }
}

/** Promises created while `run` runs (async_hooks counts each one V8 makes, awaits included). */
async function promisesDuring(run) {
  let created = 0
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') created++
    },
  })
  hook.enable()
  try {
    await run()
  } finally {
    hook.disable()
  }
  return created
}

test.serial('a for await loop over a map costs about two promises per result: its next() and the await', async (t) => {
  t.timeout(scaled(60000))
  const { load } = setup(t)
  const mod = await load()
  const items = Array.from({ length: 20000 }, (_, i) => i % 50)
  let sum = 0
  const created = await promisesDuring(async () => {
    for await (const square of invoke.map(mod.square, items, { chunk: 2000 })) sum += square
  })
  t.is(sum, items.reduce((total, x) => total + x * x, 0))
  // A generator resumed per result made four: its next(), its yield's await, the loop's await, and the request's.
  const perResult = created / items.length
  t.true(perResult < 2.2, `${perResult.toFixed(2)} promises per result`)
})

test('next() called many times without waiting answers in input order, then done', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    fc.record({
      items: fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 300 }),
      chunk: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
      extra: fc.integer({ min: 0, max: 3 }),
    }),
    async ({ items, chunk, extra }) => {
      const iterator = invoke.map(mod.square, items, { chunk })[Symbol.asyncIterator]()
      const steps = await within(
        Promise.all(Array.from({ length: items.length + 1 + extra }, () => iterator.next())),
        20000,
        'the next() calls',
      )
      const results = items.map((x) => ({ value: x * x, done: false }))
      const wanted = [...results, ...Array(1 + extra).fill({ value: undefined, done: true })]
      return JSON.stringify(steps) === JSON.stringify(wanted) ? null : `got ${JSON.stringify(steps)}`
    },
    { runs: 40, msPerRun: 300 },
  )
})

test('concurrent next() calls meet a failing item as a loop does: the values before it, its error, then done', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    fc.record({
      count: fc.integer({ min: 1, max: 200 }),
      failAt: fc.integer({ min: 0, max: 199 }),
      chunk: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
      extra: fc.integer({ min: 0, max: 3 }),
    }),
    async ({ count, failAt, chunk, extra }) => {
      const at = failAt % count
      const item = (value) => ({ value, fail: value === at ? 'RangeError' : undefined })
      const items = Array.from({ length: count }, (_, value) => item(value))
      const iterator = invoke.map(mod.check, items, { chunk })
      const steps = await within(
        Promise.allSettled(Array.from({ length: at + 2 + extra }, () => iterator.next())),
        20000,
        'the next() calls',
      )
      const seen = steps.map((step) =>
        step.status === 'rejected' ? `${step.reason.constructor.name}: ${step.reason.message}` : step.value,
      )
      const wanted = [
        ...Array.from({ length: at }, (_, value) => ({ value, done: false })),
        `RangeError: item ${at}`,
        ...Array(1 + extra).fill({ value: undefined, done: true }),
      ]
      return JSON.stringify(seen) === JSON.stringify(wanted) ? null : `got ${JSON.stringify(seen)}`
    },
    { runs: 30, msPerRun: 300 },
  )
})

test('return() in the middle of a chunk ends the iteration: the rest of that chunk is not handed out', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    fc.record({
      count: fc.integer({ min: 2, max: 400 }),
      chunk: fc.integer({ min: 2, max: 100 }),
      taken: fc.integer({ min: 1, max: 399 }),
    }),
    async ({ count, chunk, taken }) => {
      const take = Math.min(taken, count - 1)
      const iterator = invoke.map(mod.square, Array.from({ length: count }, (_, i) => i), { chunk })
      const seen = []
      const after = await within(
        (async () => {
          for (let i = 0; i < take; i++) seen.push((await iterator.next()).value)
          const closed = await iterator.return()
          return [closed, await iterator.next(), await iterator.next()]
        })(),
        20000,
        'the iteration',
      )
      const wanted = Array.from({ length: take }, (_, i) => i * i)
      if (JSON.stringify(seen) !== JSON.stringify(wanted)) return `saw ${JSON.stringify(seen)}`
      return after.every((step) => step.done === true) ? null : `after return(): ${JSON.stringify(after)}`
    },
    { runs: 30, msPerRun: 300 },
  )
})

test('what map returns is an async iterator as a generator is: it inherits %AsyncIteratorPrototype%', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  const results = invoke.map(mod.square, [1, 2, 3])
  const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}.prototype))
  t.true(AsyncIteratorPrototype.isPrototypeOf(results))
  t.is(results[Symbol.asyncIterator](), results)
  const squares = []
  for await (const square of results) squares.push(square)
  t.deepEqual(squares, [1, 4, 9])
})
