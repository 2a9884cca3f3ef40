'use strict'

const test = require('ava')
const { unixTest } = require('./helpers/platform')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { watchedPool, scratchDir } = require('./helpers/pools')

function setup(t) {
  const dir = scratchDir(t, 'death')
  const { pool, errors } = watchedPool(t, { limit: 2 })
  return { pool, errors, marker: path.join(dir, 'died') }
}

for (const method of ['exitOnce', 'killOnce']) {
  test(`a call whose worker dies (${method}) is re-sent and succeeds`, async (t) => {
    const { pool, errors, marker } = setup(t)
    const mod = await invoke.require('./fixtures/dies-once', { pool })
    const pid = await mod[method](marker)
    const deadPid = Number(fs.readFileSync(marker, 'utf8'))
    t.not(pid, deadPid)
    t.true(errors.some((e) => e.code === 'ERR_INVOKE_WORKER_CRASHED' && e.pid === deadPid))
  })
}

test('with noRetry the call rejects with Retry naming the pid and exit code', async (t) => {
  const { pool, marker } = setup(t)
  const mod = await invoke.require('./fixtures/dies-once', { pool })
  const error = await t.throwsAsync(mod({ noRetry: true }).exitOnce(marker), { instanceOf: invoke.Retry })
  const deadPid = Number(fs.readFileSync(marker, 'utf8'))
  t.is(error.pid, deadPid)
  t.is(error.exitCode, 3)
  t.is(error.signal, null)
  t.regex(error.message, new RegExp(`pid ${deadPid} exited with code 3`))
  t.is(typeof (await mod.exitOnce(marker)), 'number', 'the pool still serves calls')
})

test('with noRetry on the require, a SIGKILL rejects with Retry naming the signal', async (t) => {
  const { pool, marker } = setup(t)
  const mod = await invoke.require('./fixtures/dies-once', { pool, noRetry: true })
  const error = await t.throwsAsync(mod.killOnce(marker), { instanceOf: invoke.Retry })
  if (process.platform === 'win32') {
    // No signals there: process.kill ends it by TerminateProcess with exit code 1, all one can see.
    t.is(error.signal, null)
    t.is(error.exitCode, 1)
  } else {
    t.is(error.signal, 'SIGKILL')
    t.is(error.exitCode, null)
  }
})

test('a method that always kills its worker rejects after a bounded number of attempts', async (t) => {
  const { pool, errors } = setup(t)
  const mod = await invoke.require('./fixtures/dies-once', { pool })
  const error = await t.throwsAsync(mod.alwaysExit(), { instanceOf: invoke.Retry })
  t.regex(error.message, /gave up after 3 attempts/)
  t.is(error.exitCode, 4)
  t.is(errors.filter((e) => e.code === 'ERR_INVOKE_WORKER_CRASHED').length, 3)
})

for (const method of ['garbage', 'wrongKind']) {
  test(`a worker that writes a malformed frame (${method}) is killed and reported, and its call settles`, async (t) => {
    const { pool, errors } = setup(t)
    const mod = await invoke.require('./fixtures/hostile', { pool, noRetry: true })
    const error = await t.throwsAsync(mod[method](), { instanceOf: invoke.Retry })
    t.is(error.signal, 'SIGKILL')
    const report = errors.find((e) => /broke the protocol/.test(e.message))
    t.truthy(report, errors.map((e) => e.message).join('\n'))
    t.is(report.code, 'ERR_INVOKE_WORKER_CRASHED')
    t.is(report.pid, error.pid)
    const echo = await invoke.require('./fixtures/echo', { pool })
    t.is(await echo.add(1, 2), 3, 'the pool still works')
  })
}

unixTest('there is no SIGTERM to ignore: libuv ends a worker by TerminateProcess at once')('a worker that closes its channel and ignores SIGTERM is killed by the escalation, and its call runs again', async (t) => {
  const { pool, marker } = setup(t)
  const mod = await invoke.require('./fixtures/dies-once', { pool })
  const pid = await mod.closeChannelOnce(marker)
  const [deaf, heard] = fs.readFileSync(marker, 'utf8').split(' ')
  t.not(pid, Number(deaf))
  t.is(heard, 'SIGTERM', 'asked with SIGTERM before SIGKILL')
  t.throws(() => process.kill(Number(deaf), 0), { code: 'ESRCH' }, 'the deaf worker is gone')
})
