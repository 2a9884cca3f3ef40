'use strict'
// Adaptive dispatch against eager dispatch on calls that await, rounds interleaved (the order
// alternates each round), with the ratio of each round:
//
//   node bench/await-stall.js [rounds (default 7)]
//
// - sleep: 200 x sleep(20) on 2 workers, wall time (adaptive / eager).
// - barrier: 129 calls on 1 worker that each wait until a later call opens the barrier, wall
//   time until all settled (adaptive / eager): the stall rule's rounds (32, 128, 512) against
//   eager's one. A round that has not settled in 10 s counts as Infinity (a deadlock).

const path = require('node:path')
const invoke = require('..')
const { median } = require('./measure')

const ECHO = require.resolve('../__test__/fixtures/echo')
const BARRIER = path.join(__dirname, '..', '__test__', 'fixtures', 'barrier.js')
const rounds = Number(process.argv[2] ?? 7)

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

async function main() {
  const cases = { sleep, barrier }
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
  process.exitCode = 1
})
