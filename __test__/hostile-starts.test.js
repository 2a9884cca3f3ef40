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
