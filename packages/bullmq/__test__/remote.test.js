'use strict'
// The remote pool against real Redis and a real host process: values and errors cross as on a
// local pool, the allowlist holds, and every way a call can end is reported to its caller.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const net = require('node:net')
const { spawn } = require('node:child_process')
const fc = require('fast-check')
const { Queue } = require('bullmq')
const Redis = require('ioredis')
const invoke = require('invoke-parallel')
const codec = require('invoke-parallel/codec')
const { remotePool } = require('invoke-parallel-bullmq')
const { fleetTest, hostedPool, startHost, queueName, until, untilAsync, fixtures } = require('./helpers/fleet')

const { test, redis, fleet } = fleetTest(__filename, { host: {} })
const { queue } = fleet
const runs = Number(process.env.INVOKE_FUZZ_RUNS ?? 300) / 6

function pool(t, options = {}) {
  const p = remotePool({ queue, connection: redis.connection, root: fixtures, ...options })
  t.teardown(() => p.close({ force: true }))
  return p
}

const load = (p, name) => invoke.require(path.join(fixtures, name), { pool: p })
const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'marker')

test('generated values cross a host and come back equal', async (t) => {
  t.timeout(60000)
  const values = await load(pool(t), 'values.js')
  const value = fc.anything({
    withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true,
    withNullPrototype: false, withBoxedValues: false, withSparseArray: true,
  })
  await fc.assert(fc.asyncProperty(value, async (v) => t.deepEqual(await values.echo(v), v)), { numRuns: runs })
})

test('generated errors arrive with their class, message, code and cause', async (t) => {
  t.timeout(60000)
  const values = await load(pool(t), 'values.js')
  const description = fc.record(
    {
      kind: fc.constantFrom('Error', 'TypeError', 'RangeError', 'SyntaxError', 'URIError'),
      message: fc.string(),
      code: fc.string({ minLength: 1 }),
      cause: fc.string(),
    },
    { requiredKeys: ['kind', 'message'] },
  )
  await fc.assert(
    fc.asyncProperty(description, async (d) => {
      const error = await values.throwError(d).then(() => null, (e) => e)
      t.true(error instanceof globalThis[d.kind])
      t.is(error.message, d.message)
      t.is(error.code, d.code)
      t.is(error.cause?.message, d.cause)
    }),
    { numRuns: runs },
  )
  const thrown = await values.throwValue({ not: 'an error' }).then(() => null, (e) => e)
  t.deepEqual(thrown, { not: 'an error' })
})

test('payloads over maxMessageSize reject with ERR_INVOKE_MESSAGE_TOO_LARGE, both ways', async (t) => {
  const p = pool(t, { maxMessageSize: 4096 })
  const jobs = await load(p, 'jobs.js')
  const values = await load(p, 'values.js')
  await t.throwsAsync(values.echo('y'.repeat(5000)), { code: 'ERR_INVOKE_MESSAGE_TOO_LARGE', instanceOf: RangeError })
  // The host has the default cap: the result is refused by the parent's.
  await t.throwsAsync(jobs.bigResult(5000), { code: 'ERR_INVOKE_MESSAGE_TOO_LARGE' })
  t.is(await jobs.add(1, 2), 3)
})

test('maxMessageSize means the same bytes on both sides: exactly the limit crosses, one byte more is refused', async (t) => {
  t.timeout(60000)
  const max = 4096
  const { pool: p } = await hostedPool(t, redis, { host: { options: { maxMessageSize: max } }, pool: { maxMessageSize: max } })
  const jobs = await load(p, 'jobs.js')
  const values = await load(p, 'values.js')
  // Strings of one-byte characters: each character more is one byte more, encoded.
  const resultOverhead = codec.encode('x'.repeat(max)).length - max
  const argsOverhead = codec.encode(['x'.repeat(max)]).length - max
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: -4, max: 4 }), fc.boolean(), async (excess, asResult) => {
      const call = asResult
        ? jobs.bigResult(max + excess - resultOverhead)
        : values.echo('x'.repeat(max + excess - argsOverhead))
      if (excess <= 0) t.is((await call).length, max + excess - (asResult ? resultOverhead : argsOverhead))
      else await t.throwsAsync(call, { code: 'ERR_INVOKE_MESSAGE_TOO_LARGE' })
    }),
    { numRuns: 30, examples: [[0, true], [0, false], [1, true], [1, false]] },
  )
})

