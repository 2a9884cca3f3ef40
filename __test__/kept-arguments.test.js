'use strict'
// Arguments a worker keeps stay as they arrived while it reads more calls: the bytes of a read
// are not reused while a decoded argument may be a view of them (Buffers, typed arrays), or a
// frame is not complete yet (lib/worker/read-buffer.js).

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')
const { value, jsonValue } = require('./helpers/arbitraries')
const { checkProperty, within, outcome, resolvedTo } = require('./helpers/fuzz')

test('kept arguments of every kind stay intact while the worker reads the calls after them', async (t) => {
  const pool = freshPool(t, { limit: 1, minimum: 1 })
  const mod = await invoke.require('./fixtures/keeper', { pool })
  const step = fc.oneof(fc.record({ keep: value }), fc.record({ echo: jsonValue }))
  await checkProperty(
    t,
    fc.array(step, { minLength: 1, maxLength: 30 }),
    async (steps) => {
      // One at a time, so every call is a read of its own into the worker's buffer.
      for (const s of steps) {
        const got = await within(outcome('keep' in s ? mod.keep(s.keep) : mod.echo(s.echo)), 20000, 'a call')
        if ('error' in got) return `a call rejected: ${got.error?.stack ?? got.error}`
      }
      const kept = steps.filter((s) => 'keep' in s).map((s) => s.keep)
      return resolvedTo(await within(outcome(mod.giveBack()), 20000, 'giveBack'), kept, 'what the worker kept')
    },
    { runs: 40, msPerRun: 1000 },
  )
})
