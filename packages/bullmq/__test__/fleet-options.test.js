'use strict'
// What fleet users expect of remote calls (BullMQ, Temporal, NATS): priorities that reach the
// queue, a deadline on the wait in the queue apart from the run, idempotency keys that survive a
// parent's crash, and hosts that keep their locks while their work blocks.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const fc = require('fast-check')
const codec = require('invoke-parallel/codec')
const invoke = require('invoke-parallel')
const { readReply } = require('../lib/reply')
const { fleetTest, hostedPool, untilAsync, fixtures } = require('./helpers/fleet')

const { test, redis } = fleetTest(__filename)

/** A pool with `options` and a Queue to inspect with, no host yet: `host(options)` starts one. */
async function setUp(t, options = {}) {
  const { queue, pool, inspect } = await hostedPool(t, redis, { inspect: true, host: false, pool: options })
  const host = async (hostOptions) => (await hostedPool(t, redis, { queue, host: { options: hostOptions }, pool: false })).host
  return { queue, pool, inspect, host }
}

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'lines')
const lines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(0, -1) : [])
const call = (pool, method, args, options = {}) => pool[invoke.callMethod]('jobs.js', method, args, options)

const queued = async (inspect) => {
  const counts = await inspect.getJobCounts('wait', 'prioritized')
  return counts.wait + counts.prioritized
}

test('priorities pass through to the queue: a host starts the higher first, and in call order within one', async (t) => {
  // Each run starts a host process: several seconds each on a loaded machine.
  t.timeout(240000)
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 2, maxLength: 10 }), async (priorities) => {
      const { pool, inspect, host } = await setUp(t)
      const file = tmpFile()
      // No host yet: every call waits in the queue.
      const calls = priorities.map((priority, i) => call(pool, 'record', [file, i], { priority }))
      await untilAsync(async () => (await queued(inspect)) === priorities.length, 'the jobs to be queued')
      await host({ concurrency: 1 })
      await Promise.all(calls)
      const expected = priorities.map((priority, i) => ({ priority, i })).sort((a, b) => b.priority - a.priority || a.i - b.i)
      t.deepEqual(lines(file).map(Number), expected.map(({ i }) => i))
    }),
    { numRuns: 4 },
  )
})

test('queueTimeout: a call no host starts in time rejects with ERR_INVOKE_QUEUE_TIMEOUT and its job is removed', async (t) => {
  const { pool, inspect } = await setUp(t, { queueTimeout: 200 })
  const file = tmpFile()
  await t.throwsAsync(call(pool, 'record', [file, 'late']), { code: 'ERR_INVOKE_QUEUE_TIMEOUT' })
  t.is(await queued(inspect), 0)
  t.deepEqual(await inspect.getJobCounts('wait', 'prioritized', 'active', 'completed', 'failed'), {
    wait: 0, prioritized: 0, active: 0, completed: 0, failed: 0,
  })
})

test('queueTimeout counts the wait, not the run: a call started in time runs past it', async (t) => {
  t.timeout(60000)
  // The deadline is long enough for a loaded machine's host to pick the job up; the run outlasts it.
  const { pool, host } = await setUp(t, { queueTimeout: 8000 })
  await host()
  const file = tmpFile()
  t.is(await call(pool, 'spin', [9000, file]), 9000)
  t.deepEqual(lines(file), ['run'])
})

test('a host does not start a job that waited past its queue timeout (its parent gone, or too slow to remove it)', async (t) => {
  const { inspect, host } = await setUp(t)
  await host()
  const file = tmpFile()
  const a = codec.encode([file, 'stale']).toString('base64')
  const job = await inspect.add('call', { m: 'jobs.js', f: 'record', a, n: false, t: null, q: 100 }, { timestamp: Date.now() - 1000 })
  let done
  await untilAsync(async () => (done = await inspect.getJob(job.id))?.finishedOn, 'the job to finish')
  t.is(readReply(done.returnvalue, 2 ** 24).error?.code, 'ERR_INVOKE_QUEUE_TIMEOUT')
  t.deepEqual(lines(file), [])
})

test('key: a call made again with its key, by a parent that crashed and ran again, runs once', async (t) => {
  t.timeout(60000)
  const { queue, pool, inspect, host } = await setUp(t, { key: (module, method, args) => args[1] })
  const file = tmpFile()
  // The first parent queues the call (no host yet) and is SIGKILLed.
  const script = `
    const { remotePool } = require('invoke-parallel-bullmq')
    const { callMethod } = require('invoke-parallel')
    const pool = remotePool({ queue: ${JSON.stringify(queue)}, connection: ${JSON.stringify(redis.connection)},
      root: ${JSON.stringify(fixtures)}, key: (module, method, args) => args[1] })
    pool[callMethod]('jobs.js', 'record', [${JSON.stringify(file)}, 'order-1'], {})
  `
  const crashed = spawn(process.execPath, ['-e', script], { cwd: __dirname, stdio: 'inherit' })
  const exited = new Promise((resolve) => crashed.once('exit', resolve))
  t.teardown(() => crashed.kill('SIGKILL'))
  await untilAsync(async () => (await queued(inspect)) === 1, "the first parent's job to be queued")
  crashed.kill('SIGKILL')
  await exited
  // Run again: the same call, while the first is queued, and twice more once it has finished.
  const again = call(pool, 'record', [file, 'order-1'])
  const sameParent = call(pool, 'record', [file, 'order-1'])
  await host()
  t.deepEqual(await Promise.all([again, sameParent]), ['order-1', 'order-1'])
  t.is(await call(pool, 'record', [file, 'order-1']), 'order-1')
  t.is(await call(pool, 'record', [file, 'order-2']), 'order-2')
  t.deepEqual(lines(file), ['order-1', 'order-2'])
})

test("retry: a call that throws runs again under the caller's policy; an error marked nonRetryable never does", async (t) => {
  t.timeout(60000)
  const { pool, host } = await setUp(t, { retry: { attempts: 3, delay: 50 } })
  await host()
  const twice = tmpFile()
  t.is(await call(pool, 'failTimes', [twice, 2]), 3)
  const always = tmpFile()
  await t.throwsAsync(call(pool, 'failTimes', [always, 10]), { code: 'E_FAILED', message: 'run 3 failed' })
  t.is(lines(always).length, 3)
  const marked = tmpFile()
  await t.throwsAsync(call(pool, 'failMarked', [marked]), { code: 'E_FINAL' })
  t.is(lines(marked).length, 1)
  const once = tmpFile()
  await t.throwsAsync(call(pool, 'failTimes', [once, 10], { noRetry: true }), { code: 'E_FAILED' })
  t.is(lines(once).length, 1)
})

test('hosts keep their locks while work blocks: CPU-bound calls longer than lockDuration are never run again', async (t) => {
  t.timeout(60000)
  const { pool, host } = await setUp(t)
  // lockDuration 1000 ms, stalledInterval 300 ms (fixtures/host.js); each call blocks its worker 2.5 s.
  await host()
  const file = tmpFile()
  t.deepEqual(await Promise.all([call(pool, 'spin', [2500, file]), call(pool, 'spin', [2500, file])]), [2500, 2500])
  t.deepEqual(lines(file), ['run', 'run'])
  t.is(pool.stats().retried, 0)
})
