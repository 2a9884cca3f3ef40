'use strict'

const test = require('ava')
const path = require('node:path')
const invoke = require('..')
const { isAlive, waitFor, runNode } = require('./helpers/processes')

const fixture = (name) => path.join(__dirname, 'fixtures', name)

test('close() lets in-flight calls finish, then ends every worker', async (t) => {
  const pool = invoke.pool({ limit: 2, maxPerChild: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const calls = [echo.sleep(200), echo.sleep(200), echo.sleep(200)]
  const closed = pool.close()
  t.true(pool.closed)
  const pids = await Promise.all(calls)
  await closed
  t.true(pids.every((pid) => !isAlive(pid)), 'workers have exited and been reaped')
  await t.throwsAsync(echo.add(1, 2), { code: 'ERR_INVOKE_POOL_CLOSED' })
  await t.throwsAsync(invoke.require('./fixtures/echo', { pool }), { code: 'ERR_INVOKE_POOL_CLOSED' })
  t.is(pool.close(), closed, 'closing again gives the same promise')
})

test('close({force: true}) rejects in-flight calls and kills the workers', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const pid = await echo.pid()
  const slow = echo.sleep(60000)
  await pool.close({ force: true })
  const error = await t.throwsAsync(slow)
  t.is(error.code, 'ERR_INVOKE_POOL_CLOSED')
  t.false(isAlive(pid))
})

test('a graceful close can be escalated to a forced one', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const slow = echo.sleep(60000)
  const graceful = pool.close()
  const forced = pool.close({ force: true })
  t.is(graceful, forced)
  await forced
  await t.throwsAsync(slow, { code: 'ERR_INVOKE_POOL_CLOSED' })
})

test('Symbol.asyncDispose closes the pool (await using)', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const pid = await echo.pid()
  await pool[Symbol.asyncDispose]()
  t.true(pool.closed)
  t.false(isAlive(pid))
})

test('a script that never closes its pools exits by itself and leaves no worker behind', async (t) => {
  const run = await runNode([fixture('forgetful-parent.js')])
  t.false(run.killed, 'the script had to be killed: something held the event loop open')
  t.is(run.code, 0, run.stderr)
  const pids = JSON.parse(run.stdout)
  t.true(pids.length >= 2)
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000, 'the workers to exit after their parent')
})

test("a worker's console.log and console.error reach the parent's stdout and stderr", async (t) => {
  const marker = `hello from a worker ${Date.now()}`
  const run = await runNode([fixture('console-parent.js'), marker])
  t.is(run.code, 0, run.stderr)
  t.true(run.stdout.includes(marker), run.stdout)
  t.true(run.stderr.includes(`${marker} (stderr)`), run.stderr)
})

test('an internal error reaches onError and never an unhandled rejection', async (t) => {
  const errors = []
  const pool = invoke.pool({ limit: 1, minimum: 1, onError: (e) => errors.push(e) })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const pid = await echo.pid()
  process.kill(pid, 'SIGKILL')
  await waitFor(() => errors.length > 0, 10000, 'onError to hear of the crash')
  t.is(errors[0].code, 'ERR_INVOKE_WORKER_CRASHED')
  t.is(errors[0].pid, pid)
  if (process.platform === 'win32') {
    // No signals there: process.kill ends it by TerminateProcess with exit code 1, all one can see.
    t.is(errors[0].exitCode, 1)
    t.regex(errors[0].message, new RegExp(`pid ${pid} exited with code 1`))
  } else {
    t.is(errors[0].signal, 'SIGKILL')
    t.regex(errors[0].message, new RegExp(`pid ${pid} was killed by SIGKILL`))
  }
  t.is(await echo.add(1, 1), 2, 'the pool replaced the worker')
})
