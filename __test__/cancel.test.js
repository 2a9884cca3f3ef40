'use strict'

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { watchedPool, scratchDir } = require('./helpers/pools')
const { waitFor } = require('./helpers/processes')

function setup(t, options = { limit: 1 }) {
  const dir = scratchDir(t, 'cancel')
  const { pool, errors } = watchedPool(t, options)
  return { pool, errors, file: (name) => path.join(dir, name) }
}

async function load(pool) {
  return invoke.require('./fixtures/cancellable', { pool })
}

test('cancelToken() is a Promise that token.resolve() or the init callback resolves', async (t) => {
  const token = invoke.cancelToken()
  t.true(token instanceof Promise)
  let resolved = false
  token.then(() => {
    resolved = true
  })
  token.resolve()
  await token
  t.true(resolved)
  let cancel
  const viaInit = invoke.cancelToken((c) => {
    cancel = c
  })
  cancel()
  await viaInit
  t.pass()
  t.throws(() => invoke.cancelToken('nope'), { instanceOf: TypeError })
})

test('Cancel is an Error; Timeout is a Cancel', (t) => {
  t.true(new invoke.Cancel() instanceof Error)
  t.true(new invoke.Timeout() instanceof invoke.Cancel)
})

for (const [kind, makeToken] of [
  ['invoke.cancelToken', () => {
    const token = invoke.cancelToken()
    token.resolve()
    return token
  }],
  ['an aborted AbortSignal', () => AbortSignal.abort()],
  ['a resolved Promise', () => Promise.resolve()],
  ['a resolved foreign thenable', () => ({ then: (resolve) => resolve() })],
]) {
  test(`a call with ${kind} cancelled before sending rejects with Cancel and never reaches a worker`, async (t) => {
    const { pool, file } = setup(t)
    const mod = await load(pool)
    await t.throwsAsync(mod({ cancelToken: makeToken() }).mark(file('reached')), { instanceOf: invoke.Cancel })
    // The worker runs calls in order: once a later call is back, an earlier one would have run.
    await mod.mark(file('later'))
    t.false(fs.existsSync(file('reached')))
  })
}

test('a queued call cancelled is removed from the queue at once', async (t) => {
  const { pool, file } = setup(t, { limit: 1, maxPerChild: 1 })
  const mod = await load(pool)
  const busy = mod.mark(file('busy'), 400)
  const token = invoke.cancelToken()
  const queued = mod({ cancelToken: token }).mark(file('queued'))
  let busyDone = false
  busy.then(() => {
    busyDone = true
  })
  token.resolve()
  await t.throwsAsync(queued, { instanceOf: invoke.Cancel })
  t.false(busyDone, 'rejected while the worker was still busy')
  await busy
  await mod.mark(file('after'))
  t.false(fs.existsSync(file('queued')))
})

test('a call in flight rejects with Cancel promptly and the worker sees its signal abort', async (t) => {
  const { pool, file } = setup(t)
  const mod = await load(pool)
  const controller = new AbortController()
  const call = mod({ cancelToken: controller.signal }).untilAborted(file('proof'))
  setTimeout(() => controller.abort(new Error('user gave up')), 100)
  const error = await t.throwsAsync(call, { instanceOf: invoke.Cancel })
  t.is(error.cause.message, 'user gave up')
  await waitFor(() => fs.existsSync(file('proof')), 5000, 'the worker to observe the abort')
  t.is(fs.readFileSync(file('proof'), 'utf8'), 'aborted true')
})

test('a plain Promise works as a cancel token', async (t) => {
  const { pool, file } = setup(t)
  const mod = await load(pool)
  const token = new Promise((resolve) => setTimeout(resolve, 100))
  await t.throwsAsync(mod({ cancelToken: token }).untilAborted(file('proof')), { instanceOf: invoke.Cancel })
  await waitFor(() => fs.existsSync(file('proof')), 5000, 'the worker to observe the abort')
})

