'use strict'
// What the remote pool's options cost, against the same pool without them, in the same run,
// interleaved round by round (one local Redis, one host of 2 workers):
//   - calls/s with 256 small calls in flight and latency p50 of one at a time, for a pool with
//     `key` (every call keyed), with `queueTimeout`, and with both, each against the plain pool;
//   - invoke.map over the remote pool against the same items as one call each.
//
//   node bench/remote-options.js            full run
//   node bench/remote-options.js --quick    short run

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const { spawn } = require('node:child_process')
const invoke = require('invoke-parallel')
const { remotePool } = require('invoke-parallel-bullmq')
const { throughput, latency, median, percentile } = require('./measure')

const FULL = { rounds: 5, sampleMs: 1000, items: 5000 }
const QUICK = { rounds: 2, sampleMs: 300, items: 2000 }
const config = process.argv.includes('--quick') ? QUICK : FULL

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-remote-options-'))
const socket = path.join(dir, 'redis.sock')

function start(command, args, ready) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  child.exited = new Promise((resolve) => child.once('exit', resolve))
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (ready.test(out)) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}):\n${out}`)))
  })
}

const small = (i) => ({ i, s: 'hello' })
const same = (r, a) => r !== null && typeof r === 'object' && r.i === a.i

async function main() {
  const redis = await start('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--dir', dir], /ready to accept connections/i)
  const host = await start(process.execPath, [path.join(__dirname, 'remote-host.js'), 'bench', socket, '2', ''], /ready/)
  const connection = { path: socket }
  const variants = {
    plain: {},
    key: { key: () => crypto.randomUUID() },
    queueTimeout: { queueTimeout: 60000 },
    both: { key: () => crypto.randomUUID(), queueTimeout: 60000 },
  }
  const pools = {}
  const mods = {}
  for (const [label, options] of Object.entries(variants)) {
    pools[label] = remotePool({ queue: 'bench', connection, root: __dirname, ...options })
    mods[label] = await invoke.require(path.join(__dirname, 'remote-worker.js'), { pool: pools[label] })
  }
  const labels = Object.keys(variants)
  const rate = Object.fromEntries(labels.map((l) => [l, []]))
  const p50 = Object.fromEntries(labels.map((l) => [l, []]))
  const mapRate = { map: [], calls: [] }
  const items = Array.from({ length: config.items }, (_, i) => small(i))
  for (let round = 0; round < config.rounds; round++) {
    const order = labels.map((_, i) => labels[(i + round) % labels.length])
    for (const label of order) {
      const contender = { label, call: (arg) => mods[label].echo(arg) }
      const samples = await latency(contender, small, same, config.sampleMs)
      p50[label].push(percentile(samples, 50))
      rate[label].push(await throughput(contender, small, same, 256, config.sampleMs))
    }
    for (const how of round % 2 ? ['calls', 'map'] : ['map', 'calls']) {
      const t = performance.now()
      if (how === 'map') for await (const _ of invoke.map(mods.plain.echo, items));
      else await Promise.all(items.map((item) => mods.plain.echo(item)))
      mapRate[how].push(items.length / ((performance.now() - t) / 1000))
    }
  }
  console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; one host of 2 workers; medians of ${config.rounds} rounds`)
  console.log('| remote pool | latency p50 | / plain | calls/s, 256 in flight | / plain |\n| --- | ---: | ---: | ---: | ---: |')
  for (const label of labels) {
    const l = median(p50[label])
    const r = median(rate[label])
    console.log(`| ${label} | ${(l / 1000).toFixed(2)} ms | ${(l / median(p50.plain)).toFixed(2)} | ${r.toFixed(0)} /s | ${(r / median(rate.plain)).toFixed(2)} |`)
  }
  const m = median(mapRate.map)
  const c = median(mapRate.calls)
  console.log(`\ninvoke.map over the remote pool, ${config.items} small items: ${m.toFixed(0)} items/s against ${c.toFixed(0)} as one call each (${(m / c).toFixed(1)}x)`)
  for (const pool of Object.values(pools)) await pool.close()
  host.kill('SIGTERM')
  await host.exited
  redis.kill('SIGTERM')
  await redis.exited
  fs.rmSync(dir, { recursive: true, force: true })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
