'use strict'
// host.close() settles whatever Redis does: gone (SIGKILLed, before or after the close began),
// cut off or slow (SIGSTOPped: connections open, nothing answers), or back in time. BullMQ's own
// close waits for Redis for ever (QUIT, and a result written to a reconnecting connection): it hung
// in about half the runs after a SIGKILL, so the kill is tried in a loop of runs, not timed.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const fc = require('fast-check')
const invoke = require('invoke-parallel')
const { remotePool, serve } = require('invoke-parallel-bullmq')
const { redisTest, startRedis, startHost, queueName, until, fixtures } = require('./helpers/fleet')

const test = redisTest(__filename)

const lines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').slice(0, -1) : [])
const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-fleet-')), 'lines')

/** A host in this process on `redis`, its errors collected. */
async function startServing(redis, queue, options = {}) {
  const heard = []
  const host = serve({
    queue,
    connection: redis.connection,
    root: fixtures,
    modules: ['./jobs.js'],
    pool: { limit: 1, onError: () => {} },
    lockDuration: 1000,
    stalledInterval: 300,
    onError: (err) => heard.push(err),
    ...options,
  })
  await host.ready
  return { host, heard }
}

/** Checks what close() resolved to: clean, or not with the coded error naming `jobs`. */
function checkOutcome(t, outcome, heard, { clean, jobs }) {
  t.is(outcome.clean, clean)
  if (clean) return
  t.is(outcome.error.code, 'ERR_INVOKE_REDIS_UNAVAILABLE')
  t.is(outcome.error.jobs.length, jobs)
  t.true(heard.includes(outcome.error), 'onError heard it too')
}

test('a host whose Redis went away or stopped answering closes, idle or with a call running, in every order', async (t) => {
  t.timeout(180000)
  const runs = []
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        // SIGKILL: gone (ioredis may not have noticed yet); SIGSTOP: cut off, or slow past the bound.
        signal: fc.constantFrom('SIGKILL', 'SIGSTOP'),
        killFirst: fc.boolean(),
        running: fc.boolean(),
        closeTimeout: fc.integer({ min: 1, max: 400 }),
      }),
      async ({ signal, killFirst, running, closeTimeout }) => {
        const redis = await startRedis()
        const queue = queueName()
        const { host, heard } = await startServing(redis, queue, { closeTimeout })
        const pool = remotePool({ queue, connection: redis.connection, root: fixtures, redisTimeout: 60000, onError: () => {} })
        const file = tmpFile()
        // The running call ends only once Redis is gone or stopped: one that ended before could
        // have its result taken (seen at load ~10: error.jobs empty).
        const gate = `${file}.gate`
        try {
          if (running) {
            const proxy = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
            proxy.runWhenOpened(gate, file).catch(() => {})
            await until(() => pool.stats().running === 1, 'the call to run')
          }
          let outcome
          if (killFirst) {
            process.kill(redis.pid, signal)
            fs.writeFileSync(gate, '')
            outcome = await host.close()
          } else {
            const closing = host.close()
            process.kill(redis.pid, signal)
            fs.writeFileSync(gate, '')
            outcome = await closing
          }
          runs.push(outcome.clean)
          t.true(typeof outcome.clean === 'boolean')
          // A run in progress when Redis stopped answering cannot have its result taken back.
          if (signal === 'SIGSTOP' && running) checkOutcome(t, outcome, heard, { clean: false, jobs: 1 })
          if (running) t.deepEqual(lines(file), ['run'], 'the running call ended before the host did')
        } finally {
          if (signal === 'SIGSTOP') process.kill(redis.pid, 'SIGCONT')
          await pool.close({ force: true })
          await redis.stop({ kill: true })
        }
      },
    ),
    { numRuns: 16, endOnFailure: true },
  )
  t.log(`clean closes: ${runs.filter(Boolean).length} of ${runs.length}`)
})

test('a host closed while its Redis is stopped closes cleanly when Redis answers again within closeTimeout', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop({ kill: true }))
  const queue = queueName()
  const { host, heard } = await startServing(redis, queue, { closeTimeout: 60000 })
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures, redisTimeout: 60000, onError: () => {} })
  t.teardown(() => pool.close({ force: true }))
  const file = tmpFile()
  const proxy = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
  const call = proxy.spin(200, file)
  await until(() => pool.stats().running === 1, 'the call to run')
  process.kill(redis.pid, 'SIGSTOP')
  const closing = host.close()
  // The run ends while Redis answers nothing; then Redis comes back and takes its result.
  await until(() => lines(file).length === 1, 'the run to end')
  process.kill(redis.pid, 'SIGCONT')
  checkOutcome(t, await closing, heard, { clean: true })
  t.is(await call, 200)
})

