'use strict'
// A cancelled keyed call does not take its key with it: its cancel is no result to keep. The call
// made again with the key runs (or gets the result of a run that finished before the cancel came),
// whether it is made by the same parent, by another, or was waiting on the job beside it.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const fc = require('fast-check')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { spawn } = require('node:child_process')
const { Queue } = require('bullmq')
const codec = require('invoke-parallel/codec')
const { callData, keyedJobId } = require('../lib/job')
const { readReply } = require('../lib/reply')
const { fleetTest, hostedPool, startHost, queueName, until, untilAsync, fixtures } = require('./helpers/fleet')

const { test, redis } = fleetTest(__filename)

const lines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(0, -1) : [])
const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'lines')
/** A pool whose calls are keyed by their arguments (a file of their own in these tests). */
const keyedPool = (t, queue, options = {}) => {
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures, key: (m, f, args) => JSON.stringify(args), ...options })
  t.teardown(() => pool.close({ force: true }))
  return pool
}
const call = (pool, method, args, options = {}) => pool[invoke.callMethod]('jobs.js', method, args, options)

test('a keyed call cancelled while it runs, made again with its key by this parent or another, runs again', async (t) => {
  const { queue } = await hostedPool(t, redis, { pool: false })
  const pool = keyedPool(t, queue)
  const other = keyedPool(t, queue)
  for (const again of [pool, other]) {
    const file = tmpFile()
    const token = invoke.cancelToken()
    const first = call(pool, 'hangUntilAborted', [file], { cancelToken: token })
    await until(() => lines(file).length === 1 && pool.stats().running === 1, 'the call to run')
    token.resolve()
    await t.throwsAsync(first, { instanceOf: invoke.Cancel })
    await until(() => lines(file).length === 2, "the worker's abort")
    // Made again, uncancelled: it runs (a third line) instead of getting the first caller's Cancel.
    const second = invoke.cancelToken()
    const made = call(again, 'hangUntilAborted', [file], { cancelToken: second })
    await until(() => lines(file).length === 3, 'the call to run again')
    t.deepEqual(lines(file), ['started', 'aborted', 'started'])
    second.resolve()
    await t.throwsAsync(made, { instanceOf: invoke.Cancel })
  }
})

test('a keyed call waiting on the job another caller cancels goes on: in the same pool, and in another parent, queued or running', async (t) => {
  const queue = queueName()
  const pool = keyedPool(t, queue)
  const other = keyedPool(t, queue)
  const queued = tmpFile()
  const running = tmpFile()
  // No host yet: the jobs wait in the queue, where a cancel removes its job.
  const cancels = [invoke.cancelToken(), invoke.cancelToken()]
  const mine = call(pool, 'record', [queued, 'mine'], { cancelToken: cancels[0] })
  const follower = call(pool, 'record', [queued, 'mine'])
  const theirs = call(other, 'record', [queued, 'mine'], { cancelToken: cancels[1] })
  await until(() => pool.stats().queued === 1 && other.stats().queued === 1, 'the calls to be queued')
  // The same pool: `follower` still waits, so the job stays.
  cancels[0].resolve()
  await t.throwsAsync(mine, { instanceOf: invoke.Cancel })
  // Another parent: its cancel removes the job, and `follower`'s pool adds it again.
  cancels[1].resolve()
  await t.throwsAsync(theirs, { instanceOf: invoke.Cancel })
  const beside = call(pool, 'hangUntilAborted', [running])
  const besideSettled = beside.catch((error) => error)
  const host = await startHost(redis, queue)
  t.teardown(() => host.kill())
  t.is(await follower, 'mine')
  t.deepEqual(lines(queued), ['mine'])
  // `beside` runs; a third caller on the running job cancels it there, and `beside` runs again.
  await until(() => lines(running).length === 1, 'the call to run')
  const third = invoke.cancelToken()
  const cancelling = call(other, 'hangUntilAborted', [running], { cancelToken: third })
  third.resolve()
  await t.throwsAsync(cancelling, { instanceOf: invoke.Cancel })
  await until(() => lines(running).length === 3, 'the run to be aborted and run again')
  t.deepEqual(lines(running), ['started', 'aborted', 'started'])
  t.is(pool.stats().pending, 1)
  await pool.close({ force: true })
  t.is((await besideSettled).code, 'ERR_INVOKE_POOL_CLOSED')
})

