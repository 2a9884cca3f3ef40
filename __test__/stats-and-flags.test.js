'use strict'

const test = require('ava')
const path = require('node:path')
const invoke = require('..')
const { waitFor, runNode } = require('./helpers/processes')

test('pool.stats() counts workers, queue, running, completed, failed and retried', async (t) => {
  const pool = invoke.pool({ limit: 1, maxPerChild: 1, onError: () => {} })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const keys = ['workers', 'busy', 'idle', 'queued', 'running', 'completed', 'failed', 'retried']
  keys.push('waitTime', 'runTime', 'utilization')
  t.deepEqual(Object.keys(pool.stats()).sort(), keys.sort())
  const slow = [echo.sleep(400), echo.sleep(10), echo.sleep(10)]
  await waitFor(() => pool.stats().queued === 2, 10000, 'two queued calls')
  t.like(pool.stats(), { workers: 1, busy: 1, idle: 0, running: 1 })
  await Promise.all(slow)
  await t.throwsAsync(echo.fail('counted'))
  const pid = await echo.pid()
  const dying = echo.sleep(10000)
  await waitFor(() => pool.stats().running === 1, 10000, 'the call to run')
  process.kill(pid, 'SIGKILL')
  await waitFor(() => pool.stats().retried === 1, 10000, 'the retry to be counted')
  await pool.close({ force: true })
  await t.throwsAsync(dying)
  // 3 sleeps and the pid call completed (the load is not a call); the throw and the force-closed
  // call failed.
  t.like(pool.stats(), { completed: 4, failed: 2, retried: 1, queued: 0, running: 0 })
})

test('workers get the parent Node flags minus inspector flags, or execArgv when given', async (t) => {
  const run = await runNode([
    '--inspect=127.0.0.1:0',
    '--max-old-space-size=123',
    path.join(__dirname, 'fixtures', 'inspect-parent.js'),
  ])
  t.is(run.code, 0, run.stderr)
  const report = JSON.parse(run.stdout)
  t.deepEqual(report.execArgv, ['--max-old-space-size=123'])
  t.is(report.inspector, null, 'no worker inspector: no port clash')

  const pool = invoke.pool({ limit: 1, execArgv: ['--stack-size=900'] })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.deepEqual(await echo.execArgv(), ['--stack-size=900'])
  t.throws(() => invoke.pool({ execArgv: '--x' }), { instanceOf: TypeError, message: /execArgv/ })
})

test('inspector flags in NODE_OPTIONS are not passed on either', async (t) => {
  const pool = invoke.pool({ limit: 1, env: { ...process.env, NODE_OPTIONS: '--inspect-port 9330 --no-warnings' } })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.is(await echo.nodeOptions(), '--no-warnings')
})

test('a pool made under `node -e` runs the worker module, not the parent script again', async (t) => {
  const script = `
    const invoke = require(${JSON.stringify(path.join(__dirname, '..'))})
    invoke.require(${JSON.stringify(path.join(__dirname, 'fixtures', 'echo.js'))})
      .then((echo) => echo.execArgv())
      .then((argv) => process.stdout.write(JSON.stringify(argv)))
  `
  const run = await runNode(['-e', script], { timeout: 20000 })
  t.false(run.killed)
  t.deepEqual(JSON.parse(run.stdout), [])
})
