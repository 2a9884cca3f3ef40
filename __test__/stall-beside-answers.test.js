'use strict'
// The stall rule of adaptive dispatch against calls that answer beside a barrier: a cheap method
// called steadily at a higher priority (a health check, a request handler) in the worker that
// holds 32 calls waiting on a barrier. Each of its answers counted as progress, so the stall timer
// never found a quiet interval and the barrier's last waiters, and the call that opens it, waited
// in the parent for as long as the cheap calls flowed (20,000 of them in a run on main).

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')
const { scaled } = require('./helpers/time')

const BARRIER = require.resolve('./fixtures/barrier')
/** Cheap calls after which the barrier has surely had a stall's chance to open. */
const TICKS = 20000

test('a barrier opens while cheap calls of a higher priority answer steadily beside it (generated sizes)', async (t) => {
  t.timeout(scaled(240000))
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(33, 65, 129, 200), fc.integer({ min: 1, max: 4 }), async (size, lanes) => {
      const pool = freshPool(t, { limit: 1, minimum: 1 })
      const mod = await invoke.require(BARRIER, { pool })
      const fast = mod({ priority: 1 })
      // Measured first: a synchronous method, so it has room beside the waiters.
      t.is(await fast.tick(0), 1)
      let opened = false
      const waits = Array.from({ length: size }, () => mod.wait())
      const open = mod.open().then((released) => {
        opened = true
        return released
      })
      let ticks = 0
      const lane = async () => {
        while (!opened && ticks < TICKS) {
          const n = ticks++
          t.is(await fast.tick(n), n + 1)
        }
      }
      await Promise.all(Array.from({ length: lanes }, lane))
      t.true(opened, `the barrier stayed shut through ${ticks} cheap calls`)
      t.is(await open, size)
      t.deepEqual(await Promise.all(waits), Array(size).fill(size))
      await pool.close()
    }),
    { numRuns: 6 },
  )
})
