'use strict'
// What anyone who can write to the queue's Redis can add (a buggy or hostile host included): an
// entry of the event stream that is not an event, a job that no parent wrote. Each is read past or
// fails alone; the parent, the hosts and every other call go on.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const fc = require('fast-check')
const codec = require('invoke-parallel/codec')
const invoke = require('invoke-parallel')
const { readReply } = require('../lib/reply')
const { fleetTest, hostedPool, until, fixtures } = require('./helpers/fleet')

const { test, redis } = fleetTest(__filename)

async function setUp(t, poolOptions = {}) {
  const reported = []
  const { host, inspect, pool } = await hostedPool(t, redis, { inspect: true, pool: { onError: (err) => reported.push(err), ...poolOptions } })
  const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
  return { host, inspect, pool, jobs, reported, redisClient: await inspect.getBackend().client }
}

/** Resolves to the job once it has finished. */
async function finished(inspect, id) {
  for (;;) {
    const job = await inspect.getJob(id)
    if (job?.finishedOn) return job
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('entries of the event stream that are not events are read past, counted and reported, by the parent and by the host', async (t) => {
  // No polling: a call settles only through the event stream, so one stuck reader hangs it.
  const { host, inspect, pool, jobs, reported, redisClient } = await setUp(t, { pollInterval: 2 ** 31 - 1 })
  t.is(await jobs.add(1, 2), 3)
  const key = inspect.keys.events
  // A completed event whose result is not JSON (only a parent reads results), and one with no event name.
  await redisClient.xadd(key, '*', 'event', 'completed', 'jobId', 'forged', 'returnvalue', '{not json')
  await redisClient.xadd(key, '*', 'jobId', 'forged', 'something', 'else')
  t.is(await jobs.add(2, 3), 5)
  t.is(await jobs.add(3, 4), 7)
  t.is(pool.stats().badEvents, 2)
  t.deepEqual(reported.map((err) => err.code), ['ERR_INVOKE_BAD_EVENT', 'ERR_INVOKE_BAD_EVENT'])
  // The host's cancel listener read past the entry it could not read, and still hears cancels.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'marker')
  const token = invoke.cancelToken()
  const call = jobs({ cancelToken: token }).noticeAbort(file)
  await until(() => fs.existsSync(file), 'the call to start in a worker')
  await until(() => pool.stats().running === 1, "the job's active event")
  token.resolve()
  await t.throwsAsync(call, { instanceOf: invoke.Cancel })
  await until(() => fs.readFileSync(file, 'utf8') === 'started\naborted\n', "the worker's abort")
  await until(() => host.output().includes('bad event 1\n'), "the host's report")
  t.false(host.output().includes('bad event 2'))
})

test('generated entries in the event stream, events or not, never hold back a call', async (t) => {
  t.timeout(60000)
  const { inspect, pool, jobs, reported, redisClient } = await setUp(t, { pollInterval: 2 ** 31 - 1 })
  const name = fc.oneof(fc.constantFrom('event', 'jobId', 'returnvalue', 'failedReason', 'prev'), fc.string())
  const value = fc.oneof(fc.constantFrom('completed', 'active', 'failed', 'removed', 'stalled', 'invoke-parallel-cancel', '{', '"x"', '{"v":1}'), fc.string())
  const entry = fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 6 })
  let i = 0
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 5 }), async (entries) => {
      for (const fields of entries) await redisClient.xadd(inspect.keys.events, '*', ...fields.flat())
      t.is(await jobs.add(i, 1), ++i)
    }),
    { numRuns: 25 },
  )
  t.is(pool.stats().badEvents, reported.length)
  t.true(reported.every((err) => err.code === 'ERR_INVOKE_BAD_EVENT'))
})

test("a completed event of a pending call that is not JSON: the call's result is read from its job", async (t) => {
  const { inspect, pool, reported, redisClient } = await setUp(t, { pollInterval: 2 ** 31 - 1 })
  const token = invoke.cancelToken()
  // A call that no host finishes; its event is forged while it runs.
  const call = pool[invoke.callMethod]('jobs.js', 'hang', [], { cancelToken: token })
  await until(() => pool.stats().running === 1, 'the call to run')
  const [active] = await inspect.getActive()
  await redisClient.xadd(inspect.keys.events, '*', 'event', 'completed', 'jobId', active.id, 'returnvalue', '{')
  await until(() => reported.length === 1, 'the report')
  t.is(reported[0].jobId, active.id)
  // Its job has not finished: the call stays pending until it is cancelled.
  t.is(pool.stats().pending, 1)
  token.resolve()
  await t.throwsAsync(call, { instanceOf: invoke.Cancel })
})

const sparse = (length) => {
  const array = []
  array.length = length
  return array
}

