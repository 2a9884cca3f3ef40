'use strict'
// One library, one workload, in a fresh process: `node case.js '<json spec>'`.
// run.js spawns this; the result comes back as one `@@PEERS-RESULT {json}` line on stdout (the
// marker sets it apart from anything a worker prints).
//
// spec: {lib, workload, quick, stock, spin, cpuTasks, ms: {...}}

const fs = require('node:fs')
const path = require('node:path')
const { loadedAddons, describe } = require('./addon-info')
const { throughput, percentile } = require('../measure')

const WORK = path.join(__dirname, 'work.js')
const MARK = '@@PEERS-RESULT '
const SMALL = (i) => ({ i, s: 'hello', ok: true, list: [1, 2, 3] })
const MiB = 1024 * 1024

const spec = JSON.parse(process.argv[2])

function fail(message) {
  throw new Error(message)
}

function checkSmall(result, i) {
  if (result === null || typeof result !== 'object' || result.i !== i || result.s !== 'hello' || result.list?.[2] !== 3) {
    fail(`wrong echo for call ${i}: ${JSON.stringify(result)?.slice(0, 80)}`)
  }
}

/**
 * Keeps `inflight` calls outstanding; resolves to completed calls per second over `ms` (the loop
 * is bench/measure.js's, shared with the echo benchmark).
 */
function windowed(pool, fn, makeArg, check, inflight, ms) {
  const contender = { label: spec.lib, call: ({ arg }) => pool.call(fn, arg) }
  const correct = (result, { seq }) => {
    try {
      check(result, seq)
      return true
    } catch {
      return false
    }
  }
  return throughput(contender, (seq) => ({ seq, arg: makeArg(seq) }), correct, inflight, ms)
}

// ---- memory: the parent and every process below it --------------------------------------------

function descendants(root) {
  const children = new Map()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z') continue
    const ppid = Number(fields[1])
    if (!children.has(ppid)) children.set(ppid, [])
    children.get(ppid).push(Number(entry))
  }
  const found = []
  const todo = [...(children.get(root) ?? [])]
  while (todo.length > 0) {
    const pid = todo.pop()
    found.push(pid)
    todo.push(...(children.get(pid) ?? []))
  }
  return found
}

function rollup(pid) {
  const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
  return { rssKb: kb('Rss'), pssKb: kb('Pss') }
}

function threadCount(pid) {
  return fs.readdirSync(`/proc/${pid}/task`).length
}

function memory() {
  const pids = [process.pid, ...descendants(process.pid)]
  let rssKb = 0
  let pssKb = 0
  let threads = 0
  const perProcess = []
  for (const pid of pids) {
    try {
      const m = rollup(pid)
      rssKb += m.rssKb
      pssKb += m.pssKb
      const t = threadCount(pid)
      threads += t
      perProcess.push({ pid, self: pid === process.pid, ...m, threads: t })
    } catch {
      // It exited meanwhile.
    }
  }
  return { rssMB: rssKb / 1024, pssMB: pssKb / 1024, processes: perProcess.length, threads, perProcess }
}

// ---- workloads -------------------------------------------------------------------------------

async function warm(pool, ms, fn = 'echo', makeArg = SMALL, check = () => {}, inflight = 16) {
  if (ms > 0) await windowed(pool, fn, makeArg, check, inflight, ms)
}

const workloads = {
  async latency(pool) {
    await warm(pool, spec.ms.latencyWarm, 'echo', SMALL, checkSmall, 1)
    const samples = []
    const end = performance.now() + spec.ms.latency
    for (let i = 0; ; i++) {
      const arg = SMALL(i)
      const t = performance.now()
      const result = await pool.call('echo', arg)
      const now = performance.now()
      samples.push((now - t) * 1000)
      checkSmall(result, i)
      if (now >= end && samples.length >= 100) break
    }
    samples.sort((x, y) => x - y)
    return { p50us: percentile(samples, 50), p99us: percentile(samples, 99), calls: samples.length }
  },

  async throughput(pool) {
    await warm(pool, spec.ms.throughputWarm, 'echo', SMALL, checkSmall, 256)
    const rate = await windowed(pool, 'echo', SMALL, checkSmall, 256, spec.ms.throughput)
    // Workload 7: memory of the whole tree right after the run, the pool still up.
    return { callsPerSec: rate, memory: memory() }
  },

  async cpu(pool) {
    const expected = require(WORK).spin(spec.spin)
    // Each worker compiles `spin` once before the clock starts.
    await Promise.all(Array.from({ length: 4 }, () => pool.call('spin', Math.ceil(spec.spin / 10))))
    const t = performance.now()
    const results = await Promise.all(Array.from({ length: spec.cpuTasks }, () => pool.call('spin', spec.spin)))
    const wallMs = performance.now() - t
    if (!results.every((r) => r === expected)) fail('spin returned a wrong value')
    return { wallMs, tasks: spec.cpuTasks }
  },

  async io(pool) {
    await Promise.all(Array.from({ length: 4 }, () => pool.call('sleep', 1)))
    const t = performance.now()
    const results = await Promise.all(Array.from({ length: spec.ioTasks }, () => pool.call('sleep', 20)))
    const wallMs = performance.now() - t
    if (!results.every((r) => r === 20)) fail('sleep returned a wrong value')
    return { wallMs, tasks: spec.ioTasks }
  },

  async payload(pool) {
    const text = 'abcdefghijklmnopqrstuvwxyz012345'.repeat(MiB / 32) // 1 MiB, ASCII
    const bytes = Buffer.alloc(MiB)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff
    const checkText = (r) => r === text || fail(`string echo came back wrong (${typeof r}, length ${r?.length})`)
    let bufferAs = null
    const checkBytes = (r) => {
      const as = bufferShape(r)
      bufferAs ??= as
      if (!sameBytes(r, bytes)) fail(`Buffer echo came back wrong (${as})`)
    }
    const out = {}
    await warm(pool, spec.ms.payloadWarm, 'echo', () => text, checkText, 8)
    out.stringMBps = ((await windowed(pool, 'echo', () => text, checkText, 8, spec.ms.payload)) * MiB) / 1e6
    await warm(pool, spec.ms.payloadWarm, 'echo', () => bytes, checkBytes, 8)
    out.bufferMBps = ((await windowed(pool, 'echo', () => bytes, checkBytes, 8, spec.ms.payload)) * MiB) / 1e6
    out.bufferComesBackAs = bufferAs
    return out
  },
}

