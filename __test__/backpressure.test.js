'use strict'
// maxQueue and whenRoom(): what is accepted depends on counts (limit, maxPerChild, maxQueue), never
// on how far the workers have got starting; the README's loop runs every job.

const test = require('ava')
const { scaled } = require('./helpers/time')
const fc = require('fast-check')
const invoke = require('..')
const { waitFor } = require('./helpers/processes')

function newPool(t, options) {
  const pool = invoke.pool({ onError: () => {}, ...options })
  t.teardown(() => pool.close({ force: true }))
  return pool
}

/** The README's backpressure loop, as printed there; resolves once every accepted job has run. */
async function readmeLoop(pool, worker, jobs) {
  const refused = []
  const handle = (error) => refused.push(error)
  for (const job of jobs) {
    await pool.whenRoom()
    worker.process(job).catch(handle)
  }
  await pool.close()
  return refused
}

test('the README backpressure loop runs every job ({limit: 2, maxPerChild: 1, maxQueue: 4}, 40 jobs)', async (t) => {
  t.timeout(scaled(30000))
  const pool = newPool(t, { limit: 2, maxPerChild: 1, maxQueue: 4 })
  const worker = await invoke.require('./fixtures/jobs', { pool })
  const jobs = Array.from({ length: 40 }, (_, i) => i)
  const refused = await readmeLoop(pool, worker, jobs)
  t.deepEqual(refused, [])
  t.like(pool.stats(), { completed: 40, failed: 0 })
})

test('the README backpressure loop runs every job for generated limits, queue sizes and job counts', async (t) => {
  t.timeout(scaled(120000))
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        limit: fc.integer({ min: 1, max: 3 }),
        maxPerChild: fc.integer({ min: 0, max: 3 }),
        maxQueue: fc.integer({ min: 0, max: 5 }),
        minimum: fc.integer({ min: 0, max: 1 }),
        jobs: fc.integer({ min: 1, max: 30 }),
        // A call with a cancel token reaches the pool a microtask after it is made.
        withToken: fc.boolean(),
      }),
      async ({ jobs, withToken, ...options }) => {
        const pool = invoke.pool({ onError: () => {}, ...options })
        const described = JSON.stringify({ jobs, withToken, ...options })
        try {
          const mod = await invoke.require('./fixtures/jobs', { pool })
          const worker = withToken ? mod({ cancelToken: invoke.cancelToken() }) : mod
          const refused = await readmeLoop(pool, worker, Array.from({ length: jobs }, (_, i) => i))
          t.deepEqual(refused, [], described)
          t.like(pool.stats(), { completed: jobs, failed: 0 }, described)
        } finally {
          await pool.close({ force: true })
        }
      },
    ),
    { numRuns: 16, verbose: true },
  )
})

/**
 * Makes `count` calls that hold their worker slot until `release` fires; their outcomes say which
 * were refused. Resolves once they have reached the pool (a call with a token is submitted in a
 * microtask).
 */
async function holdMany(mod, count, release) {
  const bound = mod({ cancelToken: release })
  const outcomes = Array.from({ length: count }, () =>
    bound.hold().then(
      () => 'ran',
      (error) => (error.code === 'ERR_INVOKE_QUEUE_FULL' ? 'refused' : 'accepted'),
    ),
  )
  await new Promise((resolve) => setImmediate(resolve))
  return outcomes
}

/** Resolves once `count` of the promises have settled. */
function settled(promises, count) {
  let seen = 0
  return new Promise((resolve) => {
    if (count === 0) resolve()
    for (const promise of promises) promise.then(() => ++seen === count && resolve())
  })
}

for (const [options, accepted] of [
  [{ limit: 2, maxQueue: 3 }, 5],
  [{ limit: 2, maxPerChild: 1, maxQueue: 0 }, 2],
  [{ limit: 2, maxPerChild: 2, maxQueue: 1 }, 5],
  [{ limit: 1, maxPerChild: 3, maxQueue: 2, minimum: 0 }, 5],
]) {
  test(`${JSON.stringify(options)} accepts ${accepted} simultaneous calls, whether or not its workers have started`, async (t) => {
    t.timeout(scaled(30000))
    for (const warm of [false, true]) {
      const pool = newPool(t, options)
      const mod = await invoke.require('./fixtures/jobs', { pool })
      if (warm) {
        // Every worker started and the module loaded on each, then idle again.
        const release = invoke.cancelToken()
        const started = await holdMany(mod, options.limit, release)
        await waitFor(() => pool.stats().running === options.limit, 15000, 'every worker to take a call')
        release.resolve()
        await Promise.all(started)
        await waitFor(() => pool.stats().running === 0, 15000, 'the held calls to return')
      }
      const release = invoke.cancelToken()
      const outcomes = await holdMany(mod, accepted + 2, release)
      const capacity = options.limit * (options.maxPerChild || 1)
      t.is(pool.stats().queued, accepted - capacity, `queued right after the calls (warm: ${warm})`)
      // The refusals come back on their own; the accepted calls hold until released.
      await settled(outcomes, 2)
      release.resolve()
      const seen = await Promise.all(outcomes)
      const expected = [...Array(accepted).fill('accepted'), 'refused', 'refused']
      t.deepEqual(seen, expected, `warm: ${warm}`)
      await pool.close()
    }
  })
}

test('maxQueue: 0 does not refuse module loads, on a new pool or a busy one', async (t) => {
  t.timeout(scaled(30000))
  const pool = newPool(t, { limit: 1, maxPerChild: 1, maxQueue: 0, minimum: 0 })
  const mod = await invoke.require('./fixtures/jobs', { pool })
  const release = invoke.cancelToken()
  const [held] = await holdMany(mod, 1, release)
  await t.throwsAsync(mod.process(1), { code: 'ERR_INVOKE_QUEUE_FULL' })
  // The load waits for the slot the held call has, but is not refused.
  const loading = invoke.require('./fixtures/echo', { pool })
  release.resolve()
  t.is(await held, 'accepted')
  const echo = await loading
  t.is(await echo.add(1, 2), 3)
})

test('whenRoom() right after a refusal waits for room; it resolves only when a call would be accepted', async (t) => {
  t.timeout(scaled(30000))
  const pool = newPool(t, { limit: 1, maxPerChild: 1, maxQueue: 1 })
  const mod = await invoke.require('./fixtures/jobs', { pool })
  const release = invoke.cancelToken()
  const held = await holdMany(mod, 2, release)
  let room = false
  const waiting = pool.whenRoom().then(() => {
    room = true
  })
  await t.throwsAsync(mod.process(1), { code: 'ERR_INVOKE_QUEUE_FULL' })
  await new Promise((resolve) => setImmediate(resolve))
  t.false(room, 'no room while the slot and the queue are taken')
  release.resolve()
  await waiting
  t.is(await mod.process(2), 2)
  t.deepEqual(await Promise.all(held), ['accepted', 'accepted'])
})

test('stats() counts method calls only: module loads are neither completed nor failed', async (t) => {
  const pool = newPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  await t.throwsAsync(invoke.require('./fixtures/throws-at-load', { pool }))
  t.like(pool.stats(), { completed: 0, failed: 0, running: 0, queued: 0 })
  await echo.add(1, 2)
  await t.throwsAsync(echo.fail('counted'))
  t.like(pool.stats(), { completed: 1, failed: 1, running: 0, queued: 0 })
})
