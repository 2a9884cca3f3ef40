'use strict'
// A worker death its own report pins on one of its calls (an uncaught error from that call's
// flow) costs the other calls on it no attempt: they run again elsewhere, however many such
// deaths they sit through, up to 16. Past that they count, so a worker that always blames another
// call for its death cannot send a call around forever.

const test = require('ava')
const fs = require('node:fs')
const invoke = require('..')
const { watchedPool, scratchDir } = require('./helpers/pools')

test('a call beside five calls whose flows throw uncaught, each killing its worker, still answers', async (t) => {
  const dir = scratchDir(t, 'pinned')
  // One worker, every call on it at once: each faulty call kills the worker with the innocent on it.
  const { pool, errors } = watchedPool(t, { limit: 1, dispatch: 'eager' })
  const mod = await invoke.require('./fixtures/uncaught-beside', { pool })
  const names = ['a', 'b', 'c', 'd', 'e']
  const innocent = mod.innocent(dir, names.length)
  const faulty = names.map((name) => mod.faulty(dir, name))
  const outcomes = await Promise.allSettled([innocent, ...faulty])
  t.is(outcomes[0].status, 'fulfilled', outcomes[0].reason?.stack)
  for (const [i, name] of names.entries()) {
    const { reason } = outcomes[i + 1]
    t.true(reason instanceof RangeError && reason.message === name, `faulty call ${name}: ${reason?.stack ?? 'resolved'}`)
  }
  t.is(errors.filter((e) => /uncaught exception while running call/.test(e.message)).length, names.length)
  t.is(pool.stats().retried, 1 + 2 + 3 + 4 + 5, 'each call on a dead worker ran again, none gave up')
})

test('a worker that always blames another call for its death gets a call sent 19 times at most, then Retry', async (t) => {
  const dir = scratchDir(t, 'blames')
  const { pool } = watchedPool(t, { limit: 1, dispatch: 'eager' })
  const mod = await invoke.require('./fixtures/hostile-frames', { pool })
  const culprit = mod.dieBlamingAnother(dir)
  const over = culprit.then(
    () => null,
    () => null,
  )
  // A call beside it for each of its runs, for the worker to blame.
  const scapegoats = []
  for (let done = false; !done; ) {
    const scapegoat = mod.wait()
    scapegoats.push(scapegoat)
    done = (await Promise.race([scapegoat.then(() => false, () => false), over.then(() => true)])) === true
  }
  const error = await t.throwsAsync(culprit, { instanceOf: invoke.Retry })
  t.is(error.code, 'ERR_INVOKE_WORKER_DIED')
  t.regex(error.message, /gave up after 3 attempts \(and 16 more deaths pinned on other calls\)/)
  t.is(fs.readdirSync(dir).length, 3 + 16, 'one worker per run')
  // The parent survives: every call settles, the blamed ones with the worker's forged error.
  await pool.close({ force: true })
  const settled = await Promise.allSettled(scapegoats)
  t.is(settled.filter((s) => s.reason?.message === 'blamed by a lying worker').length, 3 + 16)
  t.true(settled.every((s) => s.status === 'rejected'))
})
