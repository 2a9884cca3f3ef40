'use strict'
// Real hosts and real Redis for the adapter's tests. Without redis-server on the machine, every
// test file registers one skipped test whose title says why and how to install it.

const path = require('node:path')
const { spawn } = require('node:child_process')
const test = require('ava')
const { Queue } = require('bullmq')
const { remotePool } = require('invoke-parallel-bullmq')
const { startRedis, missing } = require('./redis')

const fixtures = path.join(__dirname, '..', 'fixtures')

/** ava's `test`, or, without redis-server, a stand-in that reports one skipped test instead. */
function redisTest(file) {
  const why = missing()
  if (why === null) return test
  test.skip(`${path.basename(file)}: skipped, ${why}`, () => {})
  const none = () => {}
  const hook = Object.assign(() => {}, { always: none })
  return Object.assign(none, { serial: none, before: none, after: hook, afterEach: hook, beforeEach: none })
}

/**
 * `redisTest(file)` with one redis-server for the whole file: `redis` is filled in before the first
 * test (`connection`, `stop()`, as `startRedis()` resolves) and stopped after the last. With
 * `host` (`startHost` options), one host for the whole file too, serving `fleet.queue`: `fleet.host`
 * is filled in before the first test and killed after the last.
 */
function fleetTest(file, { host = null } = {}) {
  const test = redisTest(file)
  const redis = {}
  const fleet = { queue: queueName(), host: null }
  test.before(async () => {
    Object.assign(redis, await startRedis())
    if (host !== null) fleet.host = await startHost(redis, fleet.queue, host)
  })
  test.after.always(async () => {
    await fleet.host?.kill()
    await redis.stop?.()
  })
  return { test, redis, fleet }
}

let queues = 0
/** A queue name of its own for each test. */
function queueName() {
  return `q${process.pid}-${++queues}`
}

/**
 * Starts fixtures/host.js; resolves once it takes jobs. `exited` resolves with its exit signal;
 * `output()` is what it printed so far.
 */
function startHost(redis, queue, { name = null, options = null } = {}) {
  const args = [path.join(fixtures, 'host.js'), queue, redis.connection.path]
  if (options !== null) args.push(JSON.stringify(options))
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, HOST_NAME: name ?? '' },
  })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
  return new Promise((resolve, reject) => {
    let out = ''
    let started = false
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('ready') && !started) {
        started = true
        resolve({ pid: child.pid, exited, kill: (signal = 'SIGKILL') => (child.kill(signal), exited), output: () => out })
      }
    })
    exited.then((how) => reject(new Error(`host exited (${how}) before it was ready`)))
  })
}

/**
 * What a test sets up of a fleet on `redis`, on a queue of its own (or `queue`), each closed
 * when the test ends: `inspect`, a BullMQ Queue on it to look into Redis with (when true);
 * `host`, a host serving it, started with these `startHost` options (none for false); `pool`, a
 * remote pool on it with these options added (none for false). Resolves once the host is ready
 * to `{queue, inspect, host, pool}`.
 */
async function hostedPool(t, redis, { queue = queueName(), inspect = false, host = {}, pool = {} } = {}) {
  const fleet = { queue, inspect: null, host: null, pool: null }
  if (inspect) {
    fleet.inspect = new Queue(queue, { connection: redis.connection })
    t.teardown(() => fleet.inspect.close())
  }
  if (host) {
    fleet.host = await startHost(redis, queue, host)
    t.teardown(() => fleet.host.kill())
  }
  if (pool) {
    fleet.pool = remotePool({ queue, connection: redis.connection, root: fixtures, ...pool })
    t.teardown(() => fleet.pool.close({ force: true }))
  }
  return fleet
}

/** Resolves once `condition()` holds; checks every 10 ms, fails after `ms`. */
async function until(condition, what, ms = 20000) {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** `until` for an asynchronous condition. */
async function untilAsync(condition, what, ms = 20000) {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

module.exports = { fleetTest, redisTest, startRedis, startHost, hostedPool, queueName, until, untilAsync, fixtures }
