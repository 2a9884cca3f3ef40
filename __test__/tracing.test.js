'use strict'
// diagnostics_channel: what a tracer subscribed in the parent sees of calls, loads and workers,
// and the traceparent it sets crossing into the worker (lib/tracing.js, lib/worker/traced-call.js).

const test = require('ava')
const dc = require('node:diagnostics_channel')
const fc = require('fast-check')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const invoke = require('..')
const { validTraceparent } = require('../lib/traceparent')

const calls = dc.tracingChannel('invoke-parallel:call')
const loads = dc.tracingChannel('invoke-parallel:load')

/** Subscribes `handlers` to a tracing channel for the test's length. */
function listen(t, channel, handlers) {
  channel.subscribe(handlers)
  t.teardown(() => channel.unsubscribe(handlers))
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

// ava runs a file's tests one at a time (test.serial): the channels are process-wide.
test.serial('a call is published start, end, asyncStart, asyncEnd with where and how it ran', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  const events = []
  listen(t, calls, {
    start: (m) => {
      events.push('start')
      m.traceparent = TRACEPARENT
    },
    end: () => events.push('end'),
    asyncStart: (m) => events.push(['asyncStart', { ...m, pool: m.pool === pool }]),
    asyncEnd: () => events.push('asyncEnd'),
    error: (m) => events.push(['error', m.error.message]),
  })
  const pid = await traced.pid()
  t.is(await traced.add(2, 3), 5)
  const [start, end, [, message], asyncEnd] = events.slice(4)
  t.deepEqual([start, end, asyncEnd], ['start', 'end', 'asyncEnd'])
  t.like(message, { module: require.resolve('./fixtures/traced'), method: 'add', pool: true, workerPid: pid, attempt: 1 })
  t.like(message, { outcome: 'resolved', result: 5, traceparent: TRACEPARENT, arguments: [2, 3] })
  t.true(message.waitMs >= 0 && message.runMs >= 0)
})

test.serial('the traceparent a subscriber sets reaches the worker, its channel and its store', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  listen(t, calls, { start: (m) => (m.traceparent = TRACEPARENT) })
  t.is(await traced.context(), TRACEPARENT)
  await t.throwsAsync(traced.fail('nope'), { message: 'nope' })
  const seen = await traced.seen()
  t.deepEqual(seen.slice(0, 4), [
    ['start', 'context', TRACEPARENT, 'string'],
    ['end', 'context'],
    ['asyncStart', 'context', TRACEPARENT],
    ['asyncEnd', 'context'],
  ])
  t.deepEqual(seen.slice(4, 9), [
    ['start', 'fail', TRACEPARENT, 'string'],
    ['end', 'fail'],
    ['error', 'fail', 'nope'],
    ['asyncStart', 'fail', 'nope'],
    ['asyncEnd', 'fail'],
  ])
})

test.serial('the traceparent call option crosses with or without a subscriber, who sees it first', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  t.is(await traced({ traceparent: TRACEPARENT }).context(), TRACEPARENT)
  const seen = []
  const mine = '00-11111111111111111111111111111111-2222222222222222-00'
  listen(t, calls, {
    start: (m) => {
      seen.push(m.traceparent)
      m.traceparent = mine
    },
  })
  t.is(await traced({ traceparent: `${TRACEPARENT}-extra` }).context(), mine)
  t.deepEqual(seen, [TRACEPARENT])
})

test('a traceparent call option that is not one is refused at once, with a code', (t) => {
  // What a proxy checks its options with, `proxy(options)`.
  const { callOptions } = require('../lib/options')
  t.throws(() => callOptions({ traceparent: 42 }), { code: 'ERR_INVALID_ARG_TYPE', instanceOf: TypeError })
  for (const bad of ['', 'x', TRACEPARENT.toUpperCase(), '00-00000000000000000000000000000000-b7ad6b7169203331-01']) {
    t.throws(() => callOptions({ traceparent: bad }), { code: 'ERR_INVALID_ARG_VALUE' })
  }  // Any text: taken as the W3C fields it starts with, or refused with a code; never anything else.
  const hex = (n) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n })
  const shaped = fc.tuple(hex(2), hex(32), hex(16), hex(2), fc.string()).map(([v, tr, sp, f, rest]) => `${v}-${tr}-${sp}-${f}${rest}`)
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), shaped), (text) => {
      let taken
      try {
        taken = callOptions({ traceparent: text }).traceparent
      } catch (err) {
        return err.code === 'ERR_INVALID_ARG_VALUE'
      }
      return text.startsWith(taken) && /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(taken)
    }),
  )
})

