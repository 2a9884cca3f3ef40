'use strict'
// pool.stats(): how long calls waited and ran (p50/p90/p99 and more), and the pool's utilisation.
// The scheduler computes them from the times its events happened (crates/core/src/histogram.rs).

const test = require('ava')
const invoke = require('..')

const SUMMARY = ['count', 'mean', 'min', 'max', 'p50', 'p90', 'p99']

test('wait and run times: a call queued behind two others waits about as long as they ran', async (t) => {
  const pool = invoke.pool({ limit: 1, maxPerChild: 1 })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const empty = pool.stats()
  t.deepEqual(Object.keys(empty.waitTime).sort(), [...SUMMARY].sort())
  t.like(empty, { waitTime: { count: 0, p50: 0, p99: 0 }, runTime: { count: 0 } })
  await Promise.all([echo.sleep(50), echo.sleep(50), echo.sleep(50)])
  const { waitTime, runTime, utilization } = pool.stats()
  t.is(waitTime.count, 3)
  t.is(runTime.count, 3)
  // The third call waited while the first two ran, on the same clock: at least two runs' worth.
  // No absolute bound: the parent times a run from its dispatch to its answer, which a loaded
  // machine stretches or (by when the clock is read) shortens against the worker's own timer.
  t.true(runTime.min > 0, `${runTime.min}`)
  t.true(waitTime.max >= 2 * runTime.min - 1, `${JSON.stringify(waitTime)} ${JSON.stringify(runTime)}`)
  for (const s of [waitTime, runTime]) t.true(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max)
  t.true(utilization > 0 && utilization <= 1, `${utilization}`)
})

test('calls that the pool failed, and loads, are not in the times', async (t) => {
  const pool = invoke.pool({ limit: 1, maxPerChild: 1, maxQueue: 0 })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const running = echo.sleep(20)
  await t.throwsAsync(echo.sleep(1), { code: 'ERR_INVOKE_QUEUE_FULL' })
  await running
  await t.throwsAsync(echo.fail('thrown'))
  // The sleep and the call that threw were answered by the worker; the refused one was not.
  t.is(pool.stats().runTime.count, 2)
})

test('stats() after close() stays as it was when the pool closed: utilization stops falling', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  await echo.sleep(20)
  await pool.close()
  const closed = pool.stats()
  t.true(closed.utilization > 0, `${closed.utilization}`)
  // Time passes (a call on another pool) before the next read.
  const other = invoke.pool({ limit: 1 })
  t.teardown(() => other.close({ force: true }))
  await (await invoke.require('./fixtures/echo', { pool: other })).sleep(20)
  t.deepEqual(pool.stats(), closed)
})
