'use strict'
// invoke.map over a remote pool: its chunks are jobs, each run on a host's own pool as a local
// map chunk, and the map keeps its promises (order, settle, signal, timeout) across the queue.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const fc = require('fast-check')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { redisTest, startRedis, startHost, queueName, until, fixtures } = require('./helpers/fleet')

const test = redisTest(__filename)
let redis
let host
let queue
let pool
let jobs

test.before(async () => {
  redis = await startRedis()
  queue = queueName()
  host = await startHost(redis, queue)
  pool = remotePool({ queue, connection: redis.connection, root: fixtures })
  jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
})

test.after.always(async () => {
  await pool?.close({ force: true })
  await host?.kill()
  await redis?.stop()
})

async function collect(iterable) {
  const out = []
  for await (const value of iterable) out.push(value)
  return out
}

test('generated items come back mapped, in input order, over chunks of every size', async (t) => {
  t.timeout(60000)
  const items = fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 400 })
  const chunk = fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined })
  await fc.assert(
    fc.asyncProperty(items, chunk, async (list, size) => {
      t.deepEqual(await collect(invoke.map(jobs.square, list, { chunk: size })), list.map((x) => x * x))
    }),
    { numRuns: 15 },
  )
  const unordered = await collect(invoke.map(jobs.square, [1, 2, 3, 4, 5, 6], { ordered: false, chunk: 2 }))
  t.deepEqual(unordered.sort((a, b) => a - b), [1, 4, 9, 16, 25, 36])
})

test('settle gives each item its outcome, its error with class and code; without it the map stops at the first failure', async (t) => {
  const items = [2, 4, 5, 6, 7]
  const settled = await collect(invoke.map(jobs.failOdd, items, { settle: true, chunk: 2 }))
  t.deepEqual(settled.map((o) => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected'])
  t.true(settled[2].reason instanceof RangeError)
  t.is(settled[2].reason.code, 'E_ODD')
  const seen = []
  const error = await t.throwsAsync(async () => {
    for await (const value of invoke.map(jobs.failOdd, items, { chunk: 2 })) seen.push(value)
  })
  t.deepEqual(seen, [2, 4])
  t.is(error.code, 'E_ODD')
})

test("signal cancels the map: it throws Cancel and the chunks' workers see their signal abort", async (t) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'aborted')
  const controller = new AbortController()
  const mapping = collect(invoke.map(jobs.hangUntilAborted, [file, file], { signal: controller.signal, chunk: 1 }))
  const lines = (word) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l === word).length : 0)
  await until(() => lines('started') === 2, 'both chunks to start in workers')
  controller.abort()
  await t.throwsAsync(mapping, { instanceOf: invoke.Cancel })
  await until(() => lines('aborted') === 2, "the workers' aborts")
  t.pass()
})

test('timeout is per item: a chunk past it fails its items with Timeout', async (t) => {
  const error = await t.throwsAsync(collect(invoke.map(jobs.hang, [1, 2], { timeout: 100, chunk: 2 })))
  t.true(error instanceof invoke.Timeout, String(error))
  t.is(await jobs.add(1, 2), 3)
})

test("a pool's key never applies to a map's chunks: one key for every call does not make the chunks one job", async (t) => {
  const keyed = remotePool({ queue, connection: redis.connection, root: fixtures, key: () => 'the same for every call' })
  t.teardown(() => keyed.close({ force: true }))
  const keyedJobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool: keyed })
  t.deepEqual(await collect(invoke.map(keyedJobs.square, [1, 2, 3, 4, 5], { chunk: 2 })), [1, 4, 9, 16, 25])
})