test('a host process closed while its Redis is gone or stopped, a call running, exits by itself (nothing of BullMQ keeps it alive)', async (t) => {
  t.timeout(120000)
  for (const signal of ['SIGKILL', 'SIGSTOP']) {
    const redis = await startRedis()
    const queue = queueName()
    const pool = remotePool({ queue, connection: redis.connection, root: fixtures, redisTimeout: 60000, onError: () => {} })
    const script = `
      const { serve } = require('invoke-parallel-bullmq')
      const host = serve({ queue: ${JSON.stringify(queue)}, connection: ${JSON.stringify(redis.connection)},
        root: ${JSON.stringify(fixtures)}, modules: ['./jobs.js'], pool: { limit: 1 }, closeTimeout: 100,
        lockDuration: 1000, stalledInterval: 300, onError: () => {} })
      host.ready.then(() => console.log('ready'))
      process.on('SIGTERM', () => host.close().then((outcome) => console.log(JSON.stringify({ clean: outcome.clean, code: outcome.error?.code }))))
    `
    const child = spawn(process.execPath, ['-e', script], { cwd: __dirname, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    const exited = new Promise((resolve) => child.once('exit', (code, how) => resolve(how ?? code)))
    try {
      await until(() => out.includes('ready'), 'the host to start')
      const jobs = await invoke.require(path.join(fixtures, 'jobs.js'), { pool })
      const file = tmpFile()
      jobs.spin(300, file).catch(() => {})
      await until(() => pool.stats().running === 1, 'the call to run')
      process.kill(redis.pid, signal)
      child.kill('SIGTERM')
      t.is(await exited, 0, signal)
      t.deepEqual(JSON.parse(out.split('\n').at(-2)), { clean: false, code: 'ERR_INVOKE_REDIS_UNAVAILABLE' })
    } finally {
      child.kill('SIGKILL')
      if (signal === 'SIGSTOP') process.kill(redis.pid, 'SIGCONT')
      await pool.close({ force: true })
      await redis.stop({ kill: true })
    }
  }
})

test('a host closed by force (at once, or while a graceful close waits on hung calls) ends them; their jobs run again on another host, within runs', async (t) => {
  t.timeout(240000)
  const redis = await startRedis()
  t.teardown(() => redis.stop({ kill: true }))
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        // One per worker of the fixture host's pool (2): each hangs on host A only.
        calls: fc.array(fc.record({ noRetry: fc.boolean() }), { minLength: 1, maxLength: 2 }),
        runs: fc.constantFrom(1, 3),
        // SIGTERM first (a graceful close, which waits for ever), then the forced one.
        escalate: fc.boolean(),
        // Redis stopped (SIGSTOP) as the forced close begins: the locks cannot be released, and expire.
        stopped: fc.boolean(),
      }),
      async ({ calls, runs, escalate, stopped }) => {
        const queue = queueName()
        const pool = remotePool({ queue, connection: redis.connection, root: fixtures, onError: () => {} })
        const a = await startHost(redis, queue, { name: 'A', options: { runs, closeTimeout: 200 } })
        let b = null
        try {
          const file = tmpFile()
          const pending = calls.map(({ noRetry }) =>
            pool[invoke.callMethod]('jobs.js', 'hangOn', ['A', file], { noRetry }).then((value) => ({ value }), (error) => ({ error })),
          )
          // Run by A's workers, not only made active (a job BullMQ was starting as the close began may go unnamed).
          await until(() => lines(file).length === calls.length, 'the calls to run on A')
          if (escalate) {
            a.kill('SIGTERM')
            await until(() => a.output().includes('closing'), 'the graceful close to begin')
          }
          if (stopped) process.kill(redis.pid, 'SIGSTOP')
          a.kill('SIGINT')
          try {
            t.is(await a.exited, 0)
          } finally {
            if (stopped) process.kill(redis.pid, 'SIGCONT')
          }
          const outcome = JSON.parse(a.output().match(/^closed (.*)$/m)[1])
          // Without Redis, the close names the jobs whose end Redis did not take (these among them).
          t.like(outcome, { clean: false, code: stopped ? 'ERR_INVOKE_REDIS_UNAVAILABLE' : 'ERR_INVOKE_POOL_CLOSED' })
          t.is(outcome.jobs.length, calls.length)
          // Another host takes the jobs back: a run counted against runs, and noRetry's one start is spent.
          b = await startHost(redis, queue, { name: 'B', options: { runs } })
          const settled = await Promise.all(pending)
          settled.forEach((result, i) => {
            const why = `call ${i} (noRetry ${calls[i].noRetry}, runs ${runs}): ${result.error?.message ?? JSON.stringify(result.value)}`
            if (runs > 1 && !calls[i].noRetry) t.is(result.value?.name, 'B', why)
            else t.true(result.error instanceof invoke.Retry, why)
          })
        } finally {
          a.kill('SIGKILL')
          await b?.kill('SIGKILL')
          await pool.close({ force: true })
        }
      },
    ),
    { numRuns: 8 },
  )
})

test('host.close() options that are not ones reject (ERR_INVALID_ARG_TYPE, or ERR_INVALID_ARG_VALUE for options that cannot be read) and close nothing', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop({ kill: true }))
  const { host } = await startServing(redis, queueName())
  for (const options of [null, 1, 'force', { force: 'yes' }, { force: 1 }, { force: null }]) {
    await t.throwsAsync(host.close(options), { code: 'ERR_INVALID_ARG_TYPE' }, JSON.stringify(options))
  }
  const unreadable = {
    get force() {
      throw new Error('no')
    },
  }
  await t.throwsAsync(host.close(unreadable), { code: 'ERR_INVALID_ARG_VALUE' })
  t.deepEqual(await host.close({ force: false }), { clean: true })
  // Forced with no call running: nothing to name.
  const idle = await startServing(redis, queueName())
  t.deepEqual(await idle.host.close({ force: true }), { clean: true })
})
