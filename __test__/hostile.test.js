'use strict'
// Workers that lie to the parent, each case with honest calls on the same pool at the same time:
// the parent survives, every honest call settles with its own answer, close() resolves and no
// descriptor stays open. Serial: the parent's descriptor count is part of what is checked.

const test = require('ava')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const path = require('node:path')
const fc = require('fast-check')
const invoke = require('..')
const { watchedPool } = require('./helpers/pools')
const { STREAM_WINDOW: WINDOW } = require('../lib/protocol')
const { runNode } = require('./helpers/processes')
const { unixTest, onWindows } = require('./helpers/platform')

const FIXTURE = './fixtures/hostile-frames'

function openDescriptors() {
  return fs.readdirSync('/proc/self/fd').length
}

/** A pool with the hostile module loaded, whose reports are collected. */
async function setup(t, options = {}) {
  const { pool, errors } = watchedPool(t, { limit: 3, maxPerChild: 1, ...options })
  const mod = await invoke.require(FIXTURE, { pool, noRetry: true })
  return { pool, mod, errors }
}

/** Honest calls on the pool while a hostile one runs: each answers with its own value. */
function honestCalls(mod, n = 8) {
  return Array.from({ length: n }, (_, i) => mod.echo({ i, text: `honest ${i}` }))
}

async function checkHonest(t, calls) {
  const results = await Promise.all(calls)
  results.forEach(([, value], i) => t.deepEqual(value, { i, text: `honest ${i}` }))
}

/** The descriptors the parent holds for good once it has run a pool (the I/O thread's among them). */
async function settledDescriptors() {
  const pool = invoke.pool({ limit: 1 })
  await invoke.require(FIXTURE, { pool })
  await pool.close()
  return openDescriptors()
}

/** Runs `body` and checks the parent holds no more descriptors once its pool is closed. */
async function withFlatDescriptors(t, body) {
  const before = await settledDescriptors()
  await body()
  t.is(openDescriptors(), before, 'every descriptor a worker sent was handed over or closed')
}

const broke = (errors) => errors.find((e) => /broke the protocol/.test(e.message))

test.serial('a stream item for a call that is not a stream gets the worker killed, not the parent', async (t) => {
  t.timeout(scaled(30000))
  const { pool, mod, errors } = await setup(t)
  const honest = honestCalls(mod)
  const error = await t.throwsAsync(mod.itemFirst(), { instanceOf: invoke.Retry })
  t.regex(broke(errors).message, /stream item for call \d+, whose result is not a stream/)
  await checkHonest(t, honest)
  await pool.close()
})

