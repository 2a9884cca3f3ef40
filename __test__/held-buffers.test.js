'use strict'
// A typed array, Buffer or DataView that crosses between processes holds on to about its own
// bytes, not to the buffer it was read from. V8's deserializer makes views of its input: an
// 8-byte Uint8Array argument held 64 KiB of the worker's read buffer (3,000 of them kept by a
// worker: 197 MB), and a small result a piece of the parent's 8 KiB Buffer pool with whatever
// else was in it.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')

test('arguments and results of any size hold at most twice their own bytes (generated)', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const views = await invoke.require('./fixtures/keeps-views', { pool })
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 1, max: 5 }), async (length, count) => {
      const { byteLength, held } = await views.keep(new Uint8Array(length).fill(1))
      t.true(held <= Math.max(2 * byteLength, 8), `argument of ${byteLength} bytes held ${held}`)
      const result = await views.give(length)
      t.true(result.buffer.byteLength <= Math.max(2 * result.byteLength, 8), `result of ${result.byteLength} bytes held ${result.buffer.byteLength}`)
      t.true(result.every((byte) => byte === 7))
      const many = await views.giveMany(length >> 3, count)
      many.forEach((array, i) => {
        t.true(array.buffer.byteLength <= Math.max(2 * array.byteLength, 8))
        t.true(array.every((value) => value === i))
      })
    }),
    { numRuns: 40 },
  )
})

test('a DataView and a Buffer argument, kept, hold their own bytes', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const views = await invoke.require('./fixtures/keeps-views', { pool })
  t.deepEqual(await views.keep(new DataView(new ArrayBuffer(4))), { byteLength: 4, held: 4 })
  const buffer = await views.keep(Buffer.from('hello'))
  t.true(buffer.held <= 10, JSON.stringify(buffer))
})
