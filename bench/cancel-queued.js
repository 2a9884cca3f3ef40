'use strict'
// What cancelling a queued call costs with a long queue: `node bench/cancel-queued.js [sizes...]`.
// One worker holds its only slot while `size` calls wait, each with a token of its own; then 2,000
// of them (spread over the queue) are cancelled one by one, and the time until each has rejected
// is averaged. Prints µs per cancel for each queue size.
const path = require('node:path')
const invoke = require('..')

const CANCELLED = 2000

async function measure(size) {
  const pool = invoke.pool({ limit: 1, maxPerChild: 1 })
  const echo = await invoke.require(path.join(__dirname, '..', '__test__', 'fixtures', 'echo'), { pool })
  const busy = echo.sleep(600000).catch(() => {})
  const tokens = []
  const calls = []
  for (let i = 0; i < size; i++) {
    const token = invoke.cancelToken()
    tokens.push(token)
    calls.push(echo({ cancelToken: token }).add(i, 1).catch(() => {}))
  }
  // Let the calls reach the scheduler's queue.
  await new Promise((resolve) => setImmediate(resolve))
  const step = Math.max(1, Math.floor(size / CANCELLED))
  const picked = []
  for (let i = size - 1; i >= 0 && picked.length < CANCELLED; i -= step) picked.push(i)
  const start = process.hrtime.bigint()
  for (const i of picked) {
    tokens[i].resolve()
    await calls[i]
  }
  const micros = Number(process.hrtime.bigint() - start) / 1000 / picked.length
  await pool.close({ force: true })
  await busy
  return micros
}

async function main() {
  const sizes = process.argv.slice(2).map(Number)
  for (const size of sizes.length > 0 ? sizes : [2000, 400000]) {
    const micros = await measure(size)
    console.log(`${size} queued: ${micros.toFixed(1)} µs per cancel`)
  }
}

main()
