'use strict'
// A remote pool's calls are published on `invoke-parallel:call` like a local pool's, and the
// traceparent a subscriber sets crosses Redis and the host into the worker that runs the call.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const dc = require('node:diagnostics_channel')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { fleetTest, startHost, queueName, until, untilAsync, fixtures } = require('./helpers/fleet')
const { Queue } = require('bullmq')

const { test, redis, fleet } = fleetTest(__filename, { host: { options: { modules: ['./values.js', './traced.js'] } } })
const { queue } = fleet
const calls = dc.tracingChannel('invoke-parallel:call')
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

test.serial('a remote call is published, and its traceparent reaches the host’s worker', async (t) => {
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require(path.join(fixtures, 'traced.js'), { pool })
  const ended = []
  const handlers = {
    start: (m) => (m.traceparent = TRACEPARENT),
    asyncEnd: (m) => ended.push({ method: m.method, outcome: m.outcome, pool: m.pool === pool, module: m.module }),
  }
  calls.subscribe(handlers)
  t.teardown(() => calls.unsubscribe(handlers))
  t.is(await traced.context(), TRACEPARENT)
  t.deepEqual(ended, [{ method: 'context', outcome: 'resolved', pool: true, module: path.join(fixtures, 'traced.js') }])
})

test.serial('without a subscriber, the traceparent call option crosses; a forged one in a job costs only the trace', async (t) => {
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require(path.join(fixtures, 'traced.js'), { pool })
  t.is(await traced({ traceparent: TRACEPARENT }).context(), TRACEPARENT)
  t.is(await traced.context(), null)
  // A job whose traceparent is not one (a caller that skipped the checks, or a forged job).
  for (const forged of ['not-a-traceparent', TRACEPARENT.toUpperCase(), { toString: () => TRACEPARENT }, 42]) {
    t.is(await pool[invoke.callMethod]('traced.js', 'context', [], {}, { traceparent: forged }), null)
  }
})

test.serial('a traced remote call tells its queue wait, its run time and its runs, for one trace of parent, queue and host', async (t) => {
  const own = queueName()
  const pool = remotePool({ queue: own, connection: redis.connection, root: fixtures, retry: { attempts: 2 } })
  t.teardown(() => pool.close({ force: true }))
  const inspect = new Queue(own, { connection: redis.connection })
  t.teardown(() => inspect.close())
  // The message tracedCall gives a pool; no host serves this queue yet, so the call waits.
  const message = { traceparent: TRACEPARENT }
  const call = pool[invoke.callMethod]('traced.js', 'context', [], {}, message)
  await untilAsync(async () => (await inspect.getJobCounts('prioritized')).prioritized === 1, 'the job to be queued')
  const queued = Date.now()
  await until(() => Date.now() - queued >= 300, '300 ms in the queue')
  const late = await startHost(redis, own, { options: { modules: ['./values.js', './traced.js', './jobs.js'] } })
  t.teardown(() => late.kill())
  t.is(await call, TRACEPARENT)
  t.true(message.waitMs >= 300, String(message.waitMs))
  t.true(message.runMs >= 0 && message.runMs < message.waitMs + 60000, String(message.runMs))
  t.is(message.attempt, 1)
  // A call that threw once and ran again under the retry policy: two runs.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'runs')
  const retried = {}
  t.is(await pool[invoke.callMethod]('jobs.js', 'failTimes', [file, 1], {}, retried), 2)
  t.is(retried.attempt, 2)
})
