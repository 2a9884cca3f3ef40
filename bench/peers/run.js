'use strict'
// invoke-parallel against the worker-pool libraries people pick instead, all measured in one run.
// Every (library, workload) sample runs in a fresh `node case.js` process with a hard timeout; see
// README.md beside this file.
//
//   node bench/peers/run.js [--quick] [--pinned] [--stock] [--only=lib,lib] [--workload=name,name]
//                           [--rounds=N] [--spin=N] [--addon=file.node]
//                           [--invoke=dir] [--out=file]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')
const { LIBS } = require('./adapters')
const { spin } = require('./work')

const BASELINE = 'fork-pool'
const MARK = '@@PEERS-RESULT '
const WORKLOADS = ['latency', 'throughput', 'cpu', 'io', 'payload', 'startup']
const PINNED_WORKLOADS = ['latency', 'throughput']

// ---- options ---------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { quick: false, pinned: false, stock: false, only: null, workloads: null, rounds: null, spin: null, addon: null, invoke: null, out: null }
  for (const arg of argv) {
    const [key, value] = arg.split(/=(.*)/s)
    if (key === '--quick') o.quick = true
    else if (key === '--pinned') o.pinned = true
    else if (key === '--stock') o.stock = true
    else if (key === '--only') o.only = value.split(',').filter(Boolean)
    else if (key === '--workload') o.workloads = value.split(',').filter(Boolean)
    else if (key === '--rounds') o.rounds = Number(value)
    else if (key === '--spin') o.spin = Number(value)
    else if (key === '--out') o.out = path.resolve(value)
    else if (key === '--addon') o.addon = path.resolve(value)
    else if (key === '--invoke') o.invoke = path.resolve(value)
    else if (key === '--help' || key === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(5, 9).join('\n').replace(/^\/\/ ?/gm, ''))
      process.exit(0)
    } else throw new Error(`unknown argument ${arg} (try --help)`)
  }
  const names = LIBS.map((l) => l.name)
  for (const name of o.only ?? []) if (!names.includes(name)) throw new Error(`--only: unknown library ${name} (${names.join(', ')})`)
  // `memory` is measured inside the throughput run.
  if (o.workloads) o.workloads = [...new Set(o.workloads.map((w) => (w === 'memory' ? 'throughput' : w)))]
  for (const w of o.workloads ?? []) if (!WORKLOADS.includes(w)) throw new Error(`--workload: unknown workload ${w} (${WORKLOADS.join(', ')}, memory)`)
  if (o.rounds !== null && !(Number.isInteger(o.rounds) && o.rounds >= 1)) throw new Error('--rounds must be an integer >= 1')
  if (o.addon !== null && !(o.addon.endsWith('.node') && fs.existsSync(o.addon))) throw new Error('--addon must name an existing .node file')
  if (o.invoke !== null && !fs.existsSync(path.join(o.invoke, 'package.json'))) throw new Error('--invoke must name a directory holding a copy of the package')
  return o
}

let opts
try {
  opts = parseArgs(process.argv.slice(2))
} catch (err) {
  console.error(`bench/peers/run.js: ${err.message}`)
  process.exit(2)
}
const ROUNDS = opts.rounds ?? (opts.quick ? 1 : 3)
const MS = opts.quick
  ? { latency: 500, latencyWarm: 150, throughput: 700, throughputWarm: 250, payload: 500, payloadWarm: 150 }
  : { latency: 1500, latencyWarm: 300, throughput: 2000, throughputWarm: 500, payload: 1200, payloadWarm: 300 }
const TIMEOUT_MS = { latency: 60000, throughput: 60000, cpu: 60000, io: 60000, payload: 120000, startup: 30000 }
const CPU_TASKS = 200
const IO_TASKS = 200
const OUT = opts.out ?? path.join(__dirname, 'results.json')

// The baseline always runs: every ratio is against it.
const libs = LIBS.filter((l) => opts.only === null || opts.only.includes(l.name) || l.name === BASELINE)
const workloads = opts.workloads ?? WORKLOADS

