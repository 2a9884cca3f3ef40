'use strict'
// Workers that do not leave when asked, or never become ready: the pool does not wedge on them.

const test = require('ava')
const { unixTest } = require('./helpers/platform')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const invoke = require('..')
const { isAlive, waitFor } = require('./helpers/processes')

const fixture = (name) => path.join(__dirname, 'fixtures', name)

function blockFile(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-block-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return path.join(dir, 'block')
}

/** Pool options whose workers' starts hang on a `--require` preload once `block` exists. */
function hangingStarts(block) {
  return { execArgv: ['--require', fixture('blocks-when-marked.js')], env: { ...process.env, INVOKE_TEST_BLOCK_FILE: block } }
}

const leavers = [
  ['whose exit handler spins (and who ignores SIGTERM)', 'exit-spins.js', test],
  ['that stops itself (SIGSTOP) on its way out', 'exit-stops.js', unixTest('there is no SIGSTOP to stop itself with')],
]
const retirements = [
  ['recycled (recycleAfter)', { recycleAfter: 1 }],
  ['retired for idleness', { minimum: 0, timeout: 0 }],
]

for (const [how, file, leaverTest] of leavers) {
  for (const [why, options] of retirements) {
    leaverTest(`a worker ${how}, ${why}, is ended: the next call settles and close() resolves`, async (t) => {
      t.timeout(scaled(30000))
      const errors = []
      const pool = invoke.pool({ limit: 1, ...options, onError: (error) => errors.push(error) })
      const mod = await invoke.require(fixture(file), { pool })
      const first = await mod.pid()
      // Retired (idle or recycled) and on its way out: neither idle nor busy, still counted.
      await waitFor(() => pool.stats().idle === 0 && pool.stats().busy === 0, 10000, 'the worker to be retired')
      const second = await mod.pid()
      t.not(second, first, 'the next call ran on a new worker')
      t.false(isAlive(first), 'the worker that would not leave is gone')
      await pool.close()
      t.false(isAlive(second))
      t.deepEqual(errors, [], 'a worker asked to leave is not news when it has to be helped')
    })
  }
}

test('a worker whose exit handler spins after an uncaught exception is ended; the next call settles', async (t) => {
  t.timeout(scaled(30000))
  const errors = []
  const pool = invoke.pool({ limit: 1, onError: (error) => errors.push(error) })
  const mod = await invoke.require(fixture('exit-spins.js'), { pool })
  const first = await mod.throwLater()
  await waitFor(() => errors.length > 0, 10000, 'onError to hear of the uncaught exception')
  const second = await mod.pid()
  t.not(second, first)
  t.false(isAlive(first))
  t.regex(errors[0].message, /uncaught exception/)
  await pool.close()
})

test('a forced close resolves with a worker that will not leave', async (t) => {
  t.timeout(scaled(30000))
  const pool = invoke.pool({ limit: 1, recycleAfter: 1 })
  const mod = await invoke.require(fixture('exit-spins.js'), { pool })
  const pid = await mod.pid()
  await pool.close({ force: true })
  t.false(isAlive(pid))
})

test('a call with a timeout, waiting on a worker whose --require preload hangs, times out; close() resolves', async (t) => {
  t.timeout(scaled(30000))
  const block = blockFile(t)
  const pool = invoke.pool({ limit: 1, recycleAfter: 1, ...hangingStarts(block) })
  const echo = await invoke.require(fixture('echo.js'), { pool })
  fs.writeFileSync(block, '')
  // This call recycles the worker; its replacement never becomes ready.
  t.is(typeof (await echo.pid()), 'number')
  await t.throwsAsync(echo({ timeout: 300 }).pid(), { instanceOf: invoke.Timeout, message: /timed out after 300 ms/ })
  await pool.close()
})

test('a worker that does not become ready within startTimeout is a failed start, counted against retries', async (t) => {
  t.timeout(scaled(30000))
  const block = blockFile(t)
  fs.writeFileSync(block, '')
  const errors = []
  const pool = invoke.pool({
    limit: 1,
    minimum: 0,
    retries: 1,
    startTimeout: 300,
    ...hangingStarts(block),
    onError: (error) => errors.push(error),
  })
  const error = await t.throwsAsync(invoke.require(fixture('echo.js'), { pool }), { code: 'ERR_INVOKE_WORKER_START' })
  t.regex(error.message, /\(2 attempts\).*did not become ready within 300 ms/)
  t.is(errors.length, 1)
  await pool.close()
})

test('a call with a timeout on a worker whose module load hangs times out; close() resolves', async (t) => {
  t.timeout(scaled(30000))
  const block = blockFile(t)
  const pool = invoke.pool({
    limit: 1,
    recycleAfter: 1,
    cancelGrace: 200,
    env: { ...process.env, INVOKE_TEST_BLOCK_FILE: block },
    onError: () => {},
  })
  const mod = await invoke.require(fixture('blocks-when-marked.js'), { pool })
  fs.writeFileSync(block, '')
  t.is(typeof (await mod.pid()), 'number')
  // The new worker hangs loading the module before this call.
  await t.throwsAsync(mod({ timeout: 300 }).pid(), { instanceOf: invoke.Timeout })
  await pool.close()
})

test('startTimeout is checked like the other durations', (t) => {
  t.throws(() => invoke.pool({ startTimeout: -1 }), { instanceOf: RangeError, message: /startTimeout/ })
  t.throws(() => invoke.pool({ startTimeout: '1' }), { instanceOf: TypeError, message: /startTimeout/ })
})
