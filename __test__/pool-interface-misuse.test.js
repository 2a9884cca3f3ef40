'use strict'
// The pool interface is public: an adapter may wrap a local pool and call its
// [invoke.loadModule] and [invoke.callMethod] itself. Whatever it passes, the answer is a
// rejection with a code (never a throw, never a codeless error), and the pool goes on.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')

const CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE'])

/** How `run()` ended: 'ok', a code, or what went wrong (a throw, an error without a code). */
async function outcome(run) {
  let promise
  try {
    promise = run()
  } catch (error) {
    return `threw ${error?.message}`
  }
  try {
    await promise
    return 'ok'
  } catch (error) {
    return error?.code ?? `no code: ${error?.message}`
  }
}

const junk = fc.oneof(
  fc.constantFrom(undefined, null, NaN, -1, 0, 2 ** 32, 2 ** 40, 1.5, '1', true, {}, [], Symbol('s'), () => 1),
  fc.string(),
  fc.integer(),
)

test('a module id, method, arguments or options no proxy passes reject with a code (generated)', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const { id } = await pool[invoke.loadModule](require.resolve('./fixtures/echo'), { noRetry: false })
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 3 }), junk, async (position, value) => {
      const call = [id, 'echo', [1], {}]
      call[position] = value
      const ended = await outcome(() => pool[invoke.callMethod](...call))
      // A bad value in a right-typed place may still be a call that works (a method named by a
      // number that is not exported is refused; [] as options is an object).
      t.true(ended === 'ok' || CODES.has(ended), `${position} = ${String(value)}: ${ended}`)
    }),
    { numRuns: 150 },
  )
  t.is(await outcome(() => pool[invoke.callMethod](id + 1000, 'echo', [1], {})), 'ERR_INVALID_ARG_VALUE')
  t.is(await outcome(() => pool[invoke.callMethod](id, 'notThere', [1], {})), 'ERR_INVALID_ARG_VALUE')
  t.is(await outcome(() => pool[invoke.callMethod](id, 'echo', [1], {}, null)), 'ERR_INVALID_ARG_TYPE')
  for (const [path, options] of [[5, {}], [null, {}], [require.resolve('./fixtures/echo'), null], [require.resolve('./fixtures/echo'), { noRetry: 'yes' }]]) {
    t.is(await outcome(() => pool[invoke.loadModule](path, options)), 'ERR_INVALID_ARG_TYPE')
  }
  t.is(await echo.echo('still working'), 'still working')
})
