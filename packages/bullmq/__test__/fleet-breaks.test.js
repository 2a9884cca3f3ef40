'use strict'
// Breaks found by attacking the adapter as a hostile peer and as a fleet user would: a queue
// deadline longer than a timer takes, a pool closed while its Redis was never reached, a map
// chunk answered with what a host does not send, a host closed while its Redis was never reached, a
// host whose start fails, an event stream made again below the last entry read, keyed calls that cancel piling up behind one
// that waits.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')
const { spawn } = require('node:child_process')
const fc = require('fast-check')
const { Queue, Worker } = require('bullmq')
const codec = require('invoke-parallel/codec')
const invoke = require('invoke-parallel')
const { remotePool, serve } = require('invoke-parallel-bullmq')
const { fleetTest, hostedPool, startHost, queueName, until, untilAsync, fixtures } = require('./helpers/fleet')

const { test, redis } = fleetTest(__filename)

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'lines')
const settled = (promise) => promise.then((value) => ({ value }), (error) => ({ code: error.code }))

test('a queueTimeout longer than a timer takes (2^31 ms and more) does not end the wait at once', async (t) => {
  t.timeout(60000)
  const queue = queueName()
  const inspect = new Queue(queue, { connection: redis.connection })
  t.teardown(() => inspect.close())
  const timeouts = fc.sample(fc.oneof(fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER }), fc.constant(Number.MAX_VALUE)), 5)
  const file = tmpFile()
  const calls = timeouts.map((queueTimeout, i) => {
    const pool = remotePool({ queue, connection: redis.connection, root: fixtures, queueTimeout })
    t.teardown(() => pool.close({ force: true }))
    return settled(pool[invoke.callMethod]('jobs.js', 'record', [file, i], {}))
  })
  // No host yet: every call waits in the queue (Node ran each such timer after 1 ms, and the call
  // rejected with ERR_INVOKE_QUEUE_TIMEOUT, its job removed, before any host could start it).
  await untilAsync(async () => (await inspect.getJobCounts('prioritized')).prioritized === timeouts.length, 'the jobs to be queued')
  const host = await startHost(redis, queue)
  t.teardown(() => host.kill())
  t.deepEqual(await Promise.all(calls), timeouts.map((_, i) => ({ value: i })))
})

test('a pool whose Redis was never reached closes, idle or with a call cancelled by force', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-no-redis-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const connection = { path: path.join(dir, 'nothing-listens.sock') }
  const idle = remotePool({ queue: queueName(), connection, root: fixtures, onError: () => {} })
  await idle.close()
  const busy = remotePool({ queue: queueName(), connection, root: fixtures, onError: () => {} })
  const call = settled(busy[invoke.callMethod]('jobs.js', 'add', [1, 2], {}))
  // Its job's add waits for a Redis that never comes; the cancel that close() sends waited after it.
  await busy.close({ force: true })
  t.deepEqual(await call, { code: 'ERR_INVOKE_POOL_CLOSED' })
})

test('a map chunk answered with anything but its parts fails the map with a code (the adapter: ERR_INVOKE_BAD_REPLY; parts that are no chunk answer: ERR_INVOKE_BAD_ANSWER), and the pool goes on', async (t) => {
  t.timeout(60000)
  const queue = queueName()
  let forged = null
  // A host that is not one: it loads anything, and answers each map chunk with `forged`.
  const worker = new Worker(
    queue,
    async (job) => {
      if (job.name === 'load') return { names: ['square'] }
      if (job.data.f === invoke.mapChunk) return forged
      return { v: codec.encode(codec.decode(Buffer.from(job.data.a, 'base64'))[0] ** 2).toString('base64') }
    },
    { connection: redis.connection },
  )
  t.teardown(() => worker.close())
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures })
  t.teardown(() => pool.close({ force: true }))
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
  const encoded = (value) => ({ v: codec.encode(value).toString('base64') })
  const answer = fc.oneof(
    // A value that is not a list of parts, a list of what is not bytes, an empty list.
    fc.anything().map(encoded),
    fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 3 }).map(encoded),
    // Parts whose bytes are not a chunk's answer.
    fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 3 }).map((parts) => encoded(parts.map((p) => Buffer.from(p)))),
  )
  await fc.assert(
    fc.asyncProperty(answer, async (reply) => {
      forged = reply
      let error = null
      try {
        for await (const _ of invoke.map(jobs.square, [1, 2, 3])) {
        }
      } catch (err) {
        error = err
      }
      // The adapter refuses what is not a list of parts; the core refuses parts it cannot read.
      t.true(['ERR_INVOKE_BAD_REPLY', 'ERR_INVOKE_BAD_ANSWER'].includes(error?.code), `${error?.code}: ${error?.message}`)
    }),
    { numRuns: 30 },
  )
  t.is(await jobs.square(7), 49)
})

