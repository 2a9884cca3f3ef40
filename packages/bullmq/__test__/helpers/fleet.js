'use strict'
// Real hosts and real Redis for the adapter's tests. Without redis-server on the machine, every
// test file registers one skipped test whose title says why and how to install it.

const path = require('node:path')
const { spawn } = require('node:child_process')
const test = require('ava')
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
 * test (`connection`, `stop()`, as `startRedis()` resolves) and stopped after the last.
 */
function fleetTest(file) {
  const test = redisTest(file)
  const redis = {}
  test.before(async () => {
    Object.assign(redis, await startRedis())
  })
  test.after.always(async () => {
    await redis.stop?.()
  })
  return { test, redis }
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

module.exports = { fleetTest, redisTest, startRedis, startHost, queueName, until, untilAsync, fixtures }
