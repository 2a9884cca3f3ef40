'use strict'
// Workers that lie to the parent, each case with honest calls on the same pool at the same time:
// the parent survives, every honest call settles with its own answer, close() resolves and no
// descriptor stays open. Serial: the parent's descriptor count is part of what is checked.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { WINDOW } = require('../lib/stream')
const { runNode } = require('./helpers/processes')

const FIXTURE = './fixtures/hostile-frames'

function openDescriptors() {
  return fs.readdirSync('/proc/self/fd').length
}

/** A pool with the hostile module loaded, whose reports are collected. */
async function setup(t, options = {}) {
  const errors = []
  const pool = invoke.pool({ limit: 3, maxPerChild: 1, onError: (e) => errors.push(e), ...options })
  t.teardown(() => pool.close({ force: true }))
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

/** Runs `body` and checks the parent holds no more descriptors once its pool is closed. */
async function withFlatDescriptors(t, body) {
  const before = openDescriptors()
  await body()
  t.is(openDescriptors(), before, 'every descriptor a worker sent was handed over or closed')
}

const broke = (errors) => errors.find((e) => /broke the protocol/.test(e.message))

test.serial('a stream item for a call that is not a stream gets the worker killed, not the parent', async (t) => {
  t.timeout(30000)
  const { pool, mod, errors } = await setup(t)
  const honest = honestCalls(mod)
  const error = await t.throwsAsync(mod.itemFirst(), { instanceOf: invoke.Retry })
  t.regex(broke(errors).message, /stream item for call \d+, whose result is not a stream/)
  await checkHonest(t, honest)
  await pool.close()
})

test.serial('an uncaught-exception frame whose payload does not decode is reported as such', async (t) => {
  t.timeout(30000)
  const { pool, mod, errors } = await setup(t)
  const honest = honestCalls(mod)
  const error = await t.throwsAsync(mod.fatalGarbage(), { message: /could not be decoded/ })
  t.is(error.code, undefined)
  const report = errors.find((e) => /uncaught exception/.test(e.message))
  t.truthy(report, errors.map((e) => e.message).join('\n'))
  t.regex(report.cause.message, /the worker's uncaught exception could not be decoded/)
  await checkHonest(t, honest)
  await pool.close()
})

test.serial('a returned "server" that is not a listening socket rejects its call; the descriptor is closed', async (t) => {
  t.timeout(30000)
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

test.serial('descriptors on a reply that does not decode, or on a frame that cannot carry them, are closed', async (t) => {
  t.timeout(30000)
  await withFlatDescriptors(t, async () => {
    const { pool, mod, errors } = await setup(t)
    const honest = honestCalls(mod)
    for (let i = 0; i < 5; i++) await t.throwsAsync(mod.descriptorsOnGarbage(3), { message: /could not be decoded/ })
    await t.throwsAsync(mod.descriptorsOnRejection(3), { instanceOf: invoke.Retry })
    t.regex(broke(errors).message, /sent descriptors with a Rejected frame/)
    await checkHonest(t, honest)
    await pool.close()
  })
})

test.serial('a worker that ignores the stream credit window fails its stream; the parent holds at most the window', async (t) => {
  t.timeout(60000)
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
    t.timeout(60000)
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
  t.timeout(30000)
  const { pool, mod } = await setup(t)
  const honest = honestCalls(mod)
  await t.throwsAsync(mod.partialThenExit({ noRetry: true }), { instanceOf: invoke.Retry })
  await checkHonest(t, honest)
  await pool.close()
})

test.serial('with an uncaughtException handler, a batch entry that fails costs only its call', async (t) => {
  t.timeout(40000)
  const result = await runNode([path.join(__dirname, 'fixtures', 'hostile-batch-parent.js')], { timeout: 30000 })
  t.false(result.killed, `the parent never finished: ${result.stdout}${result.stderr}`)
  const report = JSON.parse(result.stdout)
  t.is(report.settled, report.calls, JSON.stringify(report))
  t.deepEqual(report.wrong, [])
})

test.serial('captured output is flow-controlled: a busy parent blocks a flooding worker instead of buffering', async (t) => {
  t.timeout(60000)
  const result = await runNode([path.join(__dirname, 'fixtures', 'output-flood-parent.js')], { timeout: 50000 })
  t.false(result.killed, `the parent never finished: ${result.stdout}${result.stderr}`)
  const report = JSON.parse(result.stdout)
  t.true(report.blocked, JSON.stringify(report))
  t.true(report.writtenWhileBusy < 4 * 2 ** 20, JSON.stringify(report))
  t.is(report.lines, report.linesWritten, 'no line was lost')
})
