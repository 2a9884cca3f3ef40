'use strict'
// What a worker flooding the parent with well-formed frames costs the honest calls on the other
// worker: honest calls per second and the parent's CPU while one worker floods, against the same
// pool while that worker burns as much CPU writing nothing (`spin`: on a machine with few cores,
// a flooder's own CPU slows everything), rounds interleaved.
//
//   node bench/floods.js [seconds per sample (default 2)] [rounds (default 3)]
//
// Floods (__test__/fixtures/hostile-frames.js `floodFrames`): `pace`, idle Pace reports while the
// worker holds its call; `awaiting`, Awaiting frames for calls the worker was never given.

const invoke = require('..')
const { median } = require('./measure')

const FIXTURE = require.resolve('../__test__/fixtures/hostile-frames')
const seconds = Number(process.argv[2] ?? 2)
const rounds = Number(process.argv[3] ?? 3)

async function sample(flood) {
  // maxPerChild 1: the flooder's call holds its worker, so the honest calls go to the other one.
  const pool = invoke.pool({ limit: 2, minimum: 2, maxPerChild: 1, onError: () => {} })
  const mod = await invoke.require(FIXTURE, { pool })
  await Promise.all([mod.echo(1), mod.echo(2)])
  const ms = seconds * 1000
  const flooding = mod({ noRetry: true }).floodFrames(flood, ms + 500).catch(() => {})
  // The flooder's call is out first; give it a moment to start writing.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const cpu = process.cpuUsage()
  const start = performance.now()
  let calls = 0
  while (performance.now() - start < ms) {
    await mod.echo(calls)
    calls++
  }
  const elapsed = performance.now() - start
  const used = process.cpuUsage(cpu)
  await flooding
  await pool.close({ force: true })
  return { rate: (calls / elapsed) * 1000, cpu: (used.user + used.system) / 1000 / elapsed }
}

async function main() {
  const kinds = ['spin', 'pace', 'awaiting']
  const results = Object.fromEntries(kinds.map((k) => [k, []]))
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) results[kind].push(await sample(kind))
  }
  const base = median(results.spin.map((r) => r.rate))
  for (const kind of kinds) {
    const rate = median(results[kind].map((r) => r.rate))
    const cpu = median(results[kind].map((r) => r.cpu))
    console.log(
      `${kind.padEnd(9)} honest ${Math.round(rate).toString().padStart(6)} calls/s (${(rate / base).toFixed(2)}x spin), parent CPU ${Math.round(cpu * 100)}%`,
    )
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
