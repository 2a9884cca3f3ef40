'use strict'
// A remote pool's calls are published on `invoke-parallel:call` like a local pool's, and the
// traceparent a subscriber sets crosses Redis and the host into the worker that runs the call.

const path = require('node:path')
const dc = require('node:diagnostics_channel')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { redisTest, startRedis, startHost, queueName, fixtures } = require('./helpers/fleet')

const test = redisTest(__filename)
const calls = dc.tracingChannel('invoke-parallel:call')
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
let redis
let host
const queue = queueName()

test.before(async () => {
  redis = await startRedis()
  host = await startHost(redis, queue, { options: { modules: ['./values.js', './traced.js'] } })
})

test.after.always(async () => {
  await host?.kill()
  await redis?.stop()
})

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
