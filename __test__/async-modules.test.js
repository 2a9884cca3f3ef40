'use strict'
// CommonJS modules whose module.exports is a promise (or thenable) of their exports.

const test = require('ava')
const invoke = require('..')

function freshPool(t, options = {}) {
  const pool = invoke.pool({ limit: 2, ...options })
  t.teardown(() => pool.close({ force: true }))
  return pool
}

test('a module exporting a promise of its exports is loaded when it resolves', async (t) => {
  const pool = freshPool(t)
  const mod = await invoke.require('./fixtures/async-exports', { pool })
  t.deepEqual(Object.keys(mod).sort(), ['lines', 'order'])
  t.true((await mod.lines()) > 5)
})

test('a thenable that is not a Promise is followed too', async (t) => {
  const pool = freshPool(t)
  const mod = await invoke.require('./fixtures/async-exports-thenable', { pool })
  t.is(await mod.answer(), 42)
})

test('a rejected promise of exports rejects the require with its error, and the pool goes on', async (t) => {
  const pool = freshPool(t)
  const error = await t.throwsAsync(invoke.require('./fixtures/async-exports-rejects', { pool }), {
    instanceOf: RangeError,
  })
  t.is(error.message, 'the model could not be loaded')
  t.is(error.code, 'E_MODEL')
  const mod = await invoke.require('./fixtures/async-exports', { pool })
  t.true((await mod.lines()) > 5)
})

test('a load after an async module runs once its exports have resolved, on every worker', async (t) => {
  // One worker replaced after every call: each answer comes from a worker that loaded both anew.
  const pool = freshPool(t, { limit: 1, recycleAfter: 1 })
  const [first, after] = await Promise.all([
    invoke.require('./fixtures/async-exports', { pool }),
    invoke.require('./fixtures/after-async', { pool }),
  ])
  const expected = ['async started', 'async finished', 'commonjs']
  t.deepEqual(await after.seenAtLoad(), expected)
  t.deepEqual(await after.seenAtLoad(), expected)
  // A worker loads the modules up to the one it needs, so this one never ran the later module.
  t.deepEqual(await first.order(), ['async started', 'async finished'])
})