test.serial('an uncaught-exception frame whose payload does not decode is reported as such', async (t) => {
  t.timeout(scaled(30000))
  const { pool, mod, errors } = await setup(t)
  const honest = honestCalls(mod)
  const error = await t.throwsAsync(mod.fatalGarbage(), { message: /could not be decoded/ })
  t.is(error.code, 'ERR_INVOKE_BAD_ANSWER')
  const report = errors.find((e) => /uncaught exception/.test(e.message))
  t.truthy(report, errors.map((e) => e.message).join('\n'))
  t.regex(report.cause.message, /the worker's uncaught exception could not be decoded/)
  await checkHonest(t, honest)
  await pool.close()
})

unixTest('sends /dev/null as a descriptor and counts /proc/self/fd; Windows: socket-transfers.test.js').serial('a returned "server" that is not a listening socket rejects its call; the descriptor is closed', async (t) => {
  t.timeout(scaled(30000))
  await withFlatDescriptors(t, async () => {
    const { pool, mod } = await setup(t)
    const honest = honestCalls(mod)
    await t.throwsAsync(mod.fakeServer(), { message: /not a listening socket/ })
    await t.throwsAsync(mod.wrongSlot(), { message: /went missing in transfer/ })
    // Those workers kept to the protocol (they answered their own calls, badly): no liar to rule out.
    await checkHonest(t, honest)
    await pool.close()
  })
})

unixTest('sends /dev/null as a descriptor and counts /proc/self/fd; Windows: socket-transfers.test.js').serial('descriptors on a reply that does not decode, or on a frame that cannot carry them, are closed', async (t) => {
  t.timeout(scaled(30000))
  await withFlatDescriptors(t, async () => {
    const { pool, mod, errors } = await setup(t)
    const honest = honestCalls(mod)
    for (let i = 0; i < 5; i++) await t.throwsAsync(mod.descriptorsOnGarbage(3), { message: /could not be decoded/ })
    await t.throwsAsync(mod.descriptorsOnRejection(3), { instanceOf: invoke.Retry })
    // Not necessarily the first breach: a worker whose forged answer ended its call may also be
    // killed for a pace report its shim sends while it still thinks it runs the call.
    t.true(errors.some((e) => /sent descriptors with a Rejected frame/.test(e.message)), errors.map((e) => e.message).join('\n'))
    await checkHonest(t, honest)
    await pool.close()
  })
})

test.serial('a worker that ignores the stream credit window fails its stream; the parent holds at most the window', async (t) => {
  t.timeout(scaled(60000))
  const { pool, mod, errors } = await setup(t)
  const honest = honestCalls(mod)
  const stream = await mod.overrunCredit(20000)
  // Nothing is read until the worker has sent everything it wanted to: all of it arrives at once.
  await new Promise((resolve) => {
    const check = () => (broke(errors) ? resolve() : setTimeout(check, 20))
    check()
  })
  let items = 0
  const error = await t.throwsAsync(async () => {
    for await (const _ of stream) items++
  })
  t.true(error instanceof invoke.Retry, String(error))
  t.true(items <= WINDOW, `${items} items reached the caller`)
  t.regex(broke(errors).message, /more items of call \d+ than the parent had room for/)
  await checkHonest(t, honest)
  await pool.close()
})

for (const kind of ['ready', 'recycle']) {
  test.serial(`a flood of meaningless frames (${kind}) gets the worker killed at the first`, async (t) => {
    t.timeout(scaled(60000))
    const { pool, mod, errors } = await setup(t)
    const honest = honestCalls(mod)
    const error = await t.throwsAsync(mod.flood(kind, kind === 'ready' ? 1e6 : 2), { instanceOf: invoke.Retry })
    t.regex(broke(errors).message, kind === 'ready' ? /ready twice/ : /recycled twice/)
    t.is(errors.filter((e) => /broke the protocol/.test(e.message)).length, 1, 'reported once, not per frame')
    await checkHonest(t, honest)
    await pool.close()
  })
}

test.serial('half a frame, then exit: the call is retried elsewhere', async (t) => {
  t.timeout(scaled(30000))
  const { pool, mod } = await setup(t)
  const honest = honestCalls(mod)
  await t.throwsAsync(mod.partialThenExit({ noRetry: true }), { instanceOf: invoke.Retry })
  await checkHonest(t, honest)
  await pool.close()
})

test.serial('with an uncaughtException handler, a batch entry that fails costs only its call', async (t) => {
  t.timeout(scaled(40000))
  const result = await runNode([path.join(__dirname, 'fixtures', 'hostile-batch-parent.js')], { timeout: 30000 })
  t.false(result.killed, `the parent never finished: ${result.stdout}${result.stderr}`)
  const report = JSON.parse(result.stdout)
  t.is(report.settled, report.calls, JSON.stringify(report))
  t.deepEqual(report.wrong, [])
})

unixTest('it sees the worker blocked in a pipe write through /proc/<pid>/wchan').serial('captured output is flow-controlled: a busy parent blocks a flooding worker instead of buffering', async (t) => {
  t.timeout(scaled(60000))
  const result = await runNode([path.join(__dirname, 'fixtures', 'output-flood-parent.js')], { timeout: 50000 })
  t.false(result.killed, `the parent never finished: ${result.stdout}${result.stderr}`)
  const report = JSON.parse(result.stdout)
  t.true(report.blocked, JSON.stringify(report))
  t.true(report.writtenWhileBusy < 4 * 2 ** 20, JSON.stringify(report))
  t.is(report.lines, report.linesWritten, 'no line was lost')
})

/** Frames a lying worker writes: any kind byte, ids near its own or anywhere, garbage payloads. */
const lyingFrame = fc.record({
  kind: fc.oneof(fc.constantFrom(16, 17, 18, 19, 20, 21, 22), fc.integer({ min: 0, max: 127 })),
  offset: fc.option(fc.integer({ min: -3, max: 3 }), { nil: undefined, freq: 1 }),
  call: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
  module: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) }),
  payload: fc.oneof(
    fc.constant([]),
    fc.uint8Array({ maxLength: 48 }).map((bytes) => [...bytes]),
    fc.jsonValue({ maxDepth: 2 }).map((value) => [...require('../lib/wire').encode(value)]),
  ),
  fds: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
})
const lie = fc.record({
  frames: fc.array(lyingFrame, { maxLength: 6 }),
  tail: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }).map((b) => [...b]) }),
  exit: fc.boolean(),
})

// Windows has no descriptors to count (no /proc; under wine, /proc/self/fd lists wine's own).
const countsDescriptors = !onWindows
const lies = `generated lies: the parent survives, honest calls settle right, close() resolves${countsDescriptors ? ', no descriptor stays open' : ' [descriptors not counted on Windows: no /proc/self/fd]'}`
test.serial(lies, async (t) => {
  const runs = Number(process.env.HOSTILE_RUNS) || 20
  t.timeout(runs * 15000)
  const before = countsDescriptors ? await settledDescriptors() : null
  await fc.assert(
    fc.asyncProperty(lie, async (lie) => {
      const pool = invoke.pool({ limit: 3, maxPerChild: 1, maxMessageSize: 2 ** 20, cancelGrace: 200, onError: () => {} })
      try {
        const mod = await invoke.require(FIXTURE, { pool, noRetry: true })
        // A lie that leaves a frame half written holds its own call until its time limit.
        const liar = mod({ timeout: 2000 }).lie(lie)
        const honest = Array.from({ length: 4 }, (_, i) => mod.taggedEcho({ i }))
        const outcomes = await Promise.allSettled([liar, ...honest])
        // Every call settled (allSettled returned). An honest echo is the call's own; a worker may
        // still lie about a call it was actually given, which no parent can tell from the truth.
        outcomes.slice(1).forEach((outcome, i) => {
          if (outcome.status === 'fulfilled' && outcome.value?.honestEchoFrom !== undefined) {
            t.deepEqual(outcome.value.value, { i })
          }
        })
      } finally {
        // A worker that reported an uncaught exception and stays on is the pool's exit deadline's to end.
        await pool.close({ force: true })
      }
    }),
    { numRuns: runs },
  )
  if (countsDescriptors) t.is(openDescriptors(), before, 'every descriptor the liars sent was handed over or closed')
})
