'use strict'
// invoke.map on a pool whose queue is bounded (maxQueue): its chunk calls wait for room as a
// producer awaiting whenRoom() would, so every item gets its result. Found by attack: the map
// sends up to twice `limit` chunks at once, and on a pool with `maxQueue: 0` the ones past what
// the workers take were refused with ERR_INVOKE_QUEUE_FULL, ending a lone map on an idle pool
// after its first two items.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty, within } = require('./helpers/fuzz')

const MAPPED = require.resolve('./fixtures/mapped')

test('maps on a pool with a bounded queue give every result (generated pools, maps and sizes)', async (t) => {
  const arbitrary = fc.record({
    limit: fc.integer({ min: 1, max: 2 }),
    maxPerChild: fc.integer({ min: 0, max: 2 }),
    maxQueue: fc.integer({ min: 0, max: 3 }),
    maps: fc.array(
      fc.record({
        count: fc.integer({ min: 0, max: 120 }),
        chunk: fc.option(fc.integer({ min: 1, max: 8 })),
        concurrency: fc.option(fc.integer({ min: 1, max: 8 })),
        async: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  await checkProperty(
    t,
    arbitrary,
    async ({ limit, maxPerChild, maxQueue, maps }) => {
      const pool = invoke.pool({ limit, maxPerChild, maxQueue })
      try {
        const mapped = await invoke.require(MAPPED, { pool })
        const runs = maps.map(async ({ count, chunk, concurrency, async }) => {
          const options = { ...(chunk === null ? {} : { chunk }), ...(concurrency === null ? {} : { concurrency }) }
          const results = []
          for await (const result of invoke.map(async ? mapped.later : mapped.square, Array.from({ length: count }, (_, i) => i), options)) results.push(result)
          const expected = Array.from({ length: count }, (_, i) => (async ? i : i * i))
          return JSON.stringify(results) === JSON.stringify(expected) ? null : `${results.length} results of ${count}, or not in order`
        })
        const wrong = await within(Promise.all(runs), 30_000, 'the maps')
        return wrong.find((w) => w !== null) ?? null
      } catch (error) {
        return `a map failed: ${error?.stack ?? error}`
      } finally {
        await pool.close({ force: true })
      }
    },
    { runs: 25, msPerRun: 2000 },
  )
})
