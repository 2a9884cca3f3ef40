'use strict'
// Adaptive dispatch through real workers: what a worker is handed while its calls run
// synchronously, while they await, and when each reply leaves.

const test = require('ava')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { freshPool, scratchDir } = require('./helpers/pools')
const { waitFor } = require('./helpers/processes')

const fixture = require.resolve('./fixtures/dispatch')

function startedCount(dir) {
  return fs.readdirSync(dir).filter((name) => name.startsWith('started-')).length
}

for (const [dispatch, running] of [
  ['adaptive', 4],
  ['eager', 40],
]) {
  test(`bulk synchronous calls, dispatch '${dispatch}': the workers hold ${running} of 40`, async (t) => {
    t.timeout(scaled(60000))
    const pool = freshPool(t, { limit: 2, minimum: 2, dispatch })
    const mod = await invoke.require(fixture, { pool })
    const dir = scratchDir(t, 'dispatch')
    const calls = Array.from({ length: 40 }, (_, n) => mod.holdUntilGo(dir, n))
    // Should an assertion fail, the forced close in teardown rejects these.
    for (const call of calls) call.catch(() => {})
    // Both workers run their first call, which holds them: nothing they could report has left.
    await waitFor(() => startedCount(dir) === 2, 30000, 'a call running on each worker')
    const stats = pool.stats()
    t.is(stats.running, running, JSON.stringify(stats))
    fs.writeFileSync(path.join(dir, 'go'), '')
    const pids = await Promise.all(calls)
    t.is(new Set(pids).size, 2)
    t.is(startedCount(dir), 40)
  })
}

test('the reply of a call that took a while leaves before the next call has run', async (t) => {
  // With replies held to the end of the worker's turn, the first answer would wait for the
  // second call, which waits for the first answer.
  t.timeout(scaled(60000))
  const pool = freshPool(t, { limit: 1, minimum: 1 })
  const mod = await invoke.require(fixture, { pool })
  const dir = scratchDir(t, 'reply')
  const first = mod.spin(5)
  const second = mod.holdUntilGo(dir, 0)
  const pid = await first
  t.false(fs.existsSync(path.join(dir, 'go')))
  fs.writeFileSync(path.join(dir, 'go'), '')
  t.is(await second, pid)
})

test('a worker whose calls do not come back is not handed more: 32 of 200, the other worker does the rest', async (t) => {
  t.timeout(scaled(120000))
  // maxPerChild 0: on slot 1 the calls await until released (its loop idle), on slot 2 they compute 5 ms.
  const pool = freshPool(t, { limit: 2, minimum: 2, maxPerChild: 0 })
  const mod = await invoke.require(fixture, { pool })
  const dir = scratchDir(t, 'stuck')
  const stuck = () => fs.readdirSync(dir).filter((name) => name.startsWith('started-')).length
  let settled = 0
  const calls = Array.from({ length: 200 }, (_, n) => mod.stuckOnFirst(dir, n, 5).then((r) => (settled++, r)))
  await waitFor(() => settled + stuck() === 200, 60000, 'every call to be done or stuck')
  t.true(stuck() <= 32, `the stuck worker was handed ${stuck()}`)
  fs.writeFileSync(path.join(dir, 'go'), '')
  await Promise.all(calls)
})

test('cheap calls do not size a batch of expensive ones: a method never measured goes two at a time', async (t) => {
  t.timeout(scaled(60000))
  const pool = freshPool(t, { limit: 2, minimum: 2 })
  const mod = await invoke.require(fixture, { pool })
  // Measured cheap on both workers (their allowance grows), as `readConfig` before `loadFile`.
  const cheap = await Promise.all(Array.from({ length: 400 }, (_, n) => mod.inc(n)))
  t.deepEqual(cheap, Array.from({ length: 400 }, (_, n) => n + 1))
  const dir = scratchDir(t, 'mixed')
  const calls = Array.from({ length: 300 }, (_, n) => mod.holdUntilGo(dir, n))
  for (const call of calls) call.catch(() => {})
  await waitFor(() => startedCount(dir) === 2, 30000, 'a call running on each worker')
  // Two on each worker (the one running and the next), not a batch sized by the cheap call.
  t.is(pool.stats().running, 4, JSON.stringify(pool.stats()))
  fs.writeFileSync(path.join(dir, 'go'), '')
  const pids = await Promise.all(calls)
  t.is(new Set(pids).size, 2)
})

test('dispatch accepts only its two names', (t) => {
  t.throws(() => invoke.pool({ dispatch: 'lazy' }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE', message: /dispatch/ })
  t.throws(() => invoke.pool({ dispatch: 1 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE', message: /dispatch/ })
  t.notThrows(() => invoke.pool({ dispatch: 'eager', minimum: 0 }).close())
})

test('async calls that compute in their continuations run one after another, not interleaved', async (t) => {
  t.timeout(scaled(60000))
  const pool = freshPool(t, { limit: 1, minimum: 1 })
  const mod = await invoke.require(fixture, { pool })
  // The worker learns from a first such call that its calls compute after they await.
  t.deepEqual(await mod.computeInSteps('warm', 4, 1), ['warm', 'warm', 'warm', 'warm'])
  const [a, b] = await Promise.all([mod.computeInSteps('a', 5, 1), mod.computeInSteps('b', 5, 1)])
  t.deepEqual([...a, ...b], ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b'])
})