test('an event stream deleted after an entry with a later id than its new ones is read again: calls settle, cancels reach the host', async (t) => {
  t.timeout(60000)
  // No polling: a call settles only through the event stream.
  const { inspect, pool } = await hostedPool(t, redis, { inspect: true, pool: { pollInterval: 2 ** 31 - 1, onError: () => {} } })
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
  const client = await inspect.getBackend().client
  // An entry far ahead of the clock (forged, or written by a Redis whose clock ran ahead before a
  // failover), read by both readers; then the stream is made again, its ids from today's clock.
  const [ahead] = fc.sample(fc.integer({ min: Date.now() + 3.6e6, max: 2 ** 53 - 1 }), 1)
  await client.xadd(inspect.keys.events, `${ahead}-0`, 'event', 'anything')
  t.is(await jobs.add(1, 2), 3)
  await client.del(inspect.keys.events)
  t.is(await jobs.add(2, 3), 5)
  const file = tmpFile()
  const token = invoke.cancelToken()
  const running = jobs({ cancelToken: token }).noticeAbort(file)
  await until(() => fs.existsSync(file) && pool.stats().running === 1, 'the call to run')
  token.resolve()
  await t.throwsAsync(running, { instanceOf: invoke.Cancel })
  await until(() => fs.readFileSync(file, 'utf8') === 'started\naborted\n', "the host's worker to hear the cancel")
})

test('keyed calls that cancel while the first with their key waits are let go (memory does not grow with them)', async (t) => {
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc')
  // No host: the first call waits for ever.
  const pool = remotePool({ queue: queueName(), connection: redis.connection, root: fixtures, key: () => 'one' })
  t.teardown(() => pool.close({ force: true }))
  const first = pool[invoke.callMethod]('jobs.js', 'add', [1, 2], {})
  first.catch(() => {})
  const [count] = fc.sample(fc.integer({ min: 1, max: 50 }), 1)
  /** A call with the first's key, cancelled; a weak reference to it once it has rejected. */
  const cancelled = async (i) => {
    const token = i % 2 === 0 ? invoke.cancelToken() : new AbortController()
    const call = pool[invoke.callMethod]('jobs.js', 'add', [1, 2], { cancelToken: token.signal ?? token })
    if (token.abort) token.abort()
    else token.resolve()
    t.true(await call.then(() => false, (error) => error instanceof invoke.Cancel))
    return new WeakRef(call)
  }
  const followers = []
  for (let i = 0; i < count; i++) followers.push(await cancelled(i))
  await new Promise((resolve) => setImmediate(resolve))
  gc()
  t.is(followers.filter((ref) => ref.deref() !== undefined).length, 0)
  t.is(pool.stats().pending, 1)
})

test('a host whose Redis was never reached closes (a SIGTERM handler that closes it can end it), as does one closed at once', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-no-redis-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const options = { queue: queueName(), root: fixtures, modules: ['./jobs.js'], pool: { limit: 1 }, onError: () => {} }
  const unreached = serve({ ...options, connection: { path: path.join(dir, 'nothing-listens.sock') } })
  await unreached.close()
  // With Redis: closed before it started to take jobs.
  const early = serve({ ...options, connection: redis.connection })
  await early.close()
  t.pass()
})

test("a host whose start fails (its queue's event stream written over) reports it through onError and lives on", async (t) => {
  const queue = queueName()
  const inspect = new Queue(queue, { connection: redis.connection })
  t.teardown(() => inspect.close())
  const client = await inspect.getBackend().client
  await client.set(inspect.keys.events, 'not a stream')
  // A host as the README starts one: nothing looks at `ready`. Told to, it closes and exits 0.
  const script = `
    const { serve } = require('invoke-parallel-bullmq')
    const host = serve({ queue: ${JSON.stringify(queue)}, connection: ${JSON.stringify(redis.connection)},
      root: ${JSON.stringify(fixtures)}, modules: ['./jobs.js'], pool: { limit: 1 },
      onError: (err) => process.stdout.write('reported ' + err.message + '\\n') })
    process.stdin.once('data', () => host.close().then(() => process.exit(0)))
  `
  const child = spawn(process.execPath, ['-e', script], { cwd: __dirname, stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => child.kill('SIGKILL'))
  child.stdin.on('error', () => {}) // a child that died does not read it
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  await Promise.race([until(() => out.includes('reported'), 'the report'), exited])
  child.stdin.write('close\n')
  t.is(await exited, 0)
  t.regex(out, /reported .*WRONGTYPE/)
})
