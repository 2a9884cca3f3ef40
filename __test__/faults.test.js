'use strict'

const test = require('ava')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const dc = require('node:diagnostics_channel')
const invoke = require('..')
const { isAlive, waitFor } = require('./helpers/processes')
const { scaled } = require('./helpers/time')

test('a worker that cannot start is retried `retries` times, then calls reject saying why', async (t) => {
  const errors = []
  const cwd = path.join(os.tmpdir(), 'invoke-parallel-no-such-dir', String(process.pid))
  const pool = invoke.pool({ cwd, retries: 2, minimum: 0, onError: (e) => errors.push(e) })
  t.teardown(() => pool.close({ force: true }))
  const error = await t.throwsAsync(invoke.require('./fixtures/echo', { pool }))
  t.is(error.code, 'ERR_INVOKE_WORKER_START')
  t.regex(error.message, /3 attempts/)
  t.true(error.message.includes(cwd), error.message)
  t.regex(error.message, /no such file or directory/i)
  t.is(errors.length, 1)
  t.is(errors[0].code, 'ERR_INVOKE_WORKER_START')
  // The next call tries again from scratch (and fails the same way here).
  await t.throwsAsync(invoke.require('./fixtures/echo', { pool }), { code: 'ERR_INVOKE_WORKER_START' })
  t.is(errors.length, 2)
})

test('an idle worker that dies is replaced and the minimum restored', async (t) => {
  const errors = []
  const pool = invoke.pool({ limit: 2, minimum: 2, maxPerChild: 1, onError: (e) => errors.push(e) })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-min-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const [first, second] = await Promise.all([echo.rendezvous(path.join(dir), 2), echo.rendezvous(path.join(dir), 2)])
  t.not(first, second)
  process.kill(first, 'SIGKILL')
  await waitFor(() => errors.some((e) => e.pid === first), 10000, 'the crash to be reported')
  const again = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-min-'))
  t.teardown(() => fs.rmSync(again, { recursive: true, force: true }))
  const pids = await Promise.all([echo.rendezvous(again, 2), echo.rendezvous(again, 2)])
  t.true(pids.includes(second))
  t.false(pids.includes(first))
  t.is(new Set(pids).size, 2)
})

test('a parent killed with SIGKILL while busy leaves no worker alive a second later', async (t) => {
  const parent = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'busy-parent.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  parent.stdout.on('data', (chunk) => {
    out += chunk
  })
  await waitFor(() => out.includes('\n'), 20000, 'the parent to report its workers')
  const pids = JSON.parse(out)
  t.is(pids.length, 3)
  t.true(pids.every(isAlive))
  parent.kill('SIGKILL')
  await new Promise((resolve) => parent.on('exit', resolve))
  await waitFor(() => !pids.some(isAlive), 1000, 'every worker to be gone within a second')
  t.pass()
})

test('kill storm: random workers SIGKILLed every 100 ms; every call resolves right or rejects with Retry', async (t) => {
  const pool = invoke.pool({ limit: 3, onError: () => {} })
  t.teardown(() => pool.close({ force: true }))
  // The storm's victims are workers of this pool that have answered a call (so it kills running
  // workers, not starts) and that the pool has not reported gone. Not merely pids seen in answers:
  // such a pid stays after its worker died, and Windows (wine above all) gives it to another
  // process within seconds, which the storm then killed (under wine: 8 of 71 kills hit other
  // processes while short-lived ones started beside it; with two test files at a time, those of
  // the other file).
  const live = new Set()
  const answered = new Set()
  const spawned = ({ pool: of, pid }) => {
    if (of !== pool) return
    live.add(pid)
    answered.delete(pid)
  }
  const exited = ({ pool: of, pid }) => of === pool && live.delete(pid)
  dc.subscribe('invoke-parallel:worker-spawn', spawned)
  dc.subscribe('invoke-parallel:worker-exit', exited)
  t.teardown(() => {
    dc.unsubscribe('invoke-parallel:worker-spawn', spawned)
    dc.unsubscribe('invoke-parallel:worker-exit', exited)
  })
  const echo = await invoke.require('./fixtures/echo', { pool })
  let kills = 0
  // Every 100 ms natively; where a worker starts INVOKE_TEST_TIME_SCALE times slower (under wine)
  // the storm slows with it, or it kills workers faster than they can start.
  const storm = setInterval(() => {
    const victims = [...answered].filter((pid) => live.has(pid))
    if (victims.length === 0) return
    const victim = victims[Math.floor(Math.random() * victims.length)]
    answered.delete(victim)
    try {
      process.kill(victim, 'SIGKILL')
      kills++
    } catch {}
  }, scaled(100))
  const total = 3000
  const started = Date.now()
  const outcomes = await Promise.allSettled(
    Array.from({ length: total }, (_, i) =>
      echo.overlap(2 + (i % 5)).then((r) => {
        answered.add(r.pid)
        return echo.echo(i)
      }),
    ),
  )
  clearInterval(storm)
  let correct = 0
  let retried = 0
  outcomes.forEach((o, i) => {
    if (o.status === 'fulfilled') {
      t.is(o.value, i)
      correct++
    } else {
      t.true(o.reason instanceof invoke.Retry, String(o.reason && o.reason.stack))
      retried++
    }
  })
  t.is(correct + retried, total, 'nothing hung')
  t.true(kills > 0, 'the storm killed workers')
  t.log(`kill storm: ${total} calls, ${kills} kills, ${correct} correct, ${retried} rejected with Retry, 0 hung, ${Date.now() - started} ms`)
  t.is(await echo.add(2, 2), 4, 'the pool works afterwards')
})
