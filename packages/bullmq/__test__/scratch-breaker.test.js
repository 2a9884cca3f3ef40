'use strict'
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Queue, Worker } = require('bullmq')
const codec = require('invoke-parallel/codec')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { redisTest, startRedis, startHost, queueName, until, untilAsync, fixtures } = require('./helpers/fleet')

const test = redisTest(__filename)
let redis
test.before(async () => { redis = await startRedis() })
test.after.always(async () => { await redis?.stop() })
const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'lines')
const lines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(0, -1) : [])
const call = (pool, method, args, options = {}) => pool[invoke.callMethod]('jobs.js', method, args, options)

function setUp(t, options = {}) {
  const queue = queueName()
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures, onError: () => {}, ...options })
  t.teardown(() => pool.close({ force: true }))
  const inspect = new Queue(queue, { connection: redis.connection })
  t.teardown(() => inspect.close())
  const host = async (hostOptions) => {
    const h = await startHost(redis, queue, { options: hostOptions })
    t.teardown(() => h.kill())
    return h
  }
  return { queue, pool, inspect, host }
}

test('A huge queueTimeout', async (t) => { t.pass()
  const { pool, inspect, host } = setUp(t, { queueTimeout: 2 ** 31 })
  const file = tmpFile()
  const c = call(pool, 'record', [file, 'x']).then((v) => ({ v }), (e) => ({ e: e.code }))
  await untilAsync(async () => { const n = await inspect.getJobCounts('prioritized', 'wait'); return n.prioritized + n.wait === 1 }, 'queued', 5000).catch(() => {})
  await new Promise((r) => setTimeout(r, 300))
  await host()
  t.log(await c)
})

test('B keyed call after a cancelled keyed call', async (t) => { t.pass()
  const { pool, host } = setUp(t, { key: (m, f, args) => 'k' })
  await host()
  const file = tmpFile()
  const token = invoke.cancelToken()
  const first = call(pool, 'hangUntilAborted', [file], { cancelToken: token })
  await until(() => lines(file).length === 1, 'started')
  await until(() => pool.stats().running === 1, 'running')
  token.resolve()
  t.log('first', await first.then((v) => v, (e) => e.constructor.name))
  await until(() => lines(file).length === 2, 'aborted')
  const second = await call(pool, 'hangUntilAborted', [file], { timeout: 500 }).then((v) => v, (e) => e.constructor.name)
  t.log('second', second, lines(file))
})

test('C keyed leader cancelled: follower', async (t) => { t.pass()
  const { pool, host } = setUp(t, { key: (m, f, args) => 'k' })
  await host()
  const file = tmpFile()
  const token = invoke.cancelToken()
  const leader = call(pool, 'record', [file, 'a'], { cancelToken: token }).then((v) => v, (e) => e.constructor.name)
  const follower = call(pool, 'record', [file, 'a']).then((v) => v, (e) => e.constructor.name)
  token.resolve()
  t.log(await leader, await follower, lines(file))
})

test('D close force with no redis', async (t) => { t.pass()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nore-'))
  const pool = remotePool({ queue: 'x', connection: { path: path.join(dir, 'none.sock') }, root: fixtures, redisTimeout: 200, onError: () => {} })
  const c = call(pool, 'add', [1, 2]).then((v) => v, (e) => e.code)
  const closed = pool.close({ force: true }).then(() => 'closed')
  const r = await Promise.race([closed, new Promise((r) => setTimeout(() => r('close hangs 5s'), 5000))])
  t.log(await c, r)
})

test('E forged chunk answer', async (t) => { t.pass()
  const queue = queueName()
  const worker = new Worker(queue, async (job) => {
    if (job.name === 'load') return { names: ['square'] }
    return { v: codec.encode(42).toString('base64') }
  }, { connection: redis.connection })
  t.teardown(() => worker.close())
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures })
  t.teardown(() => pool.close({ force: true }))
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
  try {
    for await (const x of invoke.map(jobs.square, [1, 2, 3])) t.log(x)
  } catch (e) { t.log('map threw', e.message, 'code', e.code) }
})

