'use strict'
// invoke.require takes any adapter as its pool. What the adapter answers becomes a proxy, so its
// answer is checked: one that is not {id, names: [text, ...]} rejected with whatever broke on it
// ('names is not iterable', 'Cannot redefine property: undefined', no code), a `.then` that was
// not a function, or made methods named '[object Object]'; and the failed load stayed cached, so
// every later require of that module failed the same way. A proxy method whose adapter threw or
// answered a plain value threw or returned that value instead of a promise.

const test = require('ava')
const fc = require('fast-check')
const path = require('node:path')
const invoke = require('..')

const MODULE = path.join(__dirname, 'fixtures', 'echo.js')

function adapter(load, call = async () => 'called') {
  return { [invoke.loadModule]: load, [invoke.callMethod]: call }
}

const notAnAnswer = fc.oneof(
  fc.constantFrom(null, undefined, 5, 'names', [], {}, { id: 1 }, { id: 1, names: 'f' }, { names: ['f'] }),
  fc.constantFrom({ id: 1, names: ['a', , 'b'] }, { id: 1, names: new Array(2 ** 32 - 1) }),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.object()), { minLength: 1, maxLength: 5 })
    .filter((names) => names.some((name) => typeof name !== 'string'))
    .map((names) => ({ id: 1, names })),
)

test('an adapter answer that is not {id, names} rejects with ERR_INVALID_RETURN_VALUE and is forgotten (generated)', async (t) => {
  await fc.assert(
    fc.asyncProperty(notAnAnswer, fc.boolean(), async (answer, asPromise) => {
      let loads = 0
      const pool = adapter(() => {
        loads++
        if (loads > 1) return Promise.resolve({ id: 7, names: ['echo'] })
        return asPromise ? Promise.resolve(answer) : answer
      })
      await t.throwsAsync(invoke.require(MODULE, { pool }), { instanceOf: TypeError, code: 'ERR_INVALID_RETURN_VALUE' })
      const proxy = await invoke.require(MODULE, { pool })
      t.is(await proxy.echo(1), 'called')
      t.is(loads, 2)
    }),
    { numRuns: 60 },
  )
})

test('a proxy method returns a promise whatever the adapter does: throws, answers a value', async (t) => {
  const thrown = new Error('the adapter broke')
  const throwing = await invoke.require(MODULE, { pool: adapter(async () => ({ id: 1, names: ['f'] }), () => { throw thrown }) })
  let promise
  t.notThrows(() => {
    promise = throwing.f()
  })
  t.is(await t.throwsAsync(promise), thrown)
  const plain = await invoke.require(MODULE, { pool: adapter(async () => ({ id: 1, names: ['f'] }), () => 42) })
  const result = plain.f()
  t.true(result instanceof Promise)
  t.is(await result, 42)
})