test('a module outside the allowlist, or outside root, rejects with MODULE_NOT_FOUND', async (t) => {
  const p = pool(t)
  await t.throwsAsync(load(p, 'secret.js'), { code: 'MODULE_NOT_FOUND', message: /allowlist/ })
  await t.throwsAsync(invoke.require(__filename, { pool: p }), { code: 'MODULE_NOT_FOUND', message: /outside root/ })
  t.deepEqual(Object.keys(await load(p, 'values.js')), ['echo', 'throwValue', 'throwError'])
})

test('an error thrown by the function is its result: the call is not run again', async (t) => {
  const jobs = await load(pool(t), 'jobs.js')
  const file = tmpFile()
  await t.throwsAsync(jobs.countAndThrow(file), { instanceOf: RangeError, code: 'E_COUNTED' })
  t.is(fs.readFileSync(file, 'utf8'), 'run\n')
})

test("a worker that dies inside a host is replaced by the host's pool and the call retried there", async (t) => {
  const p = pool(t)
  const jobs = await load(p, 'jobs.js')
  const ran = await jobs.diesOnce(tmpFile())
  t.is(ran.host, fleet.host.pid)
  t.is(p.stats().retried, 0)
})

test("timeout rejects with invoke.Timeout and aborts the worker's signal", async (t) => {
  // A host of its own, idle: its ready worker takes the call at once, which starts the clock.
  const { pool: p } = await hostedPool(t, redis)
  const jobs = await load(p, 'jobs.js')
  const file = tmpFile()
  await t.throwsAsync(jobs({ timeout: 100 }).noticeAbort(file), { instanceOf: invoke.Timeout })
  await until(() => fs.existsSync(file) && fs.readFileSync(file, 'utf8') === 'started\naborted\n', "the worker's abort")
  t.pass()
})

test("the timeout clock starts on the host's worker, not while the job waits in the queue", async (t) => {
  const name = queueName()
  const p = remotePool({ queue: name, connection: redis.connection, root: fixtures })
  t.teardown(() => p.close({ force: true }))
  // No host serves this queue yet: the proxy's call is made by hand.
  const call = p[invoke.callMethod]('jobs.js', 'add', [20, 22], { timeout: 1000 })
  const queuedAt = Date.now()
  await until(() => Date.now() - queuedAt > 2500, 'the job to wait longer than its timeout')
  const own = await startHost(redis, name)
  t.teardown(() => own.kill())
  t.is(await call, 42)
})

test("cancelling a running call rejects it at once and reaches the worker's signal()", async (t) => {
  const p = pool(t)
  const jobs = await load(p, 'jobs.js')
  const file = tmpFile()
  const token = invoke.cancelToken()
  const call = jobs({ cancelToken: token }).noticeAbort(file)
  await until(() => fs.existsSync(file), 'the call to start in a worker')
  await until(() => p.stats().running === 1, "the job's active event")
  token.resolve()
  await t.throwsAsync(call, { instanceOf: invoke.Cancel })
  await until(() => fs.readFileSync(file, 'utf8') === 'started\naborted\n', "the worker's abort")
  t.is(p.stats().pending, 0)
})

test('cancelling a queued call removes its job from the queue', async (t) => {
  const name = queueName()
  const p = remotePool({ queue: name, connection: redis.connection, root: fixtures })
  t.teardown(() => p.close({ force: true }))
  const inspect = new Queue(name, { connection: redis.connection })
  t.teardown(() => inspect.close())
  // No host serves this queue: the proxy is made by hand, as invoke.require would after a load.
  const controller = new AbortController()
  const call = p[invoke.callMethod]('jobs.js', 'add', [1, 2], { cancelToken: controller.signal })
  let counts
  // Calls wait among the prioritized jobs (each call has a priority, 0 by default).
  await untilAsync(async () => (counts = await inspect.getJobCounts('prioritized')).prioritized === 1, 'the job to be queued')
  controller.abort(new Error('changed my mind'))
  const error = await t.throwsAsync(call, { instanceOf: invoke.Cancel })
  t.is(error.cause.message, 'changed my mind')
  await untilAsync(async () => (counts = await inspect.getJobCounts('prioritized')).prioritized === 0, 'the job to be removed')
  t.deepEqual(counts, { prioritized: 0 })
})

