'use strict'
// When a synchronous call's answer leaves the worker: as soon as the calls of the read that
// brought it have returned, before anything they queued (microtasks, nextTicks) runs.

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { freshPool, scratchDir } = require('./helpers/pools')
const { jsonValue } = require('./helpers/arbitraries')
const { checkProperty, within, outcome, resolvedTo } = require('./helpers/fuzz')

/** The longest an answer may take to arrive on a loaded machine: the hold itself is unbounded. */
const ARRIVAL_MS = 15000

for (const queue of ['microtask', 'nextTick']) {
  test(`an answer leaves before the ${queue} its call queued holds the worker`, async (t) => {
    const pool = freshPool(t, { limit: 1, minimum: 1 })
    const mod = await invoke.require('./fixtures/queued-work', { pool })
    const dir = scratchDir(t, 'queued')
    let run = 0
    await checkProperty(
      t,
      jsonValue,
      async (value) => {
        const go = path.join(dir, `go-${run++}`)
        const answer = mod.answerThenHold(go, value, queue)
        try {
          return resolvedTo(await outcome(within(answer, ARRIVAL_MS, 'the answer')), value, 'the answer')
        } finally {
          // The worker goes on once its queued work is let through.
          fs.writeFileSync(go, '')
        }
      },
      { runs: 5, msPerRun: ARRIVAL_MS },
    )
  })
}
