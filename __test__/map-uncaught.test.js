'use strict'
// An item of invoke.map whose flow throws outside the call (a timer, an unhandled rejection) ends
// its worker; as a call of its own, it fails alone and the worker's other calls run again
// elsewhere. In a chunk it must be the same: that item fails with its error, the chunk's other
// items get their results. The chunk is halved down to the item at fault (lib/map-chunks.js);
// the halves share workers with the halves at fault, and a death the worker's report pins on
// another call costs them no attempt (the core's `max_excused`), so they run again until they
// answer. (Found by attack; it was a known break while those deaths counted: with two faulty
// items in a chunk of 10, an innocent item failed with Retry after 3 attempts.)

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty, within } = require('./helpers/fuzz')
const { freshPool } = require('./helpers/pools')

test('an item whose flow throws uncaught fails alone, at any chunk size (generated faults)', async (t) => {
  // One worker or two: on one, every chunk call out dies with each chunk at fault.
  const mods = await Promise.all(
    [1, 2].map((limit) => invoke.require('./fixtures/map-uncaught', { pool: freshPool(t, { limit, onError: () => {} }) })),
  )
  // Up to 3 faults among up to 24 items, with up to 4 chunk calls out at once: innocent chunks
  // sit beside those at fault. Halving down to 3 faults makes at most 15 calls at fault, so no
  // call sits through more deaths pinned on others than the core excuses (16).
  const arbitrary = fc
    .record({
      limit: fc.constantFrom(1, 2),
      count: fc.integer({ min: 1, max: 24 }),
      at: fc.uniqueArray(fc.nat(23), { maxLength: 3 }),
      kind: fc.constantFrom('timer', 'rejection'),
      chunk: fc.integer({ min: 1, max: 24 }),
      concurrency: fc.integer({ min: 1, max: 4 }),
    })
    .map(({ limit, count, at, kind, chunk, concurrency }) => ({
      limit,
      faults: Array.from({ length: count }, (_, i) => (at.includes(i) ? kind : null)),
      chunk,
      concurrency,
    }))
  await checkProperty(
    t,
    arbitrary,
    async ({ limit, faults, chunk, concurrency }) => {
      const mod = mods[limit - 1]
      const items = faults.map((fault, value) => ({ value, fault: fault ?? undefined }))
      const outcomes = []
      await within(
        (async () => {
          for await (const outcome of invoke.map(mod.item, items, { settle: true, chunk, concurrency })) outcomes.push(outcome)
        })(),
        60_000,
        'the map',
      )
      for (const [i, outcome] of outcomes.entries()) {
        if (faults[i] === null) {
          if (outcome.status !== 'fulfilled' || outcome.value !== i) return `item ${i}: ${outcome.reason?.stack ?? JSON.stringify(outcome)}`
        } else if (!(outcome.reason instanceof RangeError) || outcome.reason.message !== `item ${i}`) {
          return `item ${i} (${faults[i]}): ${outcome.reason?.stack ?? JSON.stringify(outcome)}`
        }
      }
      return outcomes.length === faults.length ? null : `${outcomes.length} outcomes of ${faults.length}`
    },
    { runs: 15, msPerRun: 4000 },
  )
})

test('on one worker, a chunk beside chunks halved down to their faulty items gets every result', async (t) => {
  // Fault-finding kills the worker six times (chunks of 7, then 3 and 4, then 1 and 2, then 1),
  // each time with the chunk of item 7 on it (eager: every chunk call out is on the one worker).
  const pool = freshPool(t, { limit: 1, dispatch: 'eager', onError: () => {} })
  const mod = await invoke.require('./fixtures/map-uncaught', { pool })
  const faulty = [0, 6]
  const items = Array.from({ length: 8 }, (_, value) => ({ value, fault: faulty.includes(value) ? 'timer' : undefined }))
  const outcomes = []
  for await (const outcome of invoke.map(mod.item, items, { settle: true, chunk: 7, concurrency: 2 })) outcomes.push(outcome)
  t.deepEqual(
    outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason?.message)),
    [0, 1, 2, 3, 4, 5, 6, 7].map((i) => (faulty.includes(i) ? `item ${i}` : i)),
  )
})
