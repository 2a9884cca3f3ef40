'use strict'
// Pools dropped without close() (and isolated modules whose proxy is dropped) are released when the
// garbage collector collects them. Each worker counts in V8's external memory, so the collector
// runs as dropped pools' workers add up: they do not pile up however many pools are dropped, with
// or without --expose-gc, counted as this process's living children in /proc.

const test = require('ava')
const fc = require('fast-check')
const path = require('node:path')
const { runNode } = require('./helpers/processes')

const FIXTURE = path.join(__dirname, 'fixtures', 'dropped-pools.js')

// Four pools' worth whatever the count (workers of collected pools may still be exiting): V8
// starts collecting once external memory has grown by 64 MiB (two workers) since its last
// collection; without the count every dropped pool's workers lived on (count × limit of them).
const bound = (limit) => 4 * limit + 2

test('dropped pools do not pile up workers: at most a few pools worth live at any time', async (t) => {
  if (process.platform !== 'linux') return t.pass('children are counted from /proc')
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }).chain((limit) =>
        fc.record({
          limit: fc.constant(limit),
          minimum: fc.integer({ min: 0, max: limit }),
          count: fc.integer({ min: 10, max: 14 }),
          isolated: fc.boolean(),
        }),
      ),
      async (shape) => {
        const run = await runNode([FIXTURE, JSON.stringify(shape)], { timeout: 120000 })
        t.is(run.code, 0, run.stderr)
        const { peak, end } = JSON.parse(run.stdout)
        t.log(JSON.stringify(shape), `peak ${peak}, end ${end}, bound ${bound(shape.limit)}, without the count up to ${shape.count * shape.limit}`)
        return peak <= bound(shape.limit) && end <= bound(shape.limit)
      },
    ),
    { numRuns: 4 },
  )
})

test('a dropped pool, or isolated module, with a call running is not collected before the call is done', async (t) => {
  const run = await runNode(['--expose-gc', path.join(__dirname, 'fixtures', 'dropped-busy.js')], { timeout: 60000 })
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), ['pool call finished', 'isolated call finished'])
})
