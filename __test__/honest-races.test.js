'use strict'
// The parent now treats an Awaiting for a call the worker does not hold, and a Pace with nothing
// to report while it holds none, as lies. An honest worker's word crosses cancels, timeouts and
// answers all the time: generated mixes of calls that await, compute or answer at once, cancelled
// or timed out at random points, never get an honest worker judged a liar.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { watchedPool } = require('./helpers/pools')

const ECHO = require.resolve('./fixtures/echo')
const DISPATCH = require.resolve('./fixtures/dispatch')

const call = fc.record({
  kind: fc.constantFrom('sleep', 'spin', 'echo'),
  ms: fc.integer({ min: 0, max: 8 }),
  cancelAfter: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  timeout: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
})

test('honest workers are never judged liars while their calls are cancelled, time out and answer', async (t) => {
  t.timeout(180000)
  const { pool, errors } = watchedPool(t, { limit: 2, minimum: 2, cancelGrace: 2000 })
  const echo = await invoke.require(ECHO, { pool })
  const work = await invoke.require(DISPATCH, { pool })
  await fc.assert(
    fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 60 }), async (calls) => {
      const settled = calls.map(({ kind, ms, cancelAfter, timeout }) => {
        const controller = new AbortController()
        if (cancelAfter !== undefined) setTimeout(() => controller.abort(), cancelAfter)
        const options = { cancelToken: controller.signal, timeout }
        const promise =
          kind === 'sleep' ? echo(options).sleep(ms) : kind === 'spin' ? work(options).spin(ms / 4) : echo(options).echo(ms)
        return promise.then(
          () => 'ok',
          (error) => (error instanceof invoke.Cancel || error instanceof invoke.Timeout ? 'stopped' : error),
        )
      })
      for (const outcome of await Promise.all(settled)) if (outcome !== 'ok' && outcome !== 'stopped') throw outcome
      const lies = errors.filter((e) => /broke the protocol/.test(e.message))
      if (lies.length > 0) throw lies[0]
    }),
    { numRuns: 40 },
  )
  t.pass()
  await pool.close()
})
