'use strict'
// close()'s misuse: `pool.close(null)` threw a codeless TypeError synchronously (close returns a
// promise), `pool.close(5)` closed the pool as if nothing were wrong (both now ERR_INVALID_ARG_TYPE),
// and `invoke.close()` of something that is not an isolated module's proxy rejected without a
// code (now ERR_INVALID_ARG_VALUE, as the ecosystem branch has it). A refused close closes nothing.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')

const notOptions = fc.oneof(fc.constantFrom(null, 5, 'force', true, Symbol('s'), () => {}), fc.string(), fc.integer())

test('pool.close with options that are not an object rejects with ERR_INVALID_ARG_TYPE and closes nothing (generated)', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  await fc.assert(
    fc.asyncProperty(notOptions, async (options) => {
      let closing
      t.notThrows(() => {
        closing = pool.close(options)
      })
      await t.throwsAsync(closing, { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
      t.false(pool.closed)
    }),
    { numRuns: 40 },
  )
  t.is(await echo.echo('open'), 'open')
  await pool.close({})
  t.true(pool.closed)
})

test('invoke.close of anything but an isolated module rejects with ERR_INVALID_ARG_VALUE', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const shared = await invoke.require('./fixtures/echo', { pool })
  for (const thing of [shared, pool, null, undefined, 5, 'proxy', {}]) {
    await t.throwsAsync(invoke.close(thing), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  }
  const isolated = await invoke.require('./fixtures/echo', { isolated: true, options: { limit: 1 } })
  await t.throwsAsync(invoke.close(isolated, null), { code: 'ERR_INVALID_ARG_TYPE' })
  await invoke.close(isolated)
})