test.serial('the traceparent crosses with arguments of every encoding: JSON, V8, large strings apart', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  listen(t, calls, { start: (m) => (m.traceparent = TRACEPARENT) })
  for (const args of [[{ a: 1 }], [new Map([[1, 2n]])], ['x'.repeat(1 << 20)], ['x'.repeat(1 << 20), new Set([1])]]) {
    t.is(await traced.context(...args), TRACEPARENT)
  }
})

test.serial('without a subscriber in the parent, nothing crosses: the worker sees no traceparent', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  t.is(await traced.context(), null)
  t.deepEqual((await traced.seen())[0], ['start', 'context', null, 'string'])
})

test.serial('in the worker, a batch of invoke.map is published as the method it runs, with its items', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  const results = []
  for await (const value of invoke.map(traced.add, [1, 2, 3])) results.push(value)
  t.deepEqual(results.map(Number.isNaN), [true, true, true], 'add(item) with one argument')
  // Every call but this one (`seen`) ran a batch of the map.
  const starts = (await traced.seen()).filter(([event, method]) => event === 'start' && method !== 'seen')
  t.true(starts.length >= 1)
  t.true(starts.every(([, method]) => method === 'add'), JSON.stringify(starts))
})

test.serial('a subscriber that freezes the message or makes its fields throw costs the trace, not the call', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  const throwing = (m) => {
    for (const key of ['traceparent', 'outcome', 'result', 'error', 'workerPid', 'attempt', 'waitMs', 'runMs']) {
      Object.defineProperty(m, key, {
        get() {
          throw new Error(`reading ${key}`)
        },
        set() {
          throw new Error(`writing ${key}`)
        },
        configurable: false,
      })
    }
  }
  for (const spoil of [Object.freeze, Object.preventExtensions, throwing]) {
    const handlers = { start: spoil }
    listen(t, calls, handlers)
    t.is(await traced.add(20, 22), 42)
    await t.throwsAsync(traced.fail('still its own error'), { message: 'still its own error' })
    calls.unsubscribe(handlers)
  }
})

test.serial('a failed call says why: rejected by its function, failed by the pool, cancelled', async (t) => {
  const pool = invoke.pool({ limit: 1, onError: () => {} })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  const ended = []
  listen(t, calls, { asyncEnd: (m) => ended.push([m.method, m.outcome, m.error?.code ?? null]) })
  await t.throwsAsync(traced.fail('thrown'))
  await t.throwsAsync(traced({ noRetry: true }).exit())
  const controller = new AbortController()
  const cancelled = traced({ cancelToken: controller.signal }).context()
  controller.abort()
  await t.throwsAsync(cancelled)
  t.deepEqual(ended, [
    ['fail', 'rejected', null],
    ['exit', 'failed', 'ERR_INVOKE_WORKER_DIED'],
    ['context', 'cancelled', ended[2]?.[2]],
  ])
})

test.serial('a retried call says the attempt that answered, on the worker that did', async (t) => {
  const pool = invoke.pool({ limit: 1, onError: () => {} })
  t.teardown(() => pool.close({ force: true }))
  const mod = await invoke.require('./fixtures/dies-once', { pool })
  const ended = []
  listen(t, calls, { asyncEnd: (m) => ended.push(m) })
  const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'traced-')), 'marker')
  const pid = await mod.exitOnce(marker)
  t.not(Number(fs.readFileSync(marker, 'utf8')), pid)
  t.like(ended[0], { method: 'exitOnce', outcome: 'resolved', attempt: 2, workerPid: pid })
})

test.serial('a worker-side wrap runs the call once in its context; one that does not run it costs only the context', async (t) => {
  const pool = invoke.pool({ limit: 1, onError: () => {} })
  t.teardown(() => pool.close({ force: true }))
  const wrapped = await invoke.require('./fixtures/wrapped', { pool })
  t.deepEqual(await wrapped.inContext(), { context: 'wrapped', runs: 1 })
  t.deepEqual(await wrapped.never(), { context: null, runs: 2 })
  t.deepEqual(await wrapped.late(), { context: null, runs: 3 })
  // A second run() runs nothing: the first result again.
  t.deepEqual(await wrapped.twice(), { context: null, runs: 4 })
  await t.throwsAsync(wrapped.throws(), { message: 'the wrap threw' })
  t.deepEqual(await wrapped.frozen(), { context: null, runs: 5 }, 'a frozen message')
  t.deepEqual(await wrapped.plain(), { context: null, runs: 6 }, 'the worker survived every wrap, the late one included')
})