test('a forged job fails alone with ERR_INVOKE_BAD_JOB, is not run again, and the host goes on', async (t) => {
  t.timeout(60000)
  const { host, inspect, jobs } = await setUp(t)
  const forged = async (data) => {
    const job = await inspect.add('call', data, { attempts: 1 })
    const done = await finished(inspect, job.id)
    return { job: done, read: readReply(done.returnvalue, 16 * 1024 * 1024) }
  }
  // 15 bytes that decode to an argument list of 2^32-1 holes: spread into a call, the host ran out of memory.
  const a = codec.encode(sparse(2 ** 32 - 1)).toString('base64')
  const beside = jobs.add(20, 22)
  const { job, read } = await forged({ m: 'jobs.js', f: 'add', a, n: false, t: null })
  t.is(read.error?.code, 'ERR_INVOKE_BAD_JOB')
  t.is(job.attemptsStarted, 1)
  t.is(await beside, 42)
  // The same as a map chunk's items.
  const items = codec.encode(['square', sparse(2 ** 32 - 1)]).toString('base64')
  const chunk = await forged({ m: 'jobs.js', f: invoke.mapChunk, a: items, n: false, t: null })
  t.is(chunk.read.error?.code, 'ERR_INVOKE_BAD_JOB')
  const arbitraryData = fc.oneof(
    fc.anything(),
    fc.record(
      {
        m: fc.oneof(fc.constant('jobs.js'), fc.anything()),
        f: fc.oneof(fc.constant('add'), fc.anything()),
        a: fc.oneof(
          fc.nat({ max: 2 ** 32 - 1 }).map((n) => codec.encode(sparse(n)).toString('base64')),
          fc.uint8Array().map((bytes) => Buffer.from(bytes).toString('base64')),
          fc.anything(),
        ),
        n: fc.anything(),
        t: fc.anything(),
        extra: fc.anything(),
      },
      { requiredKeys: [] },
    ),
  )
  await fc.assert(
    fc.asyncProperty(arbitraryData, async (data) => {
      const { job: done, read: outcome } = await forged(data)
      t.is(done.attemptsStarted, 1)
      t.true('error' in outcome || 'value' in outcome)
    }),
    { numRuns: 40 },
  )
  t.is(await jobs.add(1, 1), 2)
  t.is(host.output().match(/ready/g).length, 1)
})

test('an entry or XSETID at the end of the id space (every later XADD refused) is deleted and the ids given back: calls, their events and cancels go on', async (t) => {
  t.timeout(120000)
  // Polls at 100 ms: an event BullMQ could not write while the ids were used up is read from its job.
  const { host, inspect, pool, jobs, redisClient } = await setUp(t, { pollInterval: 100 })
  const key = inspect.keys.events
  const last = 2n ** 64n - 1n
  const forgery = fc.record({
    // At the end of the id space, or just below it (BullMQ's next entries then land at the end).
    ms: fc.constantFrom(last, last - 1n),
    // Sequence numbers at and near the last: none, or a few ids left after the entry.
    seq: fc.oneof(fc.constant(last), fc.bigInt({ min: last - 3n, max: last }), fc.bigInt({ min: 0n, max: last })),
    how: fc.constantFrom('entry', 'event', 'xsetid'),
    // Forged while the parent's reader is open (a call pending) or not.
    during: fc.boolean(),
  })
  let n = 0
  await fc.assert(
    fc.asyncProperty(forgery, async ({ ms, seq, how, during }) => {
      const id = `${ms}-${seq}`
      const forge = async () => {
        const fields = how === 'event' ? ['event', 'completed', 'jobId', 'forged', 'returnvalue', '{"v":1}'] : ['event', 'x']
        try {
          await (how === 'xsetid' ? redisClient.xsetid(key, id) : redisClient.xadd(key, id, ...fields))
        } catch (err) {
          // Redis takes no id below the stream's top entry (one just below the end stays: BullMQ's entries land after it).
          if (!/smaller/.test(err.message)) throw err
        }
      }
      const pending = during ? jobs.add(n, 1000).catch((error) => error) : null
      await forge()
      t.is(await jobs.add(n, 1), n + 1)
      if (pending !== null) t.is(await pending, n + 1000)
      n++
      // The stream takes new entries again.
      await redisClient.xadd(key, '*', 'event', 'probe')
    }),
    { numRuns: 12 },
  )
  // The host still hears cancels: its reader waits where the new entries come.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'marker')
  const token = invoke.cancelToken()
  const call = jobs({ cancelToken: token }).noticeAbort(file)
  await until(() => fs.existsSync(file) && pool.stats().running === 1, 'the call to run')
  token.resolve()
  await t.throwsAsync(call, { instanceOf: invoke.Cancel })
  await until(() => fs.readFileSync(file, 'utf8') === 'started\naborted\n', "the worker's abort")
  t.is(host.output().match(/ready/g).length, 1)
})
