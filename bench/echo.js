'use strict'
// Echo benchmark: invoke-parallel against hand-rolled baselines built on Node's own APIs, all
// measured in the same run, interleaved round by round, reported as medians and ratios.
//
//   node bench/echo.js            full run (under a minute)
//   node bench/echo.js --quick    short run (a few seconds)
//
// See bench/README.md for what each number means.

const os = require('node:os')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { throughput, latency, median, percentile } = require('./measure')

const FULL = { name: 'full', rounds: 5, sampleMs: 300, warmMs: 150 }
const QUICK = { name: 'quick', rounds: 3, sampleMs: 100, warmMs: 50 }

const THROUGHPUT_INFLIGHT = [1, 64, 1024]
const THROUGHPUT_KEYS = ['a', 'b', 'c', 'd', 'e']
const LATENCY_KEYS = ['a', 'c', 'd']
const PAYLOAD_SIZES = [1024, 64 * 1024, 1024 * 1024]
const PAYLOAD_KEYS = ['a', 'd']
const PAYLOAD_INFLIGHT = 16

const smallArg = (i) => ({ i, s: 'hello' })
const smallCheck = (r, arg) => r !== null && typeof r === 'object' && r.i === arg.i && r.s === 'hello'

function parseArgs(argv) {
  let config = FULL
  for (const arg of argv) {
    if (arg === '--quick') config = QUICK
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: node bench/echo.js [--quick]')
      process.exit(0)
    } else {
      console.error(`bench/echo.js: unknown argument ${arg} (usage: node bench/echo.js [--quick])`)
      process.exit(2)
    }
  }
  return config
}

function loadContenders() {
  try {
    return require('./contenders').createContenders()
  } catch (err) {
    console.error(`bench/echo.js: could not load invoke-parallel (${err.message}).`)
    console.error('Build the native addon first: npm run build')
    process.exit(1)
  }
}

/** The contender order for round `r`: A, B, C, then B, C, A, ... so nobody always goes first. */
function rotate(keys, r) {
  const k = r % keys.length
  return [...keys.slice(k), ...keys.slice(0, k)]
}

function progress(text) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`)
}

function progressDone() {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K')
}

// ---- formatting ------------------------------------------------------------------------------

const int = (n) => Math.round(n).toLocaleString('en-US')
const fixed = (n, digits) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const times = (x) => `${x.toFixed(2)}x`
const spread = (xs) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`

/** Plain-text table: columns are [title, 'l' | 'r']; rows are arrays of strings ('' = blank). */
function table(columns, rows) {
  const widths = columns.map(([title], i) => Math.max(title.length, ...rows.map((row) => (row ? row[i].length : 0))))
  const cell = (text, i) => (columns[i][1] === 'r' ? text.padStart(widths[i]) : text.padEnd(widths[i]))
  const line = (cells) => '  ' + cells.map(cell).join('   ').trimEnd()
  const out = [line(columns.map(([title]) => title)), '  ' + widths.map((w) => '-'.repeat(w)).join('   ')]
  for (const row of rows) out.push(row ? line(row) : '')
  return out.join('\n')
}

/** Median over rounds of x[r] / base[r]: paired within a round, so drifting load cancels out. */
function pairedRatios(xs, base) {
  return xs.map((x, r) => x / base[r])
}

// ---- sections --------------------------------------------------------------------------------