test('a job removed from the queue, or evicted without an event, rejects its call instead of hanging', async (t) => {
  const name = queueName()
  const p = remotePool({ queue: name, connection: redis.connection, root: fixtures, pollInterval: 50 })
  t.teardown(() => p.close({ force: true }))
  const inspect = new Queue(name, { connection: redis.connection })
  t.teardown(() => inspect.close())
  const removed = p[invoke.callMethod]('jobs.js', 'add', [1, 2], {})
  const evicted = p[invoke.callMethod]('jobs.js', 'add', [3, 4], {})
  let waiting = []
  await untilAsync(async () => (waiting = await inspect.getPrioritized()).length === 2, 'the jobs to be queued')
  const [first, second] = waiting.sort((a, b) => a.timestamp - b.timestamp || a.id.localeCompare(b.id))
  await inspect.remove(first.id)
  // As if Redis evicted it: no event says so.
  const client = await inspect.getBackend().client
  await client.del(inspect.toKey(second.id))
  const errors = await Promise.all([removed, evicted].map((call) => call.then(() => null, (e) => e)))
  t.deepEqual(errors.map((e) => e?.code).sort(), ['ERR_INVOKE_JOB_LOST', 'ERR_INVOKE_JOB_LOST'])
})

test('streams and sockets reject with ERR_INVOKE_REMOTE_UNSUPPORTED', async (t) => {
  const jobs = await load(pool(t), 'jobs.js')
  await t.throwsAsync(jobs.stream(), { code: 'ERR_INVOKE_REMOTE_UNSUPPORTED' })
  await t.throwsAsync(jobs.server(), { code: 'ERR_INVOKE_REMOTE_UNSUPPORTED' })
  const socket = new net.Socket()
  await t.throwsAsync(jobs.add(socket), { code: 'ERR_INVOKE_REMOTE_UNSUPPORTED' })
  socket.destroy()
})

test('maxQueue refuses calls beyond it, whenRoom() waits for room, stats() counts', async (t) => {
  const p = pool(t, { maxQueue: 2 })
  const jobs = await load(p, 'jobs.js')
  const token = invoke.cancelToken()
  const held = [jobs({ cancelToken: token }).hang(), jobs({ cancelToken: token }).hang()]
  await t.throwsAsync(jobs.add(1, 1), { code: 'ERR_INVOKE_QUEUE_FULL' })
  let room = false
  const waiting = p.whenRoom().then(() => (room = true))
  t.false(room)
  t.is(p.stats().pending, 2)
  token.resolve()
  await Promise.all(held.map((call) => t.throwsAsync(call, { instanceOf: invoke.Cancel })))
  await waiting
  t.is(await jobs.add(1, 1), 2)
  t.like(p.stats(), { pending: 0, completed: 1, failed: 1, queued: 0, running: 0 })
})

test('the parent exits by itself once no call is pending (idle Redis connections do not hold it)', async (t) => {
  t.timeout(30000)
  const script = `
    const invoke = require('invoke-parallel')
    const { remotePool } = require('invoke-parallel-bullmq')
    const pool = remotePool({ queue: ${JSON.stringify(queue)}, connection: ${JSON.stringify(redis.connection)}, root: ${JSON.stringify(fixtures)} })
    invoke.require(${JSON.stringify(path.join(fixtures, 'jobs.js'))}, { pool }).then((jobs) => jobs.add(20, 22)).then(console.log)
  `
  const child = spawn(process.execPath, ['-e', script], { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (chunk) => (out += chunk))
  const code = await new Promise((resolve) => child.once('exit', resolve))
  t.is(code, 0)
  t.is(out, '42\n')
})

test('a host that answers with something other than a reply fails that call alone', async (t) => {
  const name = queueName()
  const hostile = spawn(process.execPath, [path.join(fixtures, 'hostile-host.js'), name, redis.connection.path], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  t.teardown(() => hostile.kill('SIGKILL'))
  const p = remotePool({ queue: name, connection: redis.connection, root: fixtures, maxMessageSize: 4096 })
  t.teardown(() => p.close({ force: true }))
  const call = (...args) => p[invoke.callMethod]('jobs.js', 'answer', args, {})
  for (const reply of [null, 'text', [1], { v: 1 }, { v: '!!!!' }, { e: 'AAAA' }, { x: { kind: 'nope' } }, { v: 'AA', e: 'AA' }]) {
    await t.throwsAsync(call(reply), { code: 'ERR_INVOKE_BAD_REPLY' }, JSON.stringify(reply))
  }
  await t.throwsAsync(call({ v: Buffer.alloc(8192).toString('base64') }), { code: 'ERR_INVOKE_MESSAGE_TOO_LARGE' })
  t.is(await call({ v: Buffer.from('"fine"').toString('base64') }), 'fine')
})

test('a client given as connection is used, and left open by close()', async (t) => {
  const client = new Redis({ path: redis.connection.path, maxRetriesPerRequest: null })
  t.teardown(() => client.disconnect())
  const p = remotePool({ queue, connection: client, root: fixtures })
  const jobs = await load(p, 'jobs.js')
  t.is(await jobs.add(2, 3), 5)
  await p.close()
  t.is(client.status, 'ready')
  t.is(await client.ping(), 'PONG')
})
