'use strict'
// The two drivers side by side in one run, interleaved: 'linux' (I/O thread, pidfd, polled
// sockets) against 'portable' (Node's libuv: uv_spawn, streams). Each round runs every case on
// both, in an order that alternates; the report gives medians and portable / linux.
//
//   node bench/drivers.js [--quick]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { throughput, latency, median, percentile } = require('./measure')

const QUICK = process.argv.includes('--quick')
const ROUNDS = QUICK ? 2 : 5
const SAMPLE_MS = QUICK ? 200 : 600
const DRIVERS = ['linux', 'portable']
const WORKER = path.join(__dirname, 'drivers-worker.js')
const MIB = Buffer.alloc(1 << 20, 7)

const invoke = require('..')

async function poolFor(driver) {
  process.env.INVOKE_PARALLEL_DRIVER = driver
  // A worker killed in the storm is reported: that is expected here.
  const pool = invoke.pool({ limit: 2, minimum: 2, onError: () => {} })
  const mod = await invoke.require(WORKER, { pool })
  // Warm both workers up.
  await Promise.all(Array.from({ length: 2000 }, (_, i) => mod.echo(i)))
  return { pool, mod, label: driver }
}

const small = (i) => ({ i, s: 'hello' })
const sameSmall = (r, arg) => r.i === arg.i

/** Each case: a name, the unit, and how to measure one sample on a driver's pool. */
const CASES = [
  ['throughput, 256 in flight', 'calls/s', (d) => throughput(contender(d), small, sameSmall, 256, SAMPLE_MS)],
  ['throughput, 1,024 in flight', 'calls/s', (d) => throughput(contender(d), small, sameSmall, 1024, SAMPLE_MS)],
  ['sequential p50', 'µs', async (d) => percentile(await latency(contender(d), small, sameSmall, SAMPLE_MS), 50)],
  ['sequential p99', 'µs', async (d) => percentile(await latency(contender(d), small, sameSmall, SAMPLE_MS), 99)],
  [
    '1 MiB payloads, 4 in flight',
    'MiB/s',
    (d) => throughput(contender(d), () => MIB, (r) => r.length === MIB.length, 4, SAMPLE_MS),
  ],
  ['200 × sleep(20)', 'ms', (d) => timed(() => Promise.all(Array.from({ length: 200 }, () => d.mod.sleep(20))))],
  ['kill storm: 400 calls, 20 kill their worker once', 'ms', (d) => timed(() => killStorm(d))],
]

function contender(d) {
  return { label: d.label, call: (arg) => d.mod.echo(arg) }
}

async function timed(body) {
  const start = performance.now()
  await body()
  return performance.now() - start
}

/**
 * 400 calls, of which 20 kill their worker the first time they run: every call settles, run
 * again after each death (one that was on a worker killed three times gives up with Retry).
 */
async function killStorm(d) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-storm-'))
  const marker = (i) => (i % 20 === 0 ? path.join(dir, String(i)) : null)
  const settle = (call) =>
    call.catch((err) => {
      if (err.code !== 'ERR_INVOKE_WORKER_DIED') throw err
    })
  try {
    await Promise.all(Array.from({ length: 400 }, (_, i) => settle(d.mod.dieOnce(marker(i)))))
    if (fs.readdirSync(dir).length !== 20) throw new Error('kill storm: not every killer ran')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

async function main() {
  const pools = {}
  for (const driver of DRIVERS) pools[driver] = await poolFor(driver)
  const samples = CASES.map(() => ({ linux: [], portable: [] }))
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, [, , measure]] of CASES.entries()) {
      const order = (round + index) % 2 === 0 ? DRIVERS : [...DRIVERS].reverse()
      for (const driver of order) samples[index][driver].push(await measure(pools[driver]))
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`)
  }
  await Promise.all(Object.values(pools).map((d) => d.pool.close()))
  const rows = CASES.map(([name, unit], index) => {
    const linux = median(samples[index].linux)
    const portable = median(samples[index].portable)
    return { case: name, unit, linux: round(linux), portable: round(portable), 'portable / linux': (portable / linux).toFixed(2) }
  })
  console.table(rows)
  console.log(JSON.stringify({ rounds: ROUNDS, sampleMs: SAMPLE_MS, rows }))
}

const round = (x) => (x >= 100 ? Math.round(x) : Number(x.toFixed(1)))

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