test.serial('a flood of traced calls whose worker dies midway: each ends once, with how', async (t) => {
  const pool = invoke.pool({ limit: 2, onError: () => {} })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  const ends = new Map()
  listen(t, calls, {
    start: (m) => (m.traceparent = TRACEPARENT),
    asyncEnd: (m) => ends.set(m, (ends.get(m) ?? 0) + 1),
  })
  await fc.assert(
    fc.asyncProperty(fc.array(fc.nat(9), { minLength: 1, maxLength: 200 }), fc.nat(199), async (sleeps, at) => {
      ends.clear()
      // Calls that return at once and calls that await, one of them ending its worker.
      const pending = sleeps.map((n, i) =>
        i === at % sleeps.length ? traced({ noRetry: true }).exit() : n % 2 === 0 ? traced.add(n, 1) : traced.context(),
      )
      const settled = await Promise.allSettled(pending)
      t.is(ends.size, sleeps.length)
      for (const [m, count] of ends) {
        t.is(count, 1)
        if (m.outcome === 'resolved') t.true(Number.isInteger(m.workerPid) && m.attempt >= 1 && m.runMs >= 0 && m.waitMs >= 0)
        else t.is(m.outcome, 'failed')
      }
      t.is(settled.filter((s) => s.status === 'fulfilled').length, [...ends.keys()].filter((m) => m.outcome === 'resolved').length)
    }),
    { numRuns: 8 },
  )
  t.true(Number.isInteger(await traced.pid()), 'the pool replaced its workers and goes on')
})

test.serial('module loads are published on invoke-parallel:load', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const events = []
  listen(t, loads, {
    start: (m) => events.push(['start', m.module, m.pool === pool]),
    asyncEnd: (m) => events.push(['asyncEnd', m.module, m.result?.names?.includes('add') ?? m.error?.code]),
  })
  await invoke.require('./fixtures/traced', { pool })
  const file = require.resolve('./fixtures/traced')
  t.deepEqual(events, [
    ['start', file, true],
    ['asyncEnd', file, true],
  ])
})

test.serial('worker processes are published as they start and exit', async (t) => {
  const spawned = []
  const exited = []
  const onSpawn = (m) => spawned.push(m)
  const onExit = (m) => exited.push(m)
  dc.subscribe('invoke-parallel:worker-spawn', onSpawn)
  dc.subscribe('invoke-parallel:worker-exit', onExit)
  t.teardown(() => {
    dc.unsubscribe('invoke-parallel:worker-spawn', onSpawn)
    dc.unsubscribe('invoke-parallel:worker-exit', onExit)
  })
  const pool = invoke.pool({ limit: 1, onError: () => {} })
  const traced = await invoke.require('./fixtures/traced', { pool })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const first = await traced.pid()
  await t.throwsAsync(traced({ noRetry: true }).exit())
  const second = await traced.pid()
  // An uncaught exception ends the worker by itself: a death too.
  await t.throwsAsync(echo.throwLater('uncaught'))
  const third = await traced.pid()
  await pool.close()
  const mine = (list) => list.filter((m) => m.pool === pool)
  t.deepEqual(
    mine(spawned).map((m) => [m.pid, m.workerId]),
    [
      [first, 1],
      [second, 1],
      [third, 1],
    ],
  )
  t.deepEqual(
    mine(exited).map((m) => [m.pid, m.workerId, m.exitCode, m.signal, m.expected]),
    [
      [first, 1, 3, null, false],
      [second, 1, 70, null, false],
      [third, 1, 0, null, true],
    ],
  )
})

test('a traceparent crosses only if it is one: the W3C fields, else nothing', (t) => {
  t.is(validTraceparent(TRACEPARENT), TRACEPARENT)
  t.is(validTraceparent(`${TRACEPARENT}-later-version-fields`), TRACEPARENT)
  for (const bad of [undefined, 42, '', TRACEPARENT.toUpperCase(), `ff${TRACEPARENT.slice(2)}`]) {
    t.is(validTraceparent(bad), undefined)
  }
  t.is(validTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01'), undefined)
  t.is(validTraceparent('00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01'), undefined)
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => {
      const valid = validTraceparent(text)
      return valid === undefined || /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(valid)
    }),
  )
})

test.serial('a subscriber that sets a bad traceparent costs the trace, not the call', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require('./fixtures/traced', { pool })
  const throwing = (m) =>
    Object.defineProperty(m, 'traceparent', {
      get() {
        throw new Error('a getter that throws')
      },
      set() {},
    })
  for (const bad of [{ toString: () => TRACEPARENT }, 'x'.repeat(10000), '00-zz', Symbol('x'), throwing]) {
    const set = (m) => (typeof bad === 'function' ? bad(m) : (m.traceparent = bad))
    calls.start.subscribe(set)
    try {
      t.is(await traced.context(), null)
    } finally {
      calls.start.unsubscribe(set)
    }
  }
})