/** What an echoed Buffer turns into on the way back. */
function bufferShape(r) {
  if (Buffer.isBuffer(r)) return 'Buffer'
  if (r instanceof Uint8Array) return 'Uint8Array'
  if (r && r.type === 'Buffer' && Array.isArray(r.data)) return "JSON {type:'Buffer', data:[...]}"
  if (r && typeof r === 'object' && 0 in r) return "plain object {'0':…, '1':…}"
  return typeof r
}

function sameBytes(r, bytes) {
  if (r instanceof Uint8Array) return Buffer.compare(Buffer.from(r.buffer, r.byteOffset, r.byteLength), bytes) === 0
  const data = r && r.type === 'Buffer' && Array.isArray(r.data) ? r.data : r
  if (!data || typeof data !== 'object') return false
  const length = Array.isArray(data) ? data.length : Object.keys(data).length
  if (length !== bytes.length) return false
  for (let i = 0; i < bytes.length; i += 4099) if (data[i] !== bytes[i]) return false
  return true
}

// ---- main ------------------------------------------------------------------------------------

const WORKERS = { latency: 1, throughput: 2, cpu: 2, io: 2, payload: 2, startup: 2 }

async function runInline() {
  // Workload 3's reference: the same tasks one after another in this process.
  const { spin } = require(WORK)
  const expected = spin(spec.spin)
  spin(Math.ceil(spec.spin / 10))
  const t = performance.now()
  for (let i = 0; i < spec.cpuTasks; i++) if (spin(spec.spin) !== expected) fail('spin is not deterministic')
  return { wallMs: performance.now() - t, tasks: spec.cpuTasks }
}

async function main() {
  const result = { lib: spec.lib, workload: spec.workload, pid: process.pid }
  if (spec.lib === 'inline') {
    Object.assign(result, await runInline())
    return result
  }
  const tLoad = performance.now()
  const adapter = require(path.join(__dirname, 'adapters', `${spec.lib}.js`))
  if (adapter.load) await adapter.load()
  const workers = WORKERS[spec.workload] ?? fail(`unknown workload ${spec.workload}`)
  const options = { workers, stock: spec.stock === true }
  const t0 = performance.now()
  const pool = await adapter.start(WORK, options)
  if (spec.lib === 'invoke-parallel') result.addon = loadedAddons().map(describe)
  if (spec.workload === 'startup') {
    const first = await pool.call('echo', SMALL(0))
    result.firstResultMs = performance.now() - t0
    checkSmall(first, 0)
    // Loading the library itself (its require, or tinypool's import), before the clock above.
    result.loadMs = t0 - tLoad
  } else {
    Object.assign(result, await workloads[spec.workload](pool))
  }
  const tStop = performance.now()
  await Promise.race([pool.stop(), new Promise((_, reject) => setTimeout(() => reject(new Error('stop() took over 10 s')), 10000).unref())])
  result.stopMs = performance.now() - tStop
  await new Promise((resolve) => setTimeout(resolve, 100))
  result.leftoverProcesses = descendants(process.pid).length
  return result
}

main().then(
  (result) => {
    process.stdout.write(`\n${MARK}${JSON.stringify(result)}\n`, () => process.exit(0))
  },
  (err) => {
    process.stdout.write(`\n${MARK}${JSON.stringify({ lib: spec.lib, workload: spec.workload, error: String(err?.stack ?? err) })}\n`, () =>
      process.exit(1),
    )
  },
)
