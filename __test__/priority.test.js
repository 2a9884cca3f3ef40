'use strict'
// proxy({priority}): calls waiting for a worker leave by priority, then in the order they were made.

const test = require('ava')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty, within } = require('./helpers/fuzz')
const { waitFor } = require('./helpers/processes')

/** One worker taking one call at a time, so every call after a held one waits in the queue. */
async function setup(t) {
  const pool = invoke.pool({ limit: 1, minimum: 1, maxPerChild: 1, onError: () => {} })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-priority-'))
  t.teardown(async () => {
    await pool.close({ force: true })
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const mod = await invoke.require('./fixtures/ordered', { pool })
  let holds = 0
  /** Holds the worker with a call (made through `proxy`); `release()` lets it go, once every later call is queued. */
  const hold = (proxy = mod) => {
    const file = path.join(dir, `release-${++holds}`)
    const held = proxy.hold(file)
    return { held, release: () => fs.writeFileSync(file, '') }
  }
  return { pool, mod, hold }
}

/** Waits until `count` calls wait in the queue behind the held one. */
function queued(pool, count) {
  return waitFor(() => pool.stats().queued === count, 20000, `${count} calls queued`)
}

const priorityValue = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(-0.5, 0.25, 1e9, -Number.MAX_VALUE))

test('queued calls run by priority, then in the order they were made', async (t) => {
  const { pool, mod, hold } = await setup(t)
  await checkProperty(
    t,
    fc.array(fc.option(priorityValue, { nil: undefined }), { minLength: 1, maxLength: 12 }),
    async (priorities) => {
      const { held, release } = hold()
      const calls = priorities.map((priority, label) =>
        (priority === undefined ? mod : mod({ priority })).ran(label),
      )
      await queued(pool, calls.length)
      release()
      await within(held, 20000, 'the held call')
      const results = await within(Promise.all(calls), 20000, 'the queued calls')
      const ranOrder = [...results].sort((a, b) => a.order - b.order).map((r) => r.label)
      // A stable sort: equal priorities keep the order of the calls.
      const expected = priorities
        .map((priority, label) => ({ priority: priority ?? 0, label }))
        .sort((a, b) => b.priority - a.priority)
        .map((c) => c.label)
      const same = ranOrder.every((label, i) => label === expected[i])
      return same ? null : `ran ${ranOrder} for priorities ${priorities}, expected ${expected}`
    },
    { runs: 20, msPerRun: 2000 },
  )
})

test('invoke.map sends its chunks with the priority bound to the method', async (t) => {
  t.timeout(scaled(60000))
  const { pool, mod, hold } = await setup(t)
  const { held, release } = hold()
  const plain = [mod.ran('plain 1'), mod.ran('plain 2')]
  const mapped = (async () => {
    const results = []
    for await (const result of invoke.map(mod({ priority: 1 }).ran, ['mapped 1', 'mapped 2'], { chunk: 1 })) {
      results.push(result)
    }
    return results
  })()
  await queued(pool, 4)
  release()
  await within(held, 20000, 'the held call')
  const results = [...(await within(mapped, 20000, 'the map')), ...(await Promise.all(plain))]
  const ranOrder = results.sort((a, b) => a.order - b.order).map((r) => r.label)
  t.deepEqual(ranOrder, ['mapped 1', 'mapped 2', 'plain 1', 'plain 2'])
})

test('a call whose worker died goes back to the front of its own priority', async (t) => {
  t.timeout(scaled(60000))
  const { pool, mod, hold } = await setup(t)
  const pid = await mod.pid()
  const { held, release } = hold(mod({ priority: 1 }))
  const low = mod.ran('low')
  const high = mod({ priority: 1 }).ran('high')
  await queued(pool, 2)
  process.kill(pid, 'SIGKILL')
  // The held call is retried on the new worker, and holds it, while the other two wait; sent to
  // the back of the queue instead, it would run after them.
  await waitFor(() => pool.stats().retried === 1 && pool.stats().busy === 1, 20000, 'the held call retried')
  release()
  const results = await within(Promise.all([held, low, high]), 20000, 'the calls')
  const ranOrder = results.sort((a, b) => a.order - b.order).map((r) => r.label)
  t.deepEqual(ranOrder, ['held', 'high', 'low'])
})

test('a priority that is not a finite number is refused with its Node code', async (t) => {
  const { mod } = await setup(t)
  for (const priority of ['1', null, true, 1n, {}]) {
    t.throws(() => mod({ priority }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' }, String(priority))
  }
  for (const priority of [NaN, Infinity, -Infinity]) {
    t.throws(() => mod({ priority }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' }, String(priority))
  }
  t.deepEqual(await mod({ priority: -0 }).ran('fine'), { label: 'fine', order: 1 })
})
