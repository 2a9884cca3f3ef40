'use strict'
// A Redis that restarts empty (no persistence) under pending calls of every kind: keyed calls add
// their jobs again and run once a host comes; the others reject with a code. None hangs, nor do
// calls and closes when Redis stops answering with its connections open.

const path = require('node:path')
const fc = require('fast-check')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { Queue } = require('bullmq')
const { redisTest, startRedis, startHost, queueName, untilAsync, fixtures } = require('./helpers/fleet')

const test = redisTest(__filename)

/** What a call may end with when its job vanished with Redis's data. */
const LOST = ['ERR_INVOKE_JOB_LOST', 'ERR_INVOKE_QUEUE_TIMEOUT']

test('a Redis restarted empty under keyed, prioritized and queue-deadline calls: keyed ones run, the rest reject with a code', async (t) => {
  t.timeout(120000)
  let redis = await startRedis()
  t.teardown(() => redis.stop({ kill: true }))
  const queue = queueName()
  const base = { queue, connection: redis.connection, root: fixtures, pollInterval: 100, redisTimeout: 60000, onError: () => {} }
  const keyed = remotePool({ ...base, key: (m, f, args) => JSON.stringify(args) })
  const plain = remotePool(base)
  const deadline = remotePool({ ...base, queueTimeout: 60000 })
  t.teardown(() => Promise.all([keyed, plain, deadline].map((pool) => pool.close({ force: true }))))
  const [priorities] = fc.sample(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 6 }), 1)
  // No host yet: every call waits in the queue when Redis loses it.
  const calls = []
  for (const [i, priority] of priorities.entries()) {
    for (const [kind, pool] of [['keyed', keyed], ['plain', plain], ['deadline', deadline]]) {
      const made = pool[invoke.callMethod]('jobs.js', 'add', [i, priority], { priority })
      calls.push({ kind, sum: i + priority, settled: made.then((value) => ({ value }), (error) => ({ code: error.code })) })
    }
  }
  // Every job in Redis (every call has a priority): none is still on its way when Redis goes.
  const inspect = new Queue(queue, { connection: redis.connection })
  await untilAsync(async () => (await inspect.getJobCounts('prioritized')).prioritized === calls.length, 'the jobs to be queued')
  await inspect.close()
  redis = await redis.restart()
  const host = await startHost(redis, queue)
  t.teardown(() => host.kill())
  for (const { kind, sum, settled } of calls) {
    const outcome = await settled
    if (kind === 'keyed') t.deepEqual(outcome, { value: sum })
    else t.true(LOST.includes(outcome.code), `${kind}: ${JSON.stringify(outcome)}`)
  }
  t.is(path.basename(redis.connection.path), 'redis.sock')
})

test('a Redis that stops answering with its connections open (SIGSTOP): pending calls reject with ERR_INVOKE_REDIS_UNAVAILABLE, and close() settles, forced or not', async (t) => {
  t.timeout(120000)
  const redis = await startRedis()
  t.teardown(async () => {
    process.kill(redis.pid, 'SIGCONT')
    await redis.stop({ kill: true })
  })
  for (const force of [false, true]) {
    const queue = queueName()
    const inspect = new Queue(queue, { connection: redis.connection })
    const pool = remotePool({ queue, connection: redis.connection, root: fixtures, pollInterval: 50, redisTimeout: 200, onError: () => {} })
    // No host: the call waits in the queue, then Redis stops answering.
    const made = pool[invoke.callMethod]('jobs.js', 'add', [1, 2], {})
    const settled = made.then((value) => ({ value }), (error) => ({ code: error.code }))
    await untilAsync(async () => (await inspect.getJobCounts('prioritized')).prioritized === 1, 'the job to be queued')
    await inspect.close()
    process.kill(redis.pid, 'SIGSTOP')
    if (force) {
      await pool.close({ force: true })
      // The PING may have found Redis stopped before the close came (a loaded machine is slow).
      t.true(['ERR_INVOKE_POOL_CLOSED', 'ERR_INVOKE_REDIS_UNAVAILABLE'].includes((await settled).code))
    } else {
      t.deepEqual(await settled, { code: 'ERR_INVOKE_REDIS_UNAVAILABLE' })
      await pool.close()
    }
    process.kill(redis.pid, 'SIGCONT')
  }
})
