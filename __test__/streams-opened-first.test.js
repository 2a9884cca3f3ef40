'use strict'
// Streams opened before any of them is read: `const [a, b, c] = await Promise.all([...])`, then
// read. A started stream waits for its reader (the worker runs at most the window ahead), so its
// worker's thread is free, and the calls queued behind it must still go. With adaptive dispatch
// (the default) two started streams held a worker's two places and the third call waited
// forever: the program hung with no error.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { STREAM_WINDOW } = require('../lib/protocol')
const { freshPool } = require('./helpers/pools')

test('streams opened together, each past the window, all start and read whole in any order (generated)', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 2 }),
      fc.array(fc.integer({ min: STREAM_WINDOW - 1, max: STREAM_WINDOW * 3 }), { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      async (limit, lengths, reversed) => {
        const pool = freshPool(t, { limit })
        const streams = await invoke.require('./fixtures/streams', { pool })
        const opened = await Promise.all(lengths.map((n) => streams.count(n)))
        const order = lengths.map((n, i) => i)
        if (reversed) order.reverse()
        for (const i of order) {
          let read = 0
          for await (const item of opened[i]) t.is(item, read++)
          t.is(read, lengths[i])
        }
        await pool.close()
      },
    ),
    { numRuns: 15 },
  )
})
