'use strict'

const test = require('ava')
const path = require('node:path')
const invoke = require('..')
const { isAlive, runNode } = require('./helpers/processes')

test('an isolated module runs on its own workers, is not cached, and gets its pool options', async (t) => {
  const shared = invoke.pool({ limit: 2 })
  t.teardown(() => shared.close({ force: true }))
  const sharedEcho = await invoke.require('./fixtures/echo', { pool: shared })
  const a = await invoke.require('./fixtures/echo', { isolated: true, options: { limit: 1, env: { ISOLATED: 'a' } } })
  const b = await invoke.require('./fixtures/echo', { isolated: true, options: { limit: 1, env: { ISOLATED: 'b' } } })
  t.teardown(() => Promise.all([invoke.close(a, { force: true }), invoke.close(b, { force: true })]))
  t.not(a, b)
  t.is(await a.env('ISOLATED'), 'a')
  t.is(await b.env('ISOLATED'), 'b')
  const globalEcho = await invoke.require('./fixtures/echo')
  const pids = await Promise.all([a.pid(), b.pid(), sharedEcho.pid(), globalEcho.pid()])
  t.is(new Set(pids).size, 4, `pids: ${pids}`)
})

test('invoke.close(proxy) ends the hidden pool; later calls reject', async (t) => {
  const mod = await invoke.require('./fixtures/echo', { isolated: true })
  const bound = mod({ noRetry: true })
  const pid = await bound.pid()
  await invoke.close(bound)
  t.false(isAlive(pid))
  await t.throwsAsync(mod.pid(), { code: 'ERR_INVOKE_POOL_CLOSED' })
})

test('an isolated proxy is async-disposable', async (t) => {
  const mod = await invoke.require('./fixtures/echo', { isolated: true })
  const pid = await mod.pid()
  await mod[Symbol.asyncDispose]()
  t.false(isAlive(pid))
})

test('invoke.close refuses a proxy of a shared pool; bad isolated options are errors', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const mod = await invoke.require('./fixtures/echo', { pool })
  await t.throwsAsync(invoke.close(mod), { instanceOf: TypeError })
  await t.throwsAsync(invoke.require('./fixtures/echo', { isolated: true, pool }), { instanceOf: TypeError })
  await t.throwsAsync(invoke.require('./fixtures/echo', { options: { limit: 1 } }), { instanceOf: TypeError })
  await t.throwsAsync(invoke.require('./fixtures/echo', { isolated: true, options: { limit: 0 } }), {
    instanceOf: RangeError,
  })
})

test('a failed isolated load closes its pool', async (t) => {
  await t.throwsAsync(invoke.require('./fixtures/throws-at-load', { isolated: true }), { instanceOf: SyntaxError })
})

test('an isolated module whose proxy is no longer referenced takes its workers with it', async (t) => {
  const run = await runNode(['--expose-gc', path.join(__dirname, 'fixtures', 'isolated-gc.js')])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /^gone \d+/)
})
