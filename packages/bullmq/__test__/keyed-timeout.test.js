'use strict'
// A keyed call whose run timed out does not poison its key: a call made again with the key runs,
// whatever order the first job's events and reads reach the parent in. The race once seen (a
// full npm test, a 1 ms timeout): the first job's `completed` event, read late, came after the
// second call had added its own job, and settled it with the first one's Timeout. Here that
// event is replayed at generated points instead of waited for.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const fc = require('fast-check')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { keyedJobId } = require('../lib/job')
const { fleetTest, hostedPool, until, fixtures } = require('./helpers/fleet')

const { test, redis } = fleetTest(__filename)

const call = (pool, method, args, options = {}) => pool[invoke.callMethod]('jobs.js', method, args, options)

/** The fields of the last `completed` entry of `jobId` in the queue's event stream. */
async function completedEntry(client, key, jobId) {
  const entries = await client.xrevrange(key, '+', '-')
  for (const [, fields] of entries) {
    const event = Object.fromEntries(fields.flatMap((f, i) => (i % 2 === 0 ? [[f, fields[i + 1]]] : [])))
    if (event.event === 'completed' && event.jobId === jobId) return fields
  }
  throw new Error(`no completed entry of ${jobId}`)
}

test('a keyed call made again after one that timed out runs, whenever the timed-out run\'s completed event comes (replayed before, with or during the second call)', async (t) => {
  t.timeout(180000)
  const { queue, inspect } = await hostedPool(t, redis, { inspect: true, pool: false })
  const client = await inspect.getBackend().client
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-keyed-timeout-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  let runs = 0
  await fc.assert(
    fc.asyncProperty(
      // 0 included: the first call's own job times out in the millisecond it was added.
      fc.integer({ min: 0, max: 30 }),
      fc.constantFrom('none', 'before', 'with', 'during'),
      // Polls read the job while the events come too (each read another order of the two).
      fc.constantFrom(10, 5000),
      async (ms, replay, pollInterval) => {
        const gate = path.join(dir, `gate-${++runs}`)
        const key = `k${runs}`
        const jobId = keyedJobId('jobs.js', 'waitFor', key)
        const keyed = remotePool({ queue, connection: redis.connection, root: fixtures, key: () => key, pollInterval, onError: () => {} })
        try {
          // The first run waits for a gate that is not there: its timeout ends it.
          const first = await call(keyed, 'waitFor', [gate], { timeout: ms }).catch((e) => e)
          if (!(first instanceof invoke.Timeout)) throw new Error(`the first call did not time out: ${first?.message ?? first}`)
          const old = await completedEntry(client, inspect.keys.events, jobId)
          const again = () => client.xadd(inspect.keys.events, '*', ...old)
          if (replay === 'before') await again()
          const second = call(keyed, 'waitFor', [gate]).catch((e) => e)
          if (replay === 'with') await again()
          if (replay === 'during') {
            // Its own job runs (the first one's removed): the old event now names the job of another run.
            await until(() => keyed.stats().running === 1, 'the second call to run')
            await again()
            // An entry that is no event after it: once the pool has read past that, it has read the old one.
            const bad = keyed.stats().badEvents
            await client.xadd(inspect.keys.events, '*', 'after', 'the replay')
            await until(() => keyed.stats().badEvents > bad, 'the pool to read the replayed event')
          }
          fs.writeFileSync(gate, '')
          const result = await second
          t.is(result, 'opened', `timeout ${ms}, replay ${replay}: the call made again got ${result?.message ?? result}`)
        } finally {
          await keyed.close({ force: true })
        }
      },
    ),
    { numRuns: 30 },
  )
})
