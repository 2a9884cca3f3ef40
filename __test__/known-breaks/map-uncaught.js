'use strict'
// An item of invoke.map whose flow throws outside the call (a timer, an unhandled rejection) ends
// its worker; as a call of its own, it fails alone and the worker's other calls run again
// elsewhere. In a chunk it must be the same: that item fails with its error, the chunk's other
// items get their results. Found by attack: every item of the chunk failed with that error.
//
// KNOWN BREAK, outside the suite (run: npx ava --match '*' __test__/known-breaks/map-uncaught.js,
// or with INVOKE_FUZZ_SEED=83712187 INVOKE_FUZZ_PATH=13:2:0:15:0:3:0:0:2:1:3:1 to replay): the
// split fixes most cases, but with two faulty items in a chunk of 10 (seen: items 3 and 9), an
// innocent item can still fail with Retry ("exited with code 70 while the call was running; gave
// up after 3 attempts"): the halves of a split chunk share a worker with a half at fault, and
// every worker death under a call counts against its retries, even one pinned on another call.
// A chunk whose retries are spent is split again (lib/map-chunks.js), but a single item is not.
// The fix is in the core: a death pinned on another call should not cost a call's retries.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('../..')
const { checkProperty, within } = require('../helpers/fuzz')
const { freshPool } = require('../helpers/pools')

test('an item whose flow throws uncaught fails alone, at any chunk size (generated faults)', async (t) => {
  const pool = freshPool(t, { limit: 2, onError: () => {} })
  const mod = await invoke.require('../fixtures/map-uncaught', { pool })
  // A few faults among up to 24 items: each costs a worker per halving, and one chunk call at a
  // time (`concurrency: 1`), so a worker's death costs only the chunk at fault, as it would cost
  // only the call at fault if each item were a call of its own on a worker of its own.
  const arbitrary = fc
    .record({
      count: fc.integer({ min: 1, max: 24 }),
      at: fc.uniqueArray(fc.nat(23), { maxLength: 3 }),
      kind: fc.constantFrom('timer', 'rejection'),
      chunk: fc.integer({ min: 1, max: 24 }),
    })
    .map(({ count, at, kind, chunk }) => ({ faults: Array.from({ length: count }, (_, i) => (at.includes(i) ? kind : null)), chunk }))
  await checkProperty(
    t,
    arbitrary,
    async ({ faults, chunk }) => {
      const items = faults.map((fault, value) => ({ value, fault: fault ?? undefined }))
      const outcomes = []
      await within(
        (async () => {
          for await (const outcome of invoke.map(mod.item, items, { settle: true, chunk, concurrency: 1 })) outcomes.push(outcome)
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