// ---- calibration -----------------------------------------------------------------------------

/** Rounds of `spin` that take about 10 ms here (median of a few timings, after warming up). */
function calibrate() {
  const n = 2_000_000
  for (let i = 0; i < 5; i++) spin(n)
  const times = []
  for (let i = 0; i < 9; i++) {
    const t = performance.now()
    spin(n)
    times.push(performance.now() - t)
  }
  const perRound = median(times) / n
  return Math.round(10 / perRound)
}

// ---- running one case ------------------------------------------------------------------------

let current = null

function runCase(lib, workload, round, pinned) {
  const spec = { lib, workload, quick: opts.quick, stock: opts.stock, spin: SPIN, cpuTasks: CPU_TASKS, ioTasks: IO_TASKS, ms: MS }
  const args = [path.join(__dirname, 'case.js'), JSON.stringify(spec)]
  const [cmd, argv] = pinned ? [TASKSET, ['-c', '0', process.execPath, ...args]] : [process.execPath, args]
  const started = performance.now()
  return new Promise((resolve) => {
    // Its own process group, so the timeout (and the cleanup after) reaches its workers too.
    // --addon: lib/binary.js loads this file instead of the repo's (napi-rs's NAPI_RS_NATIVE_LIBRARY_PATH).
    // --invoke: the adapter requires invoke-parallel from that directory instead of the repo.
    const env = { ...process.env }
    if (opts.addon !== null) env.NAPI_RS_NATIVE_LIBRARY_PATH = opts.addon
    if (opts.invoke !== null) env.PEERS_INVOKE_PARALLEL_DIR = opts.invoke
    const child = spawn(cmd, argv, { cwd: path.join(__dirname, '..', '..'), env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    current = child
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child.pid)
    }, TIMEOUT_MS[workload])
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      current = null
      // Whatever the case left behind (it should be nothing) goes with it.
      killGroup(child.pid)
      const line = stdout.split('\n').find((l) => l.startsWith(MARK))
      let result
      if (line !== undefined) result = JSON.parse(line.slice(MARK.length))
      else {
        const why = timedOut ? `timed out after ${TIMEOUT_MS[workload]} ms` : `exited (code ${code}, signal ${signal}) without a result`
        result = { lib, workload, error: `${why}\n${tail(stderr)}` }
      }
      if (result.error && stderr && !result.error.includes(stderr.trim().slice(0, 200))) result.stderr = tail(stderr)
      result.round = round
      result.pinned = pinned
      result.caseMs = performance.now() - started
      resolve(result)
    })
  })
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

function tail(text, lines = 15) {
  return text.trim().split('\n').slice(-lines).join('\n')
}

process.on('SIGINT', () => {
  if (current !== null) killGroup(current.pid)
  process.exit(130)
})

// ---- statistics and tables -------------------------------------------------------------------

function median(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function get(obj, key) {
  return key.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj)
}

/** What each workload's table shows. `better` only labels the column. */
const METRICS = {
  latency: [
    { key: 'p50us', label: 'p50 µs', better: 'lower', digits: 0 },
    { key: 'p99us', label: 'p99 µs', better: 'lower', digits: 0 },
  ],
  throughput: [{ key: 'callsPerSec', label: 'calls/s', better: 'higher', digits: 0 }],
  memory: [
    { key: 'memory.rssMB', label: 'RSS MB', better: 'lower', digits: 1 },
    { key: 'memory.pssMB', label: 'PSS MB', better: 'lower', digits: 1 },
  ],
  cpu: [{ key: 'wallMs', label: 'wall ms', better: 'lower', digits: 0 }],
  io: [{ key: 'wallMs', label: 'wall ms', better: 'lower', digits: 0 }],
  payload: [
    { key: 'stringMBps', label: 'string MB/s', better: 'higher', digits: 1 },
    { key: 'bufferMBps', label: 'Buffer MB/s', better: 'higher', digits: 1 },
  ],
  startup: [
    { key: 'firstResultMs', label: 'start→1st result ms', better: 'lower', digits: 0 },
    { key: 'loadMs', label: 'require ms', better: 'lower', digits: 0 },
  ],
}