test('a keyed call cancelled at any moment (queued, running, as its host finishes): made again, it gets the result, never the cancel', async (t) => {
  t.timeout(120000)
  const { queue } = await hostedPool(t, redis, { pool: false })
  const pool = keyedPool(t, queue)
  const seen = { cancelled: 0, resolved: 0 }
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 60 }), async (ms, cancelAfter) => {
      const file = tmpFile()
      const controller = new AbortController()
      const first = call(pool, 'spin', [ms, file], { cancelToken: controller.signal })
      const timer = setTimeout(() => controller.abort(), cancelAfter)
      const outcome = await first.then(
        (value) => ({ value }),
        (error) => ({ error }),
      )
      clearTimeout(timer)
      if ('value' in outcome) seen.resolved++
      else seen.cancelled++
      if ('error' in outcome) t.true(outcome.error instanceof invoke.Cancel, String(outcome.error))
      t.is(await call(pool, 'spin', [ms, file]), ms)
      const runs = lines(file).length
      t.true(runs >= 1 && runs <= 2, `${runs} runs`)
    }),
    { numRuns: 40, endOnFailure: true },
  )
  t.log(`first calls cancelled: ${seen.cancelled}, resolved before their cancel: ${seen.resolved}`)
})

test("a host that answers every run with a cancel's reply: an unkeyed call rejects with Cancel, a keyed one adds its job again 10 times, then rejects with ERR_INVOKE_JOB_LOST", async (t) => {
  const queue = queueName()
  const hostile = spawn(process.execPath, [path.join(fixtures, 'hostile-host.js'), queue, redis.connection.path], { stdio: 'inherit' })
  t.teardown(() => hostile.kill('SIGKILL'))
  const inspect = new Queue(queue, { connection: redis.connection })
  t.teardown(() => inspect.close())
  const plain = remotePool({ queue, connection: redis.connection, root: fixtures })
  t.teardown(() => plain.close({ force: true }))
  const forged = { c: 'forged' }
  await t.throwsAsync(call(plain, 'answer', [forged]), { instanceOf: invoke.Cancel })
  for (const reply of [{ c: 5 }, { c: 'x'.repeat(5000) }, { c: 'x', v: 'AA' }]) {
    await t.throwsAsync(call(plain, 'answer', [reply]), { code: 'ERR_INVOKE_BAD_REPLY' }, JSON.stringify(reply).slice(0, 40))
  }
  const keyed = keyedPool(t, queue)
  await t.throwsAsync(call(keyed, 'answer', [forged]), { code: 'ERR_INVOKE_JOB_LOST' })
  t.is(keyed.stats().pending, 0)
})

test("a keyed call whose job a host refused past its first caller's queue deadline (that caller crashed) runs when made again", async (t) => {
  const queue = queueName()
  const inspect = new Queue(queue, { connection: redis.connection })
  t.teardown(() => inspect.close())
  const file = tmpFile()
  const args = [file, 'order-1']
  // What a parent that then crashed added: the keyed job, with a 1 ms queue deadline.
  const data = callData('jobs.js', 'record', codec.encode(args), { noRetry: false, timeout: null, queueTimeout: 1, rerunDelay: 0, retry: { attempts: 1 } })
  const jobId = keyedJobId('jobs.js', 'record', JSON.stringify(args))
  await inspect.add('call', data, { jobId, attempts: 1 })
  const host = await startHost(redis, queue)
  t.teardown(() => host.kill())
  await untilAsync(async () => Boolean((await inspect.getJob(jobId))?.finishedOn), 'the host to refuse the job')
  t.is(readReply((await inspect.getJob(jobId)).returnvalue, 2 ** 24).error.code, 'ERR_INVOKE_QUEUE_TIMEOUT')
  t.deepEqual(lines(file), [])
  // Made again (by the parent run again, with and without a deadline of its own): it runs, once.
  for (const options of [{}, { queueTimeout: 60000 }]) {
    const pool = keyedPool(t, queue, options)
    t.is(await call(pool, 'record', args), 'order-1')
  }
  t.deepEqual(lines(file), ['order-1'])
})