async function benchThroughput(c, cfg) {
  const rates = {}
  for (const n of THROUGHPUT_INFLIGHT) {
    rates[n] = {}
    for (const key of THROUGHPUT_KEYS) {
      rates[n][key] = []
      progress(`1. throughput: warming up ${key}, ${n} in flight`)
      await throughput(c[key], smallArg, smallCheck, n, cfg.warmMs)
    }
  }
  for (let r = 0; r < cfg.rounds; r++) {
    for (const n of THROUGHPUT_INFLIGHT) {
      for (const key of rotate(THROUGHPUT_KEYS, r)) {
        progress(`1. throughput: round ${r + 1}/${cfg.rounds}, ${n} in flight, ${key}`)
        rates[n][key].push(await throughput(c[key], smallArg, smallCheck, n, cfg.sampleMs))
      }
    }
  }
  progressDone()

  const rows = []
  for (const n of THROUGHPUT_INFLIGHT) {
    if (rows.length) rows.push(null)
    for (const key of THROUGHPUT_KEYS) {
      const ratios = pairedRatios(rates[n][key], rates[n].c)
      rows.push([
        `${key}  ${c[key].label}`,
        String(n),
        int(median(rates[n][key])),
        key === 'c' ? '1.00x' : times(median(ratios)),
        key === 'c' ? '' : spread(ratios),
      ])
    }
  }
  console.log(`\n1. Echo throughput: echo({i, s: 'hello'}) with N calls in flight, calls/s`)
  console.log(
    table(
      [
        ['contender', 'l'],
        ['in flight', 'r'],
        ['calls/s', 'r'],
        ['vs c', 'r'],
        ['vs c, min-max', 'r'],
      ],
      rows,
    ),
  )
}

async function benchLatency(c, cfg) {
  const p50 = {}
  const p99 = {}
  const count = {}
  for (const key of LATENCY_KEYS) {
    p50[key] = []
    p99[key] = []
    count[key] = 0
    progress(`2. latency: warming up ${key}`)
    await latency(c[key], smallArg, smallCheck, cfg.warmMs)
  }
  for (let r = 0; r < cfg.rounds; r++) {
    for (const key of rotate(LATENCY_KEYS, r)) {
      progress(`2. latency: round ${r + 1}/${cfg.rounds}, ${key}`)
      const sorted = await latency(c[key], smallArg, smallCheck, cfg.sampleMs)
      p50[key].push(percentile(sorted, 50))
      p99[key].push(percentile(sorted, 99))
      count[key] += sorted.length
    }
  }
  progressDone()

  const rows = LATENCY_KEYS.map((key) => [
    `${key}  ${c[key].label}`,
    fixed(median(p50[key]), 1),
    fixed(median(p99[key]), 1),
    key === 'c' ? '1.00x' : times(median(pairedRatios(p50[key], p50.c))),
    key === 'c' ? '1.00x' : times(median(pairedRatios(p99[key], p99.c))),
    int(count[key]),
  ])
  console.log(`\n2. Round-trip latency, 1 call in flight, microseconds (lower is better; vs c > 1x = slower than c)`)
  console.log(
    table(
      [
        ['contender', 'l'],
        ['p50 us', 'r'],
        ['p99 us', 'r'],
        ['p50 vs c', 'r'],
        ['p99 vs c', 'r'],
        ['calls timed', 'r'],
      ],
      rows,
    ),
  )
}

