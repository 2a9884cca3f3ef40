'use strict'
// What diagnostics_channel costs a call: the same echo calls through one pool with nobody
// subscribed, through the pool's call path without the proxy's subscriber check (the code before
// the channels existed), with a subscriber that does nothing, and with one that sets a traceparent
// (which then crosses into the worker). Variants interleaved round by round in one run; medians
// and ratios against "off".
//
//   node bench/channels.js [--quick]

const dc = require('node:diagnostics_channel')
const invoke = require('..')
const { methodTargets } = require('../lib/proxy')
const { callMethod } = require('../lib/pool-interface')
const { throughput, latency, median, percentile } = require('./measure')

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 3 : 7
const SAMPLE_MS = quick ? 150 : 400
const INFLIGHT = 64

const calls = dc.tracingChannel('invoke-parallel:call')
const nothing = () => {}
const silent = { start: nothing, end: nothing, asyncStart: nothing, asyncEnd: nothing, error: nothing }
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
const propagating = { ...silent, start: (m) => (m.traceparent = TRACEPARENT) }

const arg = (i) => ({ i, s: 'hello' })
const check = (r, a) => r !== null && typeof r === 'object' && r.i === a.i

async function main() {
  const pool = invoke.pool({ limit: 2 })
  const mod = await invoke.require('./echo-worker', { pool })
  const { moduleId } = methodTargets.get(mod.echo)
  const variants = [
    { label: 'off', call: (a) => mod.echo(a) },
    { label: 'direct', call: (a) => pool[callMethod](moduleId, 'echo', [a], {}) },
    { label: 'subscribed', subscriber: silent, call: (a) => mod.echo(a) },
    { label: 'traceparent', subscriber: propagating, call: (a) => mod.echo(a) },
  ]
  const results = new Map(variants.map((v) => [v.label, { rate: [], p50: [] }]))
  for (let round = 0; round < ROUNDS; round++) {
    // Each round in another order, so no variant always follows the same one.
    const order = variants.map((_, i) => variants[(i + round) % variants.length])
    for (const v of order) {
      if (v.subscriber) calls.subscribe(v.subscriber)
      try {
        const r = results.get(v.label)
        r.rate.push(await throughput(v, arg, check, INFLIGHT, SAMPLE_MS))
        r.p50.push(percentile(await latency(v, arg, check, SAMPLE_MS), 50))
      } finally {
        if (v.subscriber) calls.unsubscribe(v.subscriber)
      }
    }
  }
  await pool.close()
  const off = results.get('off')
  const [offRate, offP50] = [median(off.rate), median(off.p50)]
  console.log(`diagnostics_channel cost, ${ROUNDS} interleaved rounds, medians (node ${process.version})`)
  console.log('variant        calls/s (64 in flight)  vs off    p50 µs (1 in flight)  vs off')
  for (const [label, r] of results) {
    const rate = median(r.rate)
    const p50 = median(r.p50)
    console.log(
      `${label.padEnd(14)} ${rate.toFixed(0).padStart(22)}  ${(rate / offRate).toFixed(3).padStart(6)}x` +
        `  ${p50.toFixed(1).padStart(20)}  ${(p50 / offP50).toFixed(3).padStart(6)}x`,
    )
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
