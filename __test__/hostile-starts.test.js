'use strict'
// Workers that break the protocol before they are ready (a `--require` preload writing to the
// channel): each is a failed start, so `retries` bounds how many are started and the call
// waiting for them rejects saying why.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { watchedPool, scratchDir } = require('./helpers/pools')

const PRELOAD = require.resolve('./fixtures/garbles-start')
const ECHO = require.resolve('./fixtures/echo')

const ways = [
  ['13 bytes of garbage on the channel', 'garbage', /broke the protocol before it was ready/],
  ['a Pace frame before Ready', 'pace', /reported its pace before it was ready/],
]
for (const [what, mode, reason] of ways) {
  test(`a worker whose preload writes ${what} is a failed start: retries bound the starts, the require rejects`, async (t) => {
    t.timeout(60000)
    const dir = scratchDir(t, 'garbled-starts')
    const log = path.join(dir, 'spawns')
    fs.writeFileSync(log, '')
    const { pool, errors } = watchedPool(t, {
      limit: 1,
      retries: 1,
      execArgv: ['--require', PRELOAD],
      env: { ...process.env, INVOKE_TEST_SPAWN_LOG: log, INVOKE_TEST_GARBLE: mode },
    })
    const spawns = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length
    const error = await t.throwsAsync(invoke.require(ECHO, { pool }), { code: 'ERR_INVOKE_WORKER_START' })
    t.regex(error.message, /\(2 attempts\)/)
    t.regex(error.message, reason)
    t.is(spawns(), 2, 'the first start and one retry')
    // The pool stopped starting workers: closing it (which waits for every worker to exit) finds
    // none started since.
    await pool.close()
    t.is(spawns(), 2)
    t.true(errors.some((e) => e.code === 'ERR_INVOKE_WORKER_START'))
  })
}

// Frames that make a worker look started (a forged Ready, then perhaps a request to be recycled,
// which retires it before the shim's own Ready is read) or leaving (an uncaught-exception report)
// before the shim is ready: each such worker must count against `retries`, or `minimum` replaces
// it forever, and a call waiting for a worker (and a graceful close waiting for that call) never
// settles.
const forgedStarts = [
  ['a Ready frame ahead of the shim\'s', 'ready', /said it was ready twice/],
  ['a Ready frame and a request to be recycled', 'ready-recycle', /recycled before it was given a call|said it was ready twice/],
  ['an uncaught-exception report', 'fatal', /uncaught exception before it was given a call/],
]
/**
 * A pool of one worker with a minimum, whose preload misbehaves as `mode` says: resolves to the
 * pool, the ERR_INVOKE_WORKER_START report (null if 6 other failures came first, the pool still
 * starting workers), how many failures were reported, and how many workers were spawned.
 */
async function minimumPoolWithPreload(t, mode) {
  const dir = scratchDir(t, mode)
  const log = path.join(dir, 'spawns')
  fs.writeFileSync(log, '')
  const crashes = []
  let heard
  const outcome = new Promise((resolve) => (heard = resolve))
  const pool = invoke.pool({
    limit: 1,
    minimum: 1,
    retries: 1,
    execArgv: ['--require', PRELOAD],
    env: { ...process.env, INVOKE_TEST_SPAWN_LOG: log, INVOKE_TEST_GARBLE: mode },
    onError: (error) => {
      if (error.code === 'ERR_INVOKE_WORKER_START') heard(error)
      else if (crashes.push(error) === 6) heard(null)
    },
  })
  t.teardown(() => pool.close({ force: true }))
  const spawns = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length
  return { pool, outcome, crashes, spawns }
}

for (const [what, mode, reason] of forgedStarts) {
  test(`a worker whose preload forges ${what} is a failed start: a pool with a minimum stops starting them`, async (t) => {
    t.timeout(60000)
    const { pool, outcome, crashes, spawns } = await minimumPoolWithPreload(t, mode)
    const load = invoke.require(ECHO, { pool })
    load.catch(() => {}) // awaited below, unless an assertion fails first
    const error = await outcome
    t.not(error, null, `${crashes.length} workers failed and the pool kept starting more`)
    t.regex(error.message, reason)
    // Whatever was waiting settles, with a code (a call that reached a worker whose Ready was
    // forged counts that worker as an attempt of its own).
    const failed = await t.throwsAsync(load)
    t.true(['ERR_INVOKE_WORKER_START', 'ERR_INVOKE_WORKER_DIED'].includes(failed.code), failed.code)
    await pool.close()
    t.true(spawns() <= 4)
  })
}

test('idle workers that die before they are given a call are failed starts: a pool with a minimum stops replacing them', async (t) => {
  t.timeout(60000)
  const { pool, outcome, crashes, spawns } = await minimumPoolWithPreload(t, 'throw-later')
  const error = await outcome
  t.not(error, null, `${crashes.length} idle workers crashed and the pool kept starting more`)
  t.regex(error.message, /before it was (ready|given a call)/)
  await pool.close()
  t.is(spawns(), 2, 'the first start and one retry')
})