const TITLES = {
  latency: '1. Latency: one small object at a time, 1 worker (round trip, µs; lower is better)',
  throughput: '2. Throughput: small objects, 256 in flight, 2 workers (calls/s; higher is better)',
  cpu: `3. CPU-bound: ${CPU_TASKS} tasks of ~10 ms busy work, 2 workers (wall ms; lower is better)`,
  io: `4. I/O concurrency: ${IO_TASKS} x await sleep(20), 2 workers (wall ms; lower is better)`,
  payload: '5. Payloads: 1 MiB echoed both ways, 8 in flight, 2 workers (MB/s of payload per call; higher is better)',
  startup: '6. Startup: pool creation to first result, 2 workers (ms; lower is better)',
  memory: '7. Memory after the throughput run: parent + all its workers (MB; lower is better)',
}

/** Per library: median of each metric, and the median / min / max of its per-round ratio to the baseline. */
function summarize(results, metricSet) {
  const summary = {}
  const rounds = [...new Set(results.map((r) => r.round))]
  for (const lib of [...new Set(results.map((r) => r.lib))]) {
    const mine = results.filter((r) => r.lib === lib)
    const ok = mine.filter((r) => !r.error)
    const entry = { runs: mine.length, failures: mine.length - ok.length, errors: mine.filter((r) => r.error).map((r) => r.error) }
    for (const m of metricSet) {
      const ratios = []
      for (const round of rounds) {
        const a = ok.find((r) => r.round === round)
        const b = results.find((r) => r.lib === BASELINE && r.round === round && !r.error)
        const x = get(a, m.key)
        const y = get(b, m.key)
        if (Number.isFinite(x) && Number.isFinite(y) && y !== 0) ratios.push(x / y)
      }
      entry[m.key] = {
        median: median(ok.map((r) => get(r, m.key))),
        values: ok.map((r) => get(r, m.key)),
        ratio: median(ratios),
        ratioMin: ratios.length ? Math.min(...ratios) : NaN,
        ratioMax: ratios.length ? Math.max(...ratios) : NaN,
      }
    }
    summary[lib] = entry
  }
  return summary
}

function fmt(v, digits) {
  if (!Number.isFinite(v)) return '-'
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function fmtRatio(cell, lib) {
  if (lib === BASELINE) return '1 (base)'
  if (!Number.isFinite(cell.ratio)) return '-'
  const r = (x) => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3))
  return ROUNDS > 1 && cell.ratioMin !== cell.ratioMax ? `${r(cell.ratio)}x (${r(cell.ratioMin)}-${r(cell.ratioMax)})` : `${r(cell.ratio)}x`
}

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function labelOf(name) {
  return name === 'inline' ? 'inline (no pool, 1 thread)' : LIBS.find((l) => l.name === name).label
}

function render(name, results, extra = {}) {
  const metrics = METRICS[name]
  const summary = summarize(results, metrics)
  const headers = ['library']
  for (const m of metrics) headers.push(m.label, 'vs fork')
  if (name === 'cpu') headers.push('speedup vs inline')
  if (name === 'payload') headers.push('Buffer comes back as')
  if (name === 'memory') headers.push('procs', 'threads')
  const order = [...libs.map((l) => l.name), 'inline'].filter((n) => summary[n])
  const rows = []
  const failures = []
  for (const lib of order) {
    const s = summary[lib]
    if (s.failures === s.runs) {
      rows.push([labelOf(lib), ...metrics.flatMap(() => ['FAILED', '']), ...(name === 'cpu' || name === 'payload' ? [''] : []), ...(name === 'memory' ? ['', ''] : [])])
      failures.push(`${lib}: ${s.errors[0].split('\n')[0]}`)
      continue
    }
    if (s.failures > 0) failures.push(`${lib}: ${s.failures} of ${s.runs} runs failed: ${s.errors[0].split('\n')[0]}`)
    const row = [labelOf(lib)]
    for (const m of metrics) row.push(fmt(s[m.key].median, m.digits), lib === 'inline' ? '' : fmtRatio(s[m.key], lib))
    if (name === 'cpu') row.push(lib === 'inline' ? '1 (ref)' : fmt(extra.speedup?.[lib], 2) + 'x')
    if (name === 'payload') row.push(results.find((r) => r.lib === lib && r.bufferComesBackAs)?.bufferComesBackAs ?? '-')
    if (name === 'memory') {
      const r = results.find((x) => x.lib === lib && x.memory)
      row.push(r ? r.memory.processes : '-', r ? r.memory.threads : '-')
    }
    rows.push(row)
  }
  let text = table(headers, rows)
  if (failures.length) text += '\n' + failures.map((f) => `  ! ${f}`).join('\n')
  return { text, summary }
}

