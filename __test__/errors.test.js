'use strict'
// The error catalogue (lib/errors.js): every code is in the README's table, the scheduler's
// failure kinds map to codes there, option errors carry Node's codes, and the pool's idle timeout
// takes either name.

const fs = require('node:fs')
const path = require('node:path')
const test = require('ava')
const { scaled } = require('./helpers/time')
const fc = require('fast-check')
const invoke = require('..')
const { catalogue, makeError, failureError } = require('../lib/errors')
const { FAILURE_CODES } = require('../lib/protocol')
const { freshPool } = require('./helpers/pools')
const { waitFor } = require('./helpers/processes')

const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8')

/** The codes in the README's "Errors the pool raises" table. */
function readmeTableCodes() {
  const section = README.slice(README.indexOf('### Errors the pool raises'))
  const table = section.slice(0, section.indexOf('\n### '))
  return new Set([...table.matchAll(/^\|[^|]*`(ERR_[A-Z_]+)`/gm)].map((m) => m[1]))
}

test('every code in the catalogue is in the README table, and every code there in the catalogue', (t) => {
  const documented = readmeTableCodes()
  t.deepEqual([...catalogue.keys()].filter((code) => !documented.has(code)), [])
  t.deepEqual([...documented].filter((code) => !catalogue.has(code)), [])
})

test('every failure kind the scheduler reports has a code in the catalogue', (t) => {
  for (const [kind, code] of Object.entries(FAILURE_CODES)) t.true(catalogue.has(code), `${kind} -> ${code}`)
})

test('a failure becomes the error of its code, with its class, the text the scheduler gave and the exit', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(...Object.keys(FAILURE_CODES)),
      fc.string(),
      fc.option(fc.nat()),
      fc.option(fc.nat(255)),
      fc.option(fc.constantFrom('SIGKILL', 'SIGTERM')),
      (type, message, pid, exitCode, signal) => {
        const error = failureError(JSON.stringify({ type, message, pid, exitCode, signal }))
        const code = FAILURE_CODES[type]
        const expected = makeError(code, message)
        if (error.code !== code) throw new Error(`${type}: code ${error.code}`)
        if (error.constructor !== expected.constructor) throw new Error(`${type}: a ${error.constructor.name}`)
        if (error.message !== `invoke-parallel: ${message}`) throw new Error(`${type}: message ${error.message}`)
        if (code !== 'ERR_INVOKE_TIMEOUT' && (error.pid !== pid || error.exitCode !== exitCode || error.signal !== signal)) {
          throw new Error(`${type}: exit ${error.pid} ${error.exitCode} ${error.signal}`)
        }
      },
    ),
  )
  t.pass()
})

test('a failure of a kind nobody knows is ERR_INVOKE_INTERNAL, Object.prototype names included', (t) => {
  for (const type of ['constructor', 'toString', '__proto__', 'new-kind']) {
    t.is(failureError(JSON.stringify({ type, message: 'x' })).code, 'ERR_INVOKE_INTERNAL', type)
  }
})

test('Cancel, Timeout and Retry carry their codes, however they are made', async (t) => {
  t.is(new invoke.Cancel().code, 'ERR_INVOKE_CANCELLED')
  t.is(new invoke.Timeout().code, 'ERR_INVOKE_TIMEOUT')
  t.is(new invoke.Retry('x').code, 'ERR_INVOKE_WORKER_DIED')
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const token = invoke.cancelToken()
  const call = echo.sleep(60000)
  const cancelled = echo({ cancelToken: token }).sleep(60000)
  token.resolve()
  t.is((await t.throwsAsync(cancelled, { instanceOf: invoke.Cancel })).code, 'ERR_INVOKE_CANCELLED')
  t.is((await t.throwsAsync(echo({ timeout: 1 }).sleep(60000), { instanceOf: invoke.Timeout })).code, 'ERR_INVOKE_TIMEOUT')
  await pool.close({ force: true })
  await t.throwsAsync(call, { code: 'ERR_INVOKE_POOL_CLOSED' })
})

/** Option values that are wrong, each with the code and class it must be refused with. */
const BAD_POOL_OPTIONS = [
  [{ limit: '2' }, 'ERR_INVALID_ARG_TYPE', TypeError],
  [{ limit: 0 }, 'ERR_OUT_OF_RANGE', RangeError],
  [{ limit: 1.5 }, 'ERR_OUT_OF_RANGE', RangeError],
  [{ limit: 2, minimum: 3 }, 'ERR_OUT_OF_RANGE', RangeError],
  [{ nope: 1 }, 'ERR_INVALID_ARG_VALUE', TypeError],
  [{ onError: 1 }, 'ERR_INVALID_ARG_TYPE', TypeError],
  [{ timeout: 'x' }, 'ERR_INVALID_ARG_TYPE', TypeError],
  [{ idleTimeout: -1 }, 'ERR_OUT_OF_RANGE', RangeError],
  [{ idleTimeout: 5, timeout: 5 }, 'ERR_INVALID_ARG_VALUE', TypeError],
  [{ cwd: '' }, 'ERR_INVALID_ARG_VALUE', TypeError],
  [{ cwd: 1 }, 'ERR_INVALID_ARG_TYPE', TypeError],
  [{ env: null }, 'ERR_INVALID_ARG_TYPE', TypeError],
  [{ execArgv: [1] }, 'ERR_INVALID_ARG_TYPE', TypeError],
  [{ output: 'loud' }, 'ERR_INVALID_ARG_VALUE', TypeError],
  [{ output: 1 }, 'ERR_INVALID_ARG_TYPE', TypeError],
  [{ maxMemory: 0 }, 'ERR_OUT_OF_RANGE', RangeError],
  [{ maxMessageSize: 10 }, 'ERR_OUT_OF_RANGE', RangeError],
  [5, 'ERR_INVALID_ARG_TYPE', TypeError],
]

test('a bad pool option is refused with its Node code and class, and names the option', (t) => {
  for (const [options, code, Class] of BAD_POOL_OPTIONS) {
    const error = t.throws(() => invoke.pool(options), { instanceOf: Class, code }, JSON.stringify(options))
    t.regex(error.message, /^invoke\.pool: /)
  }
})

test('bad call, require and close arguments carry Node codes', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.throws(() => echo({ noRetry: 1 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => echo({ timeout: -1 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => echo({ cancelToken: 5 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => echo({ other: 1 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  await t.throwsAsync(invoke.require('./fixtures/echo', { pool: {} }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  await t.throwsAsync(invoke.require('./fixtures/echo', { isolated: true, pool }), { code: 'ERR_INVALID_ARG_VALUE' })
  await t.throwsAsync(pool.close({ force: 'yes' }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.cancelToken(5), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
})

test('idleTimeout is the pool idle timeout: an idle worker above minimum is retired after it', async (t) => {
  t.timeout(scaled(30000))
  for (const name of ['idleTimeout', 'timeout']) {
    const pool = freshPool(t, { limit: 2, minimum: 0, [name]: 0 })
    const echo = await invoke.require('./fixtures/echo', { pool })
    await echo.add(1, 2)
    // With no idle time allowed the worker leaves once its call is done (the default keeps it 30 s).
    await waitFor(() => pool.stats().workers === 0, 20000, `the idle worker to leave (${name})`)
    t.pass()
  }
})