async function benchPayload(c, cfg) {
  const buffers = new Map(PAYLOAD_SIZES.map((size) => [size, crypto.randomBytes(size)]))
  const argFor = (size) => {
    const buf = buffers.get(size)
    return () => buf
  }
  const checkFor = (size) => {
    const buf = buffers.get(size)
    return (r) => r instanceof Uint8Array && r.length === size && r[0] === buf[0] && r[size - 1] === buf[size - 1]
  }
  const rates = {}
  for (const size of PAYLOAD_SIZES) {
    rates[size] = {}
    for (const key of PAYLOAD_KEYS) {
      rates[size][key] = []
      progress(`3. payload: warming up ${key}, ${size} bytes`)
      await throughput(c[key], argFor(size), checkFor(size), PAYLOAD_INFLIGHT, cfg.warmMs)
    }
  }
  for (let r = 0; r < cfg.rounds; r++) {
    for (const size of PAYLOAD_SIZES) {
      for (const key of rotate(PAYLOAD_KEYS, r)) {
        progress(`3. payload: round ${r + 1}/${cfg.rounds}, ${size} bytes, ${key}`)
        const rate = await throughput(c[key], argFor(size), checkFor(size), PAYLOAD_INFLIGHT, cfg.sampleMs)
        rates[size][key].push((rate * size) / 1e6)
      }
    }
  }
  progressDone()

  const rows = []
  for (const size of PAYLOAD_SIZES) {
    if (rows.length) rows.push(null)
    for (const key of PAYLOAD_KEYS) {
      const ratios = pairedRatios(rates[size][key], rates[size].d)
      rows.push([
        size >= 1024 * 1024 ? `${size / (1024 * 1024)} MiB` : `${size / 1024} KiB`,
        `${key}  ${c[key].label}`,
        fixed(median(rates[size][key]), 1),
        key === 'd' ? '1.00x' : times(median(ratios)),
        key === 'd' ? '' : spread(ratios),
      ])
    }
  }
  console.log(`\n3. Payload scaling: echo(Buffer) with ${PAYLOAD_INFLIGHT} calls in flight, MB/s`)
  console.log('   (MB/s = payload bytes x completed calls / s / 1e6; each call carries the payload both ways)')
  console.log(
    table(
      [
        ['payload', 'l'],
        ['contender', 'l'],
        ['MB/s', 'r'],
        ['vs d', 'r'],
        ['vs d, min-max', 'r'],
      ],
      rows,
    ),
  )
}

// ---- main ------------------------------------------------------------------------------------

async function sanityCheck(c) {
  for (const key of Object.keys(c)) {
    assert.deepEqual(await c[key].call({ i: 7, s: 'hello' }), { i: 7, s: 'hello' }, `${c[key].label}: echo`)
  }
  const buf = crypto.randomBytes(4096)
  for (const key of PAYLOAD_KEYS) {
    const back = await c[key].call(buf)
    assert.ok(back instanceof Uint8Array, `${c[key].label}: a Buffer comes back as a ${back?.constructor?.name}`)
    assert.ok(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(buf), `${c[key].label}: bytes differ`)
  }
}

async function main() {
  const cfg = parseArgs(process.argv.slice(2))
  const contenders = loadContenders()
  const started = performance.now()
  const cpus = os.cpus()

  console.log('invoke-parallel echo benchmark')
  console.log(`  node ${process.version}, ${process.platform}-${process.arch}`)
  console.log(
    `  ${cpus.length} CPUs (availableParallelism ${os.availableParallelism()}), ${cpus[0]?.model?.trim() ?? 'unknown model'}`,
  )
  console.log(`  date ${new Date().toISOString()}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  console.log(
    `  ${cfg.name} run: ${cfg.rounds} interleaved rounds of ${cfg.sampleMs} ms samples per cell (after a ${cfg.warmMs} ms warm-up each); medians over rounds`,
  )
  console.log('  Note: ratios to peers in this same run matter more than absolute numbers (shared, noisy machine).')
  console.log('  Contenders:')
  for (const [key, contender] of Object.entries(contenders)) {
    const detail = contender.poolOptions ? ` (${JSON.stringify(contender.poolOptions)})` : ''
    console.log(`    ${key}  ${contender.label}${detail}`)
  }
  console.log('  "vs c" / "vs d": median over rounds of (row / that baseline in the same round); >1x = more throughput.')

  try {
    progress('starting contenders')
    // One at a time, so that no start-up competes with another for the CPUs.
    for (const contender of Object.values(contenders)) await contender.start()
    await sanityCheck(contenders)
    await benchThroughput(contenders, cfg)
    await benchLatency(contenders, cfg)
    await benchPayload(contenders, cfg)
  } finally {
    progressDone()
    const closed = await Promise.allSettled(Object.values(contenders).map((contender) => contender.close()))
    for (const result of closed) {
      if (result.status === 'rejected') console.error(`closing a contender failed: ${result.reason}`)
    }
  }

  console.log(
    `\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s; load average now ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  )
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
