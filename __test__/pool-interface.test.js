'use strict'
// invoke.require accepts any object implementing invoke.loadModule and invoke.callMethod: what a
// remote or queue-backed pool builds on. Here an adapter forwards to a real pool and records what
// crosses it, so the test sees exactly the contract an adapter is given.

const test = require('ava')
const path = require('node:path')
const invoke = require('..')

function recordingAdapter(t) {
  const inner = invoke.pool({ limit: 1 })
  t.teardown(() => inner.close({ force: true }))
  const seen = []
  const adapter = {
    closed: false,
    [invoke.loadModule](resolvedPath, options) {
      seen.push(['load', resolvedPath, options])
      return inner[invoke.loadModule](resolvedPath, options)
    },
    [invoke.callMethod](moduleId, method, args, options) {
      seen.push(['call', method, args, options])
      return inner[invoke.callMethod](moduleId, method, args, options)
    },
  }
  return { adapter, seen }
}

test('a pool adapter gets the resolved path, then each call with its bound options', async (t) => {
  const { adapter, seen } = recordingAdapter(t)
  const echo = await invoke.require('./fixtures/echo', { pool: adapter })
  t.is(await echo.add(2, 3), 5)
  t.is(await echo({ timeout: 5000 }).add(1, 1), 2)
  t.deepEqual(seen, [
    ['load', path.join(__dirname, 'fixtures', 'echo.js'), { noRetry: false }],
    ['call', 'add', [2, 3], {}],
    ['call', 'add', [1, 1], { timeout: 5000 }],
  ])
  t.is(await invoke.require('./fixtures/echo', { pool: adapter }), echo, 'loads are cached per adapter')
})

test('a closed adapter rejects new requires; something that is not a pool is a TypeError', async (t) => {
  const { adapter } = recordingAdapter(t)
  adapter.closed = true
  await t.throwsAsync(invoke.require('./fixtures/echo', { pool: adapter }), { code: 'ERR_INVOKE_POOL_CLOSED' })
  for (const pool of [{}, { [invoke.loadModule]: () => {} }, null, 'pool']) {
    await t.throwsAsync(invoke.require('./fixtures/echo', { pool }), { instanceOf: TypeError, message: /pool must be/ })
  }
})

test('the protocol symbols are registered, so an adapter built against another copy of the package fits', (t) => {
  t.is(invoke.loadModule, Symbol.for('invoke-parallel.loadModule'))
  t.is(invoke.callMethod, Symbol.for('invoke-parallel.callMethod'))
})