// ---- main ------------------------------------------------------------------------------------

function which(cmd) {
  try {
    return execFileSync('which', [cmd], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

const SPIN = opts.spin ?? calibrate()
const TASKSET = which('taskset')

/** The invoke-parallel source this run measures: commit, and files changed since (read-only git). */
function sourceState() {
  if (opts.invoke !== null) {
    // A copy may say which commit it was made from, in a `.source-commit` file.
    const marker = path.join(opts.invoke, '.source-commit')
    return { copyAt: opts.invoke, commit: fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim() : null, uncommitted: [] }
  }
  const root = path.join(__dirname, '..', '..')
  const git = (...args) => execFileSync('git', ['--no-optional-locks', '-C', root, ...args], { encoding: 'utf8' }).trim()
  try {
    return { commit: git('rev-parse', 'HEAD'), uncommitted: git('status', '--porcelain', '--', 'lib', 'src', 'index.js', 'worker.js').split('\n').filter(Boolean) }
  } catch {
    return { commit: null, uncommitted: [] }
  }
}

function rotated(list, round) {
  const k = round % list.length
  return [...list.slice(k), ...list.slice(0, k)]
}

async function runWorkload(workload, pinned) {
  const results = []
  const names = libs.map((l) => l.name)
  if (workload === 'cpu') names.push('inline')
  for (let round = 0; round < ROUNDS; round++) {
    for (const lib of rotated(names, round)) {
      const r = await runCase(lib, workload, round, pinned)
      const status = r.error ? `FAILED: ${r.error.split('\n')[0].slice(0, 120)}` : brief(workload, r)
      process.stderr.write(`  [${pinned ? 'pinned ' : ''}${workload} r${round + 1}/${ROUNDS}] ${lib.padEnd(16)} ${status} (${(r.caseMs / 1000).toFixed(1)} s)\n`)
      results.push(r)
    }
  }
  return results
}

function brief(workload, r) {
  return METRICS[workload].map((m) => `${m.label} ${fmt(get(r, m.key), m.digits)}`).join(', ')
}

/** Workload 3's speedup: per round, inline wall time / the library's, then the median. */
function speedups(results) {
  const out = {}
  for (const lib of new Set(results.map((r) => r.lib))) {
    const ratios = []
    for (const r of results.filter((x) => x.lib === lib && !x.error)) {
      const inline = results.find((x) => x.lib === 'inline' && x.round === r.round && !x.error)
      if (inline) ratios.push(inline.wallMs / r.wallMs)
    }
    out[lib] = median(ratios)
  }
  return out
}

async function main() {
  const t0 = performance.now()
  if (opts.pinned && TASKSET === null) throw new Error('--pinned needs taskset (util-linux), which is not installed')
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model,
    loadavg: os.loadavg(),
    mode: opts.quick ? 'quick' : 'default',
    configuration: opts.stock ? 'stock (library defaults for per-worker concurrency)' : 'tuned (per-worker concurrency lifted where a library has the option)',
    rounds: ROUNDS,
    durationsMs: MS,
    spinRoundsPer10ms: SPIN,
    cpuTasks: CPU_TASKS,
    ioTasks: IO_TASKS,
    baseline: BASELINE,
    libraries: libs.map(({ name, label, kind, version, setup }) => ({ name, label, kind, version, setup })),
    invokeParallelSource: sourceState(),
    invokeParallelAddon: null,
  }
  process.stderr.write(
    `peers: ${meta.mode} run, ${ROUNDS} round(s), ${libs.length} libraries, workloads ${workloads.join(', ')}${opts.pinned ? ' (+ pinned)' : ''}; spin(${SPIN}) ~ 10 ms\n`,
  )
  const out = { meta, results: [], pinnedResults: [], summary: {}, pinnedSummary: {}, tables: {} }
  const texts = []
  const save = () => fs.writeFileSync(OUT, JSON.stringify(out, null, 2) + '\n')
  const emit = (key, title, name, results, extra) => {
    const { text, summary } = render(name, results, extra)
    const block = `${title}\n\n${text}\n`
    texts.push(block)
    out.tables[key] = block
    return summary
  }
  for (const workload of workloads) {
    const results = await runWorkload(workload, false)
    out.results.push(...results)
    if (workload === 'cpu') {
      const speedup = speedups(results)
      out.summary.cpu = emit('cpu', TITLES.cpu, 'cpu', results, { speedup })
      for (const [lib, s] of Object.entries(speedup)) if (out.summary.cpu[lib]) out.summary.cpu[lib].speedupVsInline = s
    } else {
      out.summary[workload] = emit(workload, TITLES[workload], workload, results)
    }
    if (workload === 'throughput') out.summary.memory = emit('memory', TITLES.memory, 'memory', results)
    save()
  }
  if (opts.pinned) {
    for (const workload of workloads.filter((w) => PINNED_WORKLOADS.includes(w))) {
      const results = await runWorkload(workload, true)
      out.pinnedResults.push(...results)
      const title = `PINNED (every process on CPU 0, taskset -c 0): ${TITLES[workload]}`
      out.pinnedSummary[workload] = emit(`pinned-${workload}`, title, workload, results)
      save()
    }
  }
  meta.totalSeconds = (performance.now() - t0) / 1000
  const addons = [...out.results, ...out.pinnedResults].filter((r) => r.addon).flatMap((r) => r.addon)
  const builds = [...new Map(addons.map((a) => [`${a.path} ${a.build}`, a])).values()]
  meta.invokeParallelAddon = builds
  save()
  const header = [
    `invoke-parallel vs worker-pool peers — ${meta.mode} run, ${ROUNDS} round(s) per workload, node ${process.version}, ${meta.cpus} CPUs`,
    `configuration: ${meta.configuration}`,
    `"vs fork" = median over rounds of (library / fork-pool) from the same round${ROUNDS > 1 ? ', (min-max) over rounds' : ''}.`,
    'For calls/s and MB/s above 1x is better; for µs, ms and MB below 1x is better.',
    `invoke-parallel: ${meta.invokeParallelSource.copyAt ? `the copy in ${meta.invokeParallelSource.copyAt}${meta.invokeParallelSource.commit ? ` (commit ${meta.invokeParallelSource.commit.slice(0, 10)})` : ''}` : `commit ${meta.invokeParallelSource.commit?.slice(0, 10) ?? '?'}`}` +
      (meta.invokeParallelSource.uncommitted.length ? ` + uncommitted changes in ${meta.invokeParallelSource.uncommitted.length} file(s)` : '') +
      `; addon ${builds.map((a) => `${a.path} (${a.build} build, ${a.sizeMB} MB)`).join(', ') || 'not loaded'}`,
    ...(builds.some((a) => a.build !== 'release')
      ? ['WARNING: invoke-parallel ran on a non-release addon; its numbers understate it. Use `npm run build` or --addon=<release .node>.']
      : []),
    '',
    table(
      ['library', 'version', 'runs in', 'setup'],
      libs.map((l) => [l.label, l.version, l.kind, l.setup]),
    ),
    '',
  ].join('\n')
  console.log(header)
  console.log(texts.join('\n'))
  console.log(`total ${meta.totalSeconds.toFixed(0)} s; full results in ${path.relative(process.cwd(), OUT) || OUT}`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
