'use strict'

const test = require('ava')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const invoke = require('..')
const { freshPool, scratchDir } = require('./helpers/pools')
const { isAlive, waitFor } = require('./helpers/processes')

/** `count` calls that are all running at once; with maxPerChild 1 that is `count` workers. */
function together(echo, t, count) {
  const dir = scratchDir(t, 'together')
  return Promise.all(Array.from({ length: count }, () => echo.rendezvous(dir, count)))
}


test('bad options are a synchronous TypeError or RangeError naming the option', (t) => {
  t.throws(() => invoke.pool(5), { instanceOf: TypeError, message: /options must be an object/ })
  t.throws(() => invoke.pool({ limit: 0 }), { instanceOf: RangeError, message: /limit/ })
  t.throws(() => invoke.pool({ limit: 1.5 }), { instanceOf: RangeError, message: /limit/ })
  t.throws(() => invoke.pool({ limit: '2' }), { instanceOf: TypeError, message: /limit/ })
  t.throws(() => invoke.pool({ minimum: -1 }), { instanceOf: RangeError, message: /minimum/ })
  t.throws(() => invoke.pool({ limit: 2, minimum: 3 }), { instanceOf: RangeError, message: /minimum/ })
  t.throws(() => invoke.pool({ maxPerChild: -1 }), { instanceOf: RangeError, message: /maxPerChild/ })
  t.throws(() => invoke.pool({ timeout: -5 }), { instanceOf: RangeError, message: /timeout/ })
  t.throws(() => invoke.pool({ timeout: NaN }), { instanceOf: RangeError, message: /timeout/ })
  t.throws(() => invoke.pool({ retries: 'x' }), { instanceOf: TypeError, message: /retries/ })
  t.throws(() => invoke.pool({ cwd: 7 }), { instanceOf: TypeError, message: /cwd/ })
  t.throws(() => invoke.pool({ env: 'PATH=/' }), { instanceOf: TypeError, message: /env/ })
  t.throws(() => invoke.pool({ onError: 'log' }), { instanceOf: TypeError, message: /onError/ })
  t.throws(() => invoke.pool({ limits: 2 }), { instanceOf: TypeError, message: /limits/ })
})

test('minimum workers are spawned at creation; minimum 0 keeps none', async (t) => {
  const two = freshPool(t, { limit: 3, minimum: 2 })
  const none = freshPool(t, { limit: 3, minimum: 0, timeout: 100 })
  // Without a single call, the first pool starts its two workers...
  await waitFor(() => two.stats().idle === 2, 10000, 'two idle workers')
  // ...and the other, made at the same moment, has none.
  t.is(none.stats().workers, 0)
  const echo = await invoke.require('./fixtures/echo', { pool: none })
  t.is(await echo.add(1, 2), 3)
  // Once idle, the worker it started for the call is not kept.
  await waitFor(() => none.stats().workers === 0, 10000, 'the idle worker to be retired')
  t.is(two.stats().workers, 2)
})

test('500 concurrent calls on limit 2 each get their own answer, on at most 2 workers', async (t) => {
  const pool = freshPool(t, { limit: 2 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const inputs = Array.from({ length: 500 }, (_, i) => ({ i, text: `call ${i}` }))
  const [results, pids] = await Promise.all([
    Promise.all(inputs.map((input) => echo.echo(input))),
    Promise.all(Array.from({ length: 20 }, () => echo.sleep(20))),
  ])
  t.deepEqual(results, inputs)
  const distinct = new Set(pids)
  t.true(distinct.size >= 1 && distinct.size <= 2, `pids: ${[...distinct]}`)
})

test('a burst grows the pool to its limit and no further', async (t) => {
  const pool = freshPool(t, { limit: 3, minimum: 1, maxPerChild: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const pids = await together(echo, t, 3)
  t.is(new Set(pids).size, 3)
  const more = await Promise.all(Array.from({ length: 12 }, () => echo.sleep(10)))
  t.true(more.every((pid) => pids.includes(pid)), 'no fourth worker')
})

test('maxPerChild 1 never overlaps calls in a child', async (t) => {
  const pool = freshPool(t, { limit: 2, maxPerChild: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const results = await Promise.all(Array.from({ length: 12 }, () => echo.overlap(30)))
  t.true(results.every((r) => r.seen === 1), JSON.stringify(results))
})

test('async calls overlap in one child with limit 1 and maxPerChild 0', async (t) => {
  t.timeout(scaled(60000))
  const pool = freshPool(t, { limit: 1, maxPerChild: 0 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  // Each call returns only once all 20 have arrived: they can only finish by running at once.
  const pids = await together(echo, t, 20)
  t.is(new Set(pids).size, 1)
})

test('idle children above minimum are retired and reaped; the minimum stays', async (t) => {
  const pool = freshPool(t, { limit: 3, minimum: 1, maxPerChild: 1, timeout: 150 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const pids = [...new Set(await together(echo, t, 3))]
  t.is(pids.length, 3)
  await waitFor(() => pids.filter(isAlive).length === 1, 10000, 'two idle workers to be retired')
  const survivor = pids.find(isAlive)
  t.is(await echo.pid(), survivor)
})

test('timeout Infinity never retires idle children', async (t) => {
  const pool = freshPool(t, { limit: 2, minimum: 0, maxPerChild: 1, timeout: Infinity })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const pids = [...new Set(await together(echo, t, 2))]
  t.is(pids.length, 2)
  // Long past what a finite timeout of this size would allow, both are still the pool's workers.
  await echo.sleep(500)
  const again = await together(echo, t, 2)
  t.deepEqual([...new Set(again)].sort(), [...pids].sort())
})

test('cwd and env reach the workers, and env is the whole environment', async (t) => {
  const dir = os.tmpdir()
  const pool = freshPool(t, { limit: 1, cwd: dir, env: { ONLY_THIS: 'yes', NUMBER: 5 } })
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.is(await echo.cwd(), dir)
  t.is(await echo.env('ONLY_THIS'), 'yes')
  t.is(await echo.env('NUMBER'), '5')
  // On Windows libuv adds the variables a process cannot start without (PATH, SYSTEMROOT, ...)
  // from the parent's environment to any environment it is given.
  if (process.platform !== 'win32') t.is(await echo.env('PATH'), undefined)
})

test('by default workers inherit the parent environment and working directory', async (t) => {
  process.env.INVOKE_PARALLEL_TEST_MARK = 'inherited'
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.is(await echo.env('INVOKE_PARALLEL_TEST_MARK'), 'inherited')
  t.is(await echo.cwd(), process.cwd())
})