test('F future id then DEL', async (t) => {
  const { pool, inspect, host } = setUp(t, { pollInterval: 2 ** 31 - 1 })
  await host()
  const client = await inspect.getBackend().client
  t.is(await call(pool, 'add', [1, 2]), 3)
  await client.xadd(inspect.keys.events, '9999999999999-0', 'event', 'nothing')
  t.is(await call(pool, 'add', [2, 2]), 4)
  await client.del(inspect.keys.events)
  const r = await Promise.race([call(pool, 'add', [3, 2]), new Promise((r) => setTimeout(() => r('pending 8s'), 8000))])
  t.log(r)
})

test('G racing keys', async (t) => {
  const fc = require('fast-check')
  const queue = queueName()
  const h = await startHost(redis, queue)
  t.teardown(() => h.kill())
  let round = 0
  await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 5 }), fc.boolean(), async (n, cancelOne) => {
    const file = tmpFile()
    const key = `k${round++}`
    const pools = Array.from({ length: n }, () => remotePool({ queue, connection: redis.connection, root: fixtures, key: () => key, onError: () => {} }))
    const controller = new AbortController()
    const calls = pools.map((p, i) => call(p, 'record', [file, key], i === 0 && cancelOne ? { cancelToken: controller.signal } : {}).then((v) => v, (e) => e.code ?? e.constructor.name))
    if (cancelOne) controller.abort()
    const r = await Promise.all(calls)
    await Promise.all(pools.map((p) => p.close()))
    t.log(n, cancelOne, r, lines(file))
  }), { numRuns: 8 })
})

test('H SIGSTOP host with noRetry', async (t) => {
  const { pool, host } = setUp(t)
  const h1 = await host()
  const file = tmpFile()
  const c = call(pool, 'spin', [200, file], { noRetry: true }).then((v) => ({ v }), (e) => ({ e: e.code ?? e.constructor.name, m: e.message }))
  await until(() => pool.stats().running === 1, 'running')
  process.kill(h1.pid, 'SIGSTOP')
  const h2 = await host()
  t.log(await c)
  process.kill(h1.pid, 'SIGCONT')
  t.log(lines(file))
  t.is(await call(pool, 'add', [1, 2]), 3)
})

test('I host close with no redis', async (t) => {
  const { serve } = require('invoke-parallel-bullmq')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nore-'))
  const host = serve({ queue: 'x', connection: { path: path.join(dir, 'none.sock') }, root: fixtures, modules: ['./jobs.js'], pool: { limit: 1 }, onError: () => {} })
  const r = await Promise.race([host.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('close hangs 8s'), 8000))])
  t.log(r)
})

test('J host close after redis gone', async (t) => {
  const { serve } = require('invoke-parallel-bullmq')
  const own = await startRedis()
  const host = serve({ queue: 'x', connection: own.connection, root: fixtures, modules: ['./jobs.js'], pool: { limit: 1 }, onError: () => {} })
  await host.ready
  await own.stop({ kill: true })
  const r = await Promise.race([host.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('close hangs 8s'), 8000))])
  t.log(r)
})

test('K events key wrong type', async (t) => {
  const { serve } = require('invoke-parallel-bullmq')
  const queue = queueName()
  const inspect = new Queue(queue, { connection: redis.connection })
  t.teardown(() => inspect.close())
  const client = await inspect.getBackend().client
  await client.set(inspect.keys.events, 'not a stream')
  const errs = []
  const host = serve({ queue, connection: redis.connection, root: fixtures, modules: ['./jobs.js'], pool: { limit: 1 }, onError: (e) => errs.push(e.message) })
  const r = await host.ready.then(() => 'ready', (e) => 'ready rejected: ' + e.message)
  t.log(r, errs)
  await host.close()
})

test('L host close went away loop', async (t) => {
  t.timeout(120000)
  const { serve } = require('invoke-parallel-bullmq')
  for (let i = 0; i < 15; i++) {
    const own = await startRedis()
    const stages = []
    const host = serve({ queue: queueName(), connection: own.connection, root: fixtures, modules: ['./jobs.js'], pool: { limit: 1 }, onError: (e) => stages.push('err ' + e.message) })
    await host.ready
    await own.stop({ kill: true })
    const r = await Promise.race([host.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('HANG'), 6000))])
    if (r === 'HANG') { t.log(i, r, stages); break }
  }
})
