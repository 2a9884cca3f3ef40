'use strict'
// invoke.map's chunk sizer (lib/map-chunk-size.js) fed measured times directly: the workers'
// measurements vary with the machine's load, so how the size follows them is checked here, on
// made-up times, and through real workers only loosely (map.test.js counts the calls).

const test = require('ava')
const fc = require('fast-check')
const { chunkSizer } = require('../lib/map-chunk-size')

const TARGET_MS = 4
const MAX_CHUNK = 4096
const GROWTH = 4

/** Chunk sizes over `steps` chunks of an item costing `perItem` ms, the first `cold` paying `warmUp` ms more. */
function sizes({ perItem, cold, warmUp, steps }) {
  const sizer = chunkSizer(undefined)
  const seen = []
  for (let i = 0; i < steps; i++) {
    const size = sizer.size()
    seen.push(size)
    sizer.observe((i < cold ? warmUp : 0) + size * perItem, size)
  }
  return seen
}

const costs = fc.record({
  perItem: fc.double({ min: 1e-5, max: 50, noNaN: true }),
  cold: fc.integer({ min: 1, max: 4 }),
  warmUp: fc.double({ min: 0, max: 5, noNaN: true }),
})

test("the first chunks' warm-up fades at once: the size reaches its target as fast as it may grow", (t) => {
  fc.assert(
    fc.property(costs, ({ perItem, cold, warmUp }) => {
      const target = Math.max(1, Math.min(MAX_CHUNK, Math.floor(TARGET_MS / perItem)))
      // From one item, growing GROWTH times a chunk: log4(4096) = 6 chunks to the largest size;
      // a warm-up longer than a whole chunk's work takes up to two more to fade (found by
      // fast-check: perItem 0.235 ms, 3 cold chunks of 4.8 ms warm-up; 200,000 runs pass with 4).
      const steps = cold + Math.ceil(Math.log(target) / Math.log(GROWTH)) + 4
      const seen = sizes({ perItem, cold, warmUp, steps })
      const last = seen[seen.length - 1]
      // Averaged chunk by chunk, a one-item chunk that paid 1 ms of warm-up kept the size small
      // for a dozen chunks of an item that costs microseconds.
      return last >= target / 2 && last <= target
    }),
  )
  t.pass()
})

test('a chunk is at most GROWTH times the last, and at least one item', (t) => {
  fc.assert(
    fc.property(costs, fc.integer({ min: 1, max: 30 }), ({ perItem, cold, warmUp }, steps) => {
      const seen = sizes({ perItem, cold, warmUp, steps })
      const bounded = (size) => Number.isInteger(size) && size >= 1 && size <= MAX_CHUNK
      return seen.every((size, i) => bounded(size) && (i === 0 || size <= seen[i - 1] * GROWTH))
    }),
  )
  t.pass()
})

test('the size follows a change in the cost per item within a few chunks, either way', (t) => {
  fc.assert(
    fc.property(
      fc.double({ min: 1e-4, max: 5, noNaN: true }),
      fc.double({ min: 1e-4, max: 5, noNaN: true }),
      (before, after) => {
        const sizer = chunkSizer(undefined)
        for (let i = 0; i < 12; i++) sizer.observe(sizer.size() * before, sizer.size())
        for (let i = 0; i < 12; i++) sizer.observe(sizer.size() * after, sizer.size())
        const target = Math.max(1, Math.min(MAX_CHUNK, Math.floor(TARGET_MS / after)))
        return sizer.size() >= target / 2 && sizer.size() <= target * 2
      },
    ),
  )
  t.pass()
})

test('a fixed chunk size is kept whatever is measured', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100000 }),
      fc.array(fc.double({ min: 0, max: 100, noNaN: true })),
      (fixed, busy) => {
        const sizer = chunkSizer(fixed)
        for (const ms of busy) sizer.observe(ms, fixed)
        return sizer.size() === fixed
      },
    ),
  )
  t.pass()
})
