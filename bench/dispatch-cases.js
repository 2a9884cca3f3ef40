'use strict'
// Adaptive dispatch on the cases issue 21 names, against eager dispatch in the same run,
// rounds interleaved (the order alternates each round), with the ratio of each round:
//
//   node bench/dispatch-cases.js [rounds (default 3)]
//
// - sleep: 200 x sleep(20) on 2 workers, wall time.
// - barrier: 129 calls on 1 worker that each wait until a later call opens the barrier, wall
//   time until all settled: the stall rule's rounds (32, 128, 512) against eager's one. A round
//   that has not settled in 10 s counts as Infinity (a deadlock).
// - stuck: 200 calls on 2 workers (maxPerChild 0), those on slot 1 await until released, those on
//   slot 2 compute 5 ms: how many the stuck worker was handed.
// - small: 20,000 small synchronous calls made at once on 2 workers, wall time (a long queue of
//   calls that never await: what the stall rule looks past costs every dispatch).
// - ticks: 4 callers each making 2,500 small synchronous calls one after another on 1 worker, at
//   a higher priority, beside 129 calls waiting on a barrier, wall time until all settled.
// - mixed: one cheap call, then 300 CPU-bound calls (1-4 ms, one in 25 of 120 ms; the same
//   seeded costs every round) on 2 workers: the busiest worker's busy time over the mean.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const invoke = require('..')
const { median } = require('./measure')

const FIXTURE = require.resolve('../__test__/fixtures/dispatch')
const BARRIER = require.resolve('../__test__/fixtures/barrier')
const ECHO = require.resolve('../__test__/fixtures/echo')
const rounds = Number(process.argv[2] ?? 3)

function costs() {
  let seed = 21
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  return Array.from({ length: 300 }, () => (random() < 0.04 ? 120 : 1 + random() * 3))
}

async function sleep(dispatch) {
  const pool = invoke.pool({ limit: 2, minimum: 2, dispatch })
  const echo = await invoke.require(ECHO, { pool })
  await Promise.all([echo.sleep(1), echo.sleep(1)])
  const start = performance.now()
  await Promise.all(Array.from({ length: 200 }, () => echo.sleep(20)))
  const ms = performance.now() - start
  await pool.close()
  return ms
}

async function barrier(dispatch) {
  const pool = invoke.pool({ limit: 1, minimum: 1, dispatch })
  const mod = await invoke.require(BARRIER, { pool })
  const start = performance.now()
  const waits = Array.from({ length: 129 }, () => mod.wait())
  for (const wait of waits) wait.catch(() => {})
  let timer
  const deadlock = new Promise((resolve) => (timer = setTimeout(resolve, 10000, Infinity)))
  const ms = await Promise.race([Promise.all([mod.open(), ...waits]).then(() => performance.now() - start), deadlock])
  clearTimeout(timer)
  await pool.close({ force: true })
  return ms
}

async function stuck(dispatch) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-bench-stuck-'))
  const pool = invoke.pool({ limit: 2, minimum: 2, dispatch })
  const mod = await invoke.require(FIXTURE, { pool })
  let settled = 0
  const calls = Array.from({ length: 200 }, (_, n) => mod.stuckOnFirst(dir, n, 5).then(() => settled++))
  const count = () => fs.readdirSync(dir).filter((name) => name.startsWith('started-')).length
  while (settled + count() < 200) await new Promise((resolve) => setTimeout(resolve, 20))
  const handed = count()
  fs.writeFileSync(path.join(dir, 'go'), '')
  await Promise.all(calls)
  await pool.close()
  fs.rmSync(dir, { recursive: true, force: true })
  return handed
}

async function small(dispatch) {
  const pool = invoke.pool({ limit: 2, minimum: 2, dispatch })
  const echo = await invoke.require(ECHO, { pool })
  await Promise.all([echo.add(1, 1), echo.add(1, 1)])
  const start = performance.now()
  await Promise.all(Array.from({ length: 20000 }, (_, n) => echo.add(n, 1)))
  const ms = performance.now() - start
  await pool.close()
  return ms
}

async function ticks(dispatch) {
  const pool = invoke.pool({ limit: 1, minimum: 1, dispatch })
  const mod = await invoke.require(BARRIER, { pool })
  const fast = mod({ priority: 1 })
  await fast.tick(0)
  const start = performance.now()
  const waits = Array.from({ length: 129 }, () => mod.wait())
  const lane = async () => {
    for (let n = 0; n < 2500; n++) await fast.tick(n)
  }
  await Promise.all([mod.open(), ...waits, ...Array.from({ length: 4 }, lane)])
  const ms = performance.now() - start
  await pool.close()
  return ms
}

async function mixed(dispatch) {
  const pool = invoke.pool({ limit: 2, minimum: 2, dispatch })
  const mod = await invoke.require(FIXTURE, { pool })
  await mod.inc(1)
  const work = costs()
  const pids = await Promise.all(work.map((ms) => mod.spin(ms)))
  await pool.close()
  const busy = new Map()
  pids.forEach((pid, i) => busy.set(pid, (busy.get(pid) ?? 0) + work[i]))
  const total = work.reduce((a, b) => a + b)
  return Math.max(...busy.values()) / (total / 2)
}

async function main() {
  const cases = { sleep, barrier, stuck, small, ticks, mixed }
  const results = {}
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const order = round % 2 === 0 ? ['adaptive', 'eager'] : ['eager', 'adaptive']
      const got = {}
      for (const dispatch of order) got[dispatch] = await run(dispatch)
      for (const dispatch of order) (results[`${name} ${dispatch}`] ??= []).push(got[dispatch])
      ;(results[`${name} ratio`] ??= []).push(got.adaptive / got.eager)
    }
  }
  for (const [name, values] of Object.entries(results)) {
    console.log(`${name.padEnd(16)} median ${median(values).toFixed(2)} (${values.map((v) => v.toFixed(2)).join(', ')})`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
