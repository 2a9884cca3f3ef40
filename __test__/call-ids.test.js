'use strict'
// Call ids are 32-bit and wrap: after that, an id still taken by a pending call, a cancelled call
// still running, or a module (its load's id) is skipped, never handed out twice.

const test = require('ava')
const { scaled } = require('./helpers/time')
const invoke = require('..')
const { kSetLastId } = require('../lib/pool')
const { waitFor } = require('./helpers/processes')

test('after the ids wrap, pending calls, cancelled calls still running and modules keep their ids', async (t) => {
  t.timeout(scaled(30000))
  // One worker that runs every call at once, and keeps a cancelled call as long as it runs.
  const pool = invoke.pool({ limit: 1, cancelGrace: 60000 })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool }) // id 1
  const jobs = await invoke.require('./fixtures/jobs', { pool }) // id 2
  const stubborn = await invoke.require('./fixtures/cancellable', { pool }) // id 3
  const release = invoke.cancelToken()
  const held = jobs({ cancelToken: release }).hold() // id 4, pending
  const giveUp = invoke.cancelToken()
  const ignored = stubborn({ cancelToken: giveUp }).ignoreCancel() // id 5, cancelled but running
  await waitFor(() => pool.stats().running === 2, 15000, 'both calls to run')
  giveUp.resolve()
  await t.throwsAsync(ignored, { instanceOf: invoke.Cancel })
  t.is(pool.stats().running, 2, 'the cancelled call still runs')

  pool[kSetLastId](0xfffffffe)
  t.is(await echo.add(0xffff, 1), 0x10000, 'the last id')
  // The ids wrap here: 1 to 5 are taken.
  const strings = await invoke.require('./fixtures/strings', { pool })
  const sums = await Promise.all(Array.from({ length: 8 }, (_, i) => echo.add(i, 100)))
  t.deepEqual(sums, Array.from({ length: 8 }, (_, i) => i + 100))
  t.deepEqual(await strings.describe('abcdef'), [[6, 'abc', 'def']])
  t.is(await echo.add(2, 3), 5, 'the first module is still itself')
  t.is(await jobs.process('job'), 'job')
  release.resolve()
  await t.throwsAsync(held, { instanceOf: invoke.Cancel })
  // The held call returns once it sees its abort; the stubborn one runs on.
  await waitFor(() => pool.stats().running === 1, 15000, 'the released call to return')
})
