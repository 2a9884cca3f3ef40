'use strict'
// Module loads have a bound and a way back: a load that fails (its workers die, it throws
// anything at all, it never settles) rejects, is never replayed into later workers, and leaves
// the pool's later loads, calls and close() working.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { runNode } = require('./helpers/processes')
const { watchedPool, scratchDir } = require('./helpers/pools')

/** Long enough for a good module to load on a busy machine, short enough for a test to wait out. */
const LOAD_TIMEOUT = 2000

/** A file the fixture logs each of its loads to, and the pool option that tells workers where. */
function loadLog(t) {
  const file = path.join(scratchDir(t, 'loads'), 'log')
  fs.writeFileSync(file, '')
  const count = () => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length
  return { file, count, env: { ...process.env, LOAD_LOG: file } }
}

test('a module that ends its worker while loading fails its require, and is not loaded again by later workers', async (t) => {
  t.timeout(60000)
  const log = loadLog(t)
  // recycleAfter: every call gets a fresh worker, which would replay a remembered load.
  const { pool } = watchedPool(t, { limit: 1, recycleAfter: 1, env: log.env })
  await t.throwsAsync(invoke.require('./fixtures/load-exits', { pool }), { code: 'ERR_INVOKE_WORKER_DIED' })
  const attempts = log.count()
  t.true(attempts >= 1)
  const echo = await invoke.require('./fixtures/echo', { pool })
  const pids = new Set()
  for (let i = 0; i < 5; i++) pids.add(await echo.pid())
  t.is(pids.size, 5, 'five workers in turn')
  t.is(log.count(), attempts, 'no later worker loaded it')
  // And requiring it again is a new attempt, not a cached failure.
  await t.throwsAsync(invoke.require('./fixtures/load-exits', { pool }), { code: 'ERR_INVOKE_WORKER_DIED' })
  t.true(log.count() > attempts)
  t.is(await echo.add(1, 2), 3)
  await pool.close()
})

test('on the global pool, a failed load leaves every later invoke.require working', async (t) => {
  t.timeout(60000)
  const log = loadLog(t)
  const script = path.join(__dirname, 'fixtures', 'global-pool-failed-load.js')
  const run = await runNode([script, log.file], { timeout: 50000 })
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), { failed: 'ERR_INVOKE_WORKER_DIED', sums: 20, other: 'function' })
  // Three attempts, one worker each: never a fourth, whatever came after.
  t.is(log.count(), 3)
})

for (const fixture of ['load-never-settles.js', 'load-never-settles.mjs']) {
  test(`a module that never finishes loading (${fixture}) rejects at loadTimeout, and later loads and close() still work`, async (t) => {
    t.timeout(60000)
    const log = loadLog(t)
    const { pool, errors } = watchedPool(t, { limit: 2, loadTimeout: LOAD_TIMEOUT, env: log.env })
    const before = await invoke.require('./fixtures/echo', { pool })
    await t.throwsAsync(invoke.require(`./fixtures/${fixture}`, { pool }), {
      code: 'ERR_INVOKE_LOAD_TIMEOUT',
      message: new RegExp(`did not finish loading within ${LOAD_TIMEOUT} ms`),
    })
    const after = await invoke.require('./fixtures/strings', { pool })
    t.is(typeof after, 'function')
    t.deepEqual(await Promise.all([before.add(1, 1), before.add(2, 2)]), [2, 4])
    t.true(errors.every((e) => e.code === 'ERR_INVOKE_WORKER_CRASHED' && /did not finish loading/.test(e.message)))
    await pool.close()
    t.pass('close() resolved')
  })
}

test('a load made while another hangs on the same worker waits behind it, then loads on the next worker', async (t) => {
  t.timeout(60000)
  const log = loadLog(t)
  const { pool } = watchedPool(t, { limit: 1, loadTimeout: LOAD_TIMEOUT, env: log.env })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const running = Promise.all([echo.sleep(500), echo.add(1, 2)])
  const hanging = t.throwsAsync(invoke.require('./fixtures/load-never-settles', { pool }), {
    code: 'ERR_INVOKE_LOAD_TIMEOUT',
  })
  const behind = invoke.require('./fixtures/strings', { pool })
  await hanging
  t.is(typeof (await behind), 'function')
  // The calls the stopped worker was running went to its replacement.
  t.is((await running)[1], 3)
  t.is(log.count(), 1, 'the module that hung was never sent to the new worker')
})

test('a graceful close() while a load hangs resolves once the load has timed out', async (t) => {
  t.timeout(60000)
  const log = loadLog(t)
  const { pool } = watchedPool(t, { limit: 1, loadTimeout: LOAD_TIMEOUT, env: log.env })
  const hanging = t.throwsAsync(invoke.require('./fixtures/load-never-settles', { pool }), {
    code: 'ERR_INVOKE_LOAD_TIMEOUT',
  })
  const closed = pool.close()
  await hanging
  await closed
  t.is(pool.stats().workers, 0)
})

test('loadTimeout is checked like the other durations', (t) => {
  t.throws(() => invoke.pool({ loadTimeout: -1 }), { code: 'ERR_OUT_OF_RANGE', message: /loadTimeout/ })
  t.throws(() => invoke.pool({ loadTimeout: '1' }), { code: 'ERR_INVALID_ARG_TYPE', message: /loadTimeout/ })
})

for (const [fixture, thrown] of [
  ['throws-undefined', undefined],
  ['rejects-null', null],
]) {
  test(`a module that throws ${thrown} at load rejects with exactly that, and its worker lives on`, async (t) => {
    const { pool, errors } = watchedPool(t, { limit: 1 })
    const echo = await invoke.require('./fixtures/echo', { pool })
    const pid = await echo.pid()
    const error = await invoke.require(`./fixtures/${fixture}`, { pool }).then(
      () => t.fail('loaded'),
      (e) => e,
    )
    t.is(error, thrown)
    t.is(await echo.pid(), pid, 'the same worker')
    t.deepEqual(errors, [])
    t.is(pool.stats().retried, 0)
  })
}
