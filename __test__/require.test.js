'use strict'

const test = require('ava')
const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const invoke = require('..')
const pools = require('./helpers/pools')

const freshPool = (t, options) => pools.freshPool(t, { limit: 2, ...options })

test('require resolves relative to the calling file and exposes exported functions', async (t) => {
  const pool = freshPool(t)
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.true(Object.isFrozen(echo))
  const expected = ['add', 'addAsync', 'cwd', 'echo', 'env', 'execArgv', 'fail', 'giveFunction', 'giveSymbol',
    'inspectorUrl', 'log', 'nil', 'nodeOptions', 'nothing', 'overlap', 'pid', 'rejectPlain', 'rendezvous', 'sleep',
    'throwCustom', 'throwNative', 'throwString', 'throwWithCause', 'retain', 'exhaustHeap', 'throwLater',
    'rejectUnhandled', 'heapAfterGc', 'big', 'rss', 'memory']
  t.deepEqual(Object.keys(echo).sort(), expected.sort())
  t.is(echo.notAFunction, undefined)
  t.is(await echo.add(2, 3), 5)
  t.is(await echo.addAsync(2, 3), 5)
  t.is(await echo.nothing(), undefined)
  t.is(await echo.nil(), null)
})

test('the proxy is frozen: methods cannot be replaced or added', async (t) => {
  const pool = freshPool(t)
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.throws(() => {
    'use strict'
    echo.add = () => 0
  }, { instanceOf: TypeError })
  t.throws(() => {
    'use strict'
    echo.extra = 1
  }, { instanceOf: TypeError })
  t.is(await echo.add(1, 1), 2)
})

test('loads are cached per pool, not across pools', async (t) => {
  const a = freshPool(t)
  const b = freshPool(t)
  const first = await invoke.require('./fixtures/echo', { pool: a })
  const again = await invoke.require(path.join(__dirname, 'fixtures', 'echo.js'), { pool: a })
  const other = await invoke.require('./fixtures/echo', { pool: b })
  t.is(first, again)
  t.not(first, other)
})

test('built-in modules and node_modules packages load like require', async (t) => {
  const pool = freshPool(t)
  const os = await invoke.require('node:os', { pool })
  t.is(await os.platform(), process.platform)
  const dep = await invoke.require('fake-dep', { pool })
  t.is(await dep.whoami(), 'fake-dep')
})

test('a bad specifier rejects with the error require would throw, never throws', async (t) => {
  const pool = freshPool(t)
  const missing = invoke.require('./fixtures/does-not-exist', { pool })
  t.true(missing instanceof Promise)
  const error = await t.throwsAsync(missing)
  t.is(error.code, 'MODULE_NOT_FOUND')
  t.regex(error.message, /does-not-exist/)
  t.is((await t.throwsAsync(invoke.require('', { pool }))).code, 'ERR_INVALID_ARG_VALUE')
  t.is((await t.throwsAsync(invoke.require(42, { pool }))).code, 'ERR_INVALID_ARG_TYPE')
  t.is((await t.throwsAsync(invoke.require(undefined, { pool }))).code, 'ERR_INVALID_ARG_TYPE')
  await t.throwsAsync(invoke.require('./fixtures/echo', { pool, bogus: true }), { instanceOf: TypeError, message: /bogus/ })
})

test('a module that throws while loading rejects the require and the pool keeps working', async (t) => {
  const pool = freshPool(t)
  const error = await t.throwsAsync(invoke.require('./fixtures/throws-at-load', { pool }))
  t.true(error instanceof SyntaxError)
  t.is(error.message, 'broken at load time')
  t.is(error.code, 'E_LOAD')
  // Not cached as a failure forever, and other modules load fine on the same workers.
  await t.throwsAsync(invoke.require('./fixtures/throws-at-load', { pool }), { instanceOf: SyntaxError })
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.is(await echo.add(20, 22), 42)
})

test('a then export does not make the proxy a thenable', async (t) => {
  const pool = freshPool(t)
  const mod = await invoke.require('./fixtures/then-export', { pool })
  t.is(await mod.ok(), 'ok')
  t.is(mod.then, undefined)
})

test('proxy(options) binds call options and checks them', async (t) => {
  const pool = freshPool(t)
  const echo = await invoke.require('./fixtures/echo', { pool })
  const bound = echo({ noRetry: true })
  t.true(Object.isFrozen(bound))
  t.is(await bound.add(1, 2), 3)
  t.throws(() => echo({ nope: 1 }), { instanceOf: TypeError, message: /nope/ })
  t.throws(() => echo({ noRetry: 'yes' }), { instanceOf: TypeError, message: /noRetry/ })
})

test('the global pool is shared and created on first use', async (t) => {
  t.is(invoke.globalPool(), invoke.globalPool())
  const echo = await invoke.require('./fixtures/echo')
  t.is(echo, await invoke.require('./fixtures/echo', { pool: invoke.globalPool() }))
  t.is(await echo.echo('global'), 'global')
})

test('a module loaded for its side effects (a register hook) is loaded on every worker first', async (t) => {
  const pool = freshPool(t, { limit: 3, maxPerChild: 1 })
  // As the spec's CoffeeScript example: register in the workers, then load what needs it.
  await invoke.require('./fixtures/register-greeting', { pool })
  const hello = await invoke.require('./fixtures/hello.greeting', { pool })
  t.is(await hello.greet('you'), 'Hello, you')
  // Six calls, one per worker at a time, held until all three workers run one: the two new workers
  // must load the hook before hello.greeting, whatever their start-up speed.
  const release = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-greeting-')), 'release')
  t.teardown(() => fs.rmSync(path.dirname(release), { recursive: true, force: true }))
  const names = ['a', 'b', 'c', 'd', 'e', 'f']
  const calls = Promise.all(names.map((name) => hello.greetWhenReleased(name, release)))
  while (pool.stats().running < 3) await new Promise((resolve) => setTimeout(resolve, 5))
  fs.writeFileSync(release, '')
  const results = await calls
  t.deepEqual(
    results.map((r) => r.text),
    names.map((name) => `Hello, ${name}`),
  )
  t.is(new Set(results.map((r) => r.pid)).size, 3, 'the calls ran on all three workers')
})

test('under --frozen-intrinsics (Error cannot be changed) a relative specifier still resolves against the calling file', async (t) => {
  const { runNode } = require('./helpers/processes')
  const parent = path.join(__dirname, 'fixtures', 'frozen-intrinsics-parent.js')
  const run = await runNode(['--frozen-intrinsics', parent], { cwd: os.tmpdir() })
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, 'resolved from this file\n', run.stderr)
})
