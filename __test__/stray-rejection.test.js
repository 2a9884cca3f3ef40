'use strict'
// "Which call it belongs to: in a module that loads invoke-parallel/worker, the call whose async
// flow it came from." A rejection left behind by a call that had already answered was pinned on
// another call, the only one still running, which rejected with an error that was not its own.

const test = require('ava')
const path = require('node:path')
const invoke = require('..')
const { watchedPool, scratchDir } = require('./helpers/pools')

test('an unhandled rejection from a call that already answered is not pinned on the call still running', async (t) => {
  const dir = scratchDir(t, 'stray')
  const { pool, errors } = watchedPool(t, { limit: 1 })
  const mod = await invoke.require('./fixtures/stray-rejection', { pool })
  const held = mod.holdOnce(path.join(dir, 'held'))
  t.is(await mod.leaveRejection('not yours'), 'answered')
  // The worker dies of the rejection; the held call, innocent, runs again on a new worker.
  t.is(await held, 'ran again')
  t.is(errors.length, 1)
  t.is(errors[0].code, 'ERR_INVOKE_WORKER_CRASHED')
  t.is(errors[0].cause?.message, 'not yours')
})
