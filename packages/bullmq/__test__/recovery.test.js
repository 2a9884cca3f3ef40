'use strict'
// At-least-once across hosts: a host killed mid-call has its job re-run on another (BullMQ's
// stalled-job recovery), up to 3 runs in all; noRetry starts a function at most once; a Redis that
// goes away fails the pending calls after redisTimeout. Each test has its own Redis and hosts,
// killed for real.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Queue } = require('bullmq')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { redisTest, startRedis, startHost, queueName, until, untilAsync, fixtures } = require('./helpers/fleet')

const test = redisTest(__filename)

async function fleet(t, poolOptions = {}) {
  const redis = await startRedis()
  const queue = queueName()
  const hosts = []
  t.teardown(async () => {
    await Promise.all(hosts.map((h) => h.kill()))
    await redis.stop({ kill: true })
  })
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures, ...poolOptions })
  t.teardown(() => pool.close({ force: true }))
  const host = async (name) => {
    const h = await startHost(redis, queue, { name })
    hosts.push(h)
    return h
  }
  return { redis, pool, host, queue }
}

const runsFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'runs')
const runs = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').length - 1 : 0)

test('a host killed mid-call has its job re-run on another host', async (t) => {
  t.timeout(60000)
  const { pool, host } = await fleet(t)
  const doomed = await host('doomed')
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
  const call = jobs.hangOn('doomed')
  await until(() => pool.stats().running === 1, 'the call to run on the doomed host')
  await doomed.kill('SIGKILL')
  await host('survivor')
  t.like(await call, { name: 'survivor' })
  t.like(pool.stats(), { retried: 1, completed: 1, pending: 0 })
})

test('a call whose every host dies runs 3 times in all, then rejects with invoke.Retry', async (t) => {
  t.timeout(90000)
  const { pool, host } = await fleet(t)
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool: await withHost(pool, host) })
  const file = runsFile()
  const call = jobs.killHost(file)
  const error = await replacingHosts(call, host)
  t.true(error instanceof invoke.Retry, String(error))
  t.regex(error.message, /stalled/)
  t.is(runs(file), 3)
})

test('noRetry: a job re-delivered after its host died is answered with Retry, not run again', async (t) => {
  t.timeout(60000)
  const { pool, host } = await fleet(t)
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool: await withHost(pool, host), noRetry: true })
  const file = runsFile()
  const error = await replacingHosts(jobs.killHost(file), host)
  t.true(error instanceof invoke.Retry, String(error))
  t.regex(error.message, /noRetry/)
  t.is(runs(file), 1)
})

test('rerunDelay: a job whose host died waits that long in the queue before it runs again', async (t) => {
  t.timeout(60000)
  const { pool, host, redis, queue } = await fleet(t, { rerunDelay: 3000 })
  const inspect = new Queue(queue, { connection: redis.connection })
  t.teardown(() => inspect.close())
  const first = await host('first')
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
  const file = runsFile()
  const call = jobs.killHostOnce(file)
  await first.exited
  await host('second')
  await untilAsync(async () => (await inspect.getJobCounts('delayed')).delayed === 1, 'the job to wait')
  t.like(await call, { name: 'second' })
  const [ran, ranAgain] = fs.readFileSync(file, 'utf8').split('\n').map(Number)
  t.true(ranAgain - ran >= 3000, `ran again ${ranAgain - ran} ms later`)
  t.like(pool.stats(), { retried: 1, completed: 1 })
})

test('a Redis that goes away fails the pending calls after redisTimeout, and later calls too', async (t) => {
  t.timeout(60000)
  const { redis, pool, host } = await fleet(t, { redisTimeout: 500 })
  await host('only')
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
  t.is(await jobs.add(1, 2), 3)
  const pending = jobs.hang()
  await until(() => pool.stats().running === 1, 'the call to run')
  await redis.stop({ kill: true })
  await t.throwsAsync(pending, { code: 'ERR_INVOKE_REDIS_UNAVAILABLE' })
  await t.throwsAsync(jobs.add(1, 2), { code: 'ERR_INVOKE_REDIS_UNAVAILABLE' })
  t.is(pool.stats().pending, 0)
})

/** Starts a host first, so that the require's load is answered; returns the pool. */
async function withHost(pool, host) {
  await host('first')
  return pool
}

/** Starts a new host each time the last one dies, until `call` settles; resolves to its error. */
async function replacingHosts(call, host) {
  let settled = false
  const outcome = call.then(
    () => new Error('the call returned'),
    (err) => err,
  )
  outcome.then(() => (settled = true))
  let started = 0
  // The first host is already running; its death and each later one start the next.
  while (!settled && started < 5) {
    const next = await Promise.race([outcome.then(() => null), host(`replacement-${++started}`).catch(() => null)])
    if (next === null) break
    await Promise.race([outcome, next.exited])
  }
  return outcome
}
