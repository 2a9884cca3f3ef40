'use strict'
// Calls that await something a later call of the same pool provides (a lock, a long poll, an
// in-flight request another call completes) must all run: the README promises calls that await
// overlap in one worker as far as maxPerChild allows (0: no limit). Found against the trust-core
// branch (adaptive dispatch holds at most 32 calls that await per worker until one comes back):
// with `limit: 1` the 33rd call, the one that would release the others, waits in the parent
// forever, and the program hangs with no error. The same for more than 32 streams opened before
// any is read (a started stream waits for its reader: it never comes back by itself).

const test = require('ava')
const fc = require('fast-check')
const path = require('node:path')
const invoke = require('../..')
const { freshPool } = require('../helpers/pools')

const BARRIER = path.join(__dirname, '..', 'fixtures', 'barrier.js')

test('calls waiting on a later call of the same worker are all released by it (generated counts)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 150 }), async (count) => {
      const pool = freshPool(t, { limit: 1 })
      const barrier = await invoke.require(BARRIER, { pool })
      const waits = Array.from({ length: count }, () => barrier.wait())
      t.is(await barrier.open(), count)
      t.deepEqual(await Promise.all(waits), Array(count).fill(count))
      await pool.close()
    }),
    { numRuns: 10 },
  )
})

test('more than 32 streams opened before any is read all start (generated counts)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 30, max: 80 }), async (count) => {
      const pool = freshPool(t, { limit: 1 })
      const streams = await invoke.require(path.join(__dirname, '..', 'fixtures', 'streams.js'), { pool })
      // Each past the 64-item window, so none ends before it is read.
      const opened = await Promise.all(Array.from({ length: count }, () => streams.count(100)))
      for (const stream of opened.reverse()) {
        let read = 0
        for await (const item of stream) t.is(item, read++)
        t.is(read, 100)
      }
      await pool.close()
    }),
    { numRuns: 4 },
  )
})