test('cancelling one call leaves the other calls on the same child intact', async (t) => {
  const { pool, file } = setup(t, { limit: 1, maxPerChild: 0 })
  const mod = await load(pool)
  const token = invoke.cancelToken()
  const others = Array.from({ length: 5 }, (_, i) => mod.sleep(300, i))
  const cancelled = mod({ cancelToken: token }).untilAborted(file('proof'))
  setTimeout(() => token.resolve(), 50)
  await t.throwsAsync(cancelled, { instanceOf: invoke.Cancel })
  const results = await Promise.all(others)
  t.deepEqual(results.map((r) => r.value), [0, 1, 2, 3, 4])
  t.is(new Set(results.map((r) => r.pid)).size, 1)
  t.deepEqual(await mod.sleep(0, 'after'), { value: 'after', pid: results[0].pid }, 'the same worker lives on')
})

test('a cancelled call that ignores its signal gets its worker killed after the grace; its neighbours are retried', async (t) => {
  const { pool, errors } = setup(t, { limit: 1, cancelGrace: 200 })
  const mod = await load(pool)
  const token = invoke.cancelToken()
  const stubborn = mod({ cancelToken: token }).ignoreCancel()
  const neighbour = mod.sleep(600, 'neighbour')
  const firstPid = (await mod.sleep(0, 'probe')).pid
  token.resolve()
  await t.throwsAsync(stubborn, { instanceOf: invoke.Cancel })
  const result = await neighbour
  t.is(result.value, 'neighbour')
  t.not(result.pid, firstPid, 'retried on a new worker')
  t.true(errors.some((e) => /did not stop a cancelled call within 200 ms/.test(e.message)))
})

test('a per-call timeout rejects with Timeout', async (t) => {
  const { pool } = setup(t)
  const mod = await load(pool)
  const error = await t.throwsAsync(mod({ timeout: 100 }).sleep(10000), { instanceOf: invoke.Timeout })
  t.true(error instanceof invoke.Cancel)
  t.regex(error.message, /timed out after 100 ms/)
  t.is((await mod.sleep(0, 'fine')).value, 'fine')
})

test('the timeout counts from dispatch, not from queueing', async (t) => {
  const { pool } = setup(t, { limit: 1, maxPerChild: 1 })
  const mod = await load(pool)
  const first = mod.sleep(600, 'first')
  const second = mod({ timeout: 400 }).sleep(50, 'second')
  t.is((await second).value, 'second')
  t.is((await first).value, 'first')
})

test('the worker-side signal is undefined outside a call and follows the call across awaits', async (t) => {
  const { pool } = setup(t)
  const mod = await load(pool)
  t.is(await mod.signalAtLoad(), 'none')
  t.true(await mod.signalInsideAwait())
})

test('require with a cancelled token rejects with Cancel; a bad token is a TypeError', async (t) => {
  const { pool } = setup(t)
  await t.throwsAsync(invoke.require('./fixtures/cancellable', { pool, cancelToken: AbortSignal.abort() }), {
    instanceOf: invoke.Cancel,
  })
  const token = invoke.cancelToken()
  token.resolve()
  await t.throwsAsync(invoke.require('./fixtures/echo', { pool, cancelToken: token }), { instanceOf: invoke.Cancel })
  await t.throwsAsync(invoke.require('./fixtures/echo', { pool, cancelToken: 5 }), { instanceOf: TypeError })
  const mod = await load(pool)
  t.throws(() => mod({ cancelToken: {} }), { instanceOf: TypeError, message: /cancelToken/ })
  t.throws(() => mod({ timeout: -1 }), { instanceOf: RangeError, message: /timeout/ })
})

test('bound call options layer: proxy(a)(b) has both', async (t) => {
  const { pool } = setup(t)
  const mod = await load(pool)
  const layered = mod({ noRetry: true })({ timeout: 100 })
  await t.throwsAsync(layered.sleep(10000), { instanceOf: invoke.Timeout })
  t.is((await layered.sleep(0, 'quick')).value, 'quick')
})
