'use strict'
// A value nested deeper than V8's serializer can walk (it runs out of stack) cannot cross. The
// call said so with a bare RangeError ('Maximum call stack size exceeded', no code), thrown by
// the search for what made the value uncloneable, which recursed as deep; now it rejects with
// ERR_INVOKE_UNSERIALIZABLE like any value that cannot cross, both ways, and the pool goes on.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')

const kind = fc.constantFrom('array', 'object', 'map')
const depth = fc.integer({ min: 20_000, max: 200_000 })

function nested(levels, shape) {
  let value = shape === 'map' ? new Map() : shape === 'object' ? {} : []
  for (let i = 0; i < levels; i++) value = shape === 'map' ? new Map([[i, value]]) : shape === 'object' ? { value } : [value]
  return value
}

const unserializable = { instanceOf: TypeError, code: 'ERR_INVOKE_UNSERIALIZABLE' }

test('arguments, results and stream items nested too deeply reject with ERR_INVOKE_UNSERIALIZABLE (generated)', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const deep = await invoke.require('./fixtures/deep', { pool })
  await fc.assert(
    fc.asyncProperty(depth, kind, async (levels, shape) => {
      await t.throwsAsync(deep.echo(nested(levels, shape)), unserializable)
      await t.throwsAsync(deep.echo(1, { nested: nested(levels, shape) }), unserializable)
      await t.throwsAsync(deep.nested(levels, shape), unserializable)
      const items = []
      const stream = await deep.streamNested(levels, shape)
      await t.throwsAsync(
        (async () => {
          for await (const item of stream) items.push(item)
        })(),
        unserializable,
      )
      t.deepEqual(items, [1])
    }),
    { numRuns: 8 },
  )
  t.is(await deep.echo('still here'), 'still here')
})
