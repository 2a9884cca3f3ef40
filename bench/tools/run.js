'use strict'
// Real tools over corpora from the installed packages, invoke-parallel against the worker-pool
// libraries and a hand-written fork pool, all measured in one run, interleaved: every (job, mode,
// library) sample is a fresh `node case.js` process, and each round runs the libraries of a
// (job, mode) one after another in a rotated order. See README.md beside this file.
//
//   node bench/tools/run.js [--quick] [--rounds=N] [--scale=X] [--only=lib,lib] [--job=name,name] [--out=file]
//   node bench/tools/run.js --from=results.json     (the tables of a run again, from its results)

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, execFileSync } = require('node:child_process')
const { POOLS } = require('./pools')

const BASELINE = 'fork-pool'
const MARK = '@@TOOLS-RESULT '
const FILE_JOBS = ['terser', 'typescript', 'prettier', 'marked', 'tail']
const ITEM_JOBS = ['blocks', 'tiny']
const JOBS = [...FILE_JOBS, ...ITEM_JOBS]
const WORKERS = 2
const CASE_TIMEOUT_MS = 180000

function parseArgs(argv) {
  const o = { quick: false, rounds: null, scale: null, only: null, jobs: null, out: null, from: null }
  for (const arg of argv) {
    const [key, value] = arg.split(/=(.*)/s)
    if (key === '--quick') o.quick = true
    else if (key === '--rounds') o.rounds = Number(value)
    else if (key === '--scale') o.scale = Number(value)
    else if (key === '--only') o.only = value.split(',').filter(Boolean)
    else if (key === '--job') o.jobs = value.split(',').filter(Boolean)
    else if (key === '--out') o.out = path.resolve(value)
    else if (key === '--from') o.from = path.resolve(value)
    else throw new Error(`unknown argument ${arg}`)
  }
  for (const job of o.jobs ?? []) if (!JOBS.includes(job)) throw new Error(`--job: unknown job ${job} (${JOBS.join(', ')})`)
  for (const lib of o.only ?? []) if (!(lib in POOLS)) throw new Error(`--only: unknown library ${lib}`)
  return o
}

const opts = parseArgs(process.argv.slice(2))
const ROUNDS = opts.rounds ?? (opts.quick ? 1 : 3)
const SCALE = opts.scale ?? (opts.quick ? 0.25 : 1)
const OUT = opts.out ?? path.join(__dirname, 'results.json')
const LIBS = Object.keys(POOLS).filter((lib) => opts.only === null || opts.only.includes(lib) || lib === BASELINE)
const jobs = opts.jobs ?? JOBS

/** The (job, mode) groups and the contenders of each: a contender is a library or a variant. */
function groups() {
  const out = []
  for (const job of jobs.filter((j) => FILE_JOBS.includes(j))) {
    for (const mode of ['bulk', 'bounded']) {
      const entries = LIBS.map((lib) => ({ lib, mode }))
      // invoke.map is the other way to submit everything at once.
      if (mode === 'bulk' && LIBS.includes('invoke-parallel')) entries.push({ lib: 'invoke-parallel', mode: 'map' })
      out.push({ job, mode, entries })
    }
  }
  for (const job of jobs.filter((j) => ITEM_JOBS.includes(j))) {
    const entries = LIBS.map((lib) => ({ lib, mode: 'calls' }))
    if (LIBS.includes('invoke-parallel')) entries.push({ lib: 'invoke-parallel', mode: 'map' })
    entries.push({ lib: 'inline', mode: 'inline' })
    out.push({ job, mode: 'all', entries })
  }
  return out
}

function runCase(spec) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'case.js'), JSON.stringify(spec)], {
      cwd: path.join(__dirname, '..', '..'),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => killGroup(child.pid), CASE_TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      killGroup(child.pid)
      const line = stdout.split('\n').find((l) => l.startsWith(MARK))
      resolve(line ? JSON.parse(line.slice(MARK.length)) : { ...spec, error: `exited (${code ?? signal}) without a result: ${stderr.trim().split('\n').slice(-5).join(' | ')}` })
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

function median(values) {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const nameOf = ({ lib, mode }) => (mode === 'map' ? 'invoke-parallel map' : lib === 'inline' ? 'inline (no pool)' : lib)

/** Median over the rounds of `key` for a job's entry, and of its ratio to `base`'s in the same round. */
function stat(results, job, entry, key, base) {
  const mine = results.filter((r) => r.job === job && r.lib === entry.lib && r.mode === entry.mode && !r.error)
  const ratios = []
  for (const r of mine) {
    const b = results.find((x) => x.job === job && x.round === r.round && x.lib === base.lib && x.mode === base.mode && !x.error)
    if (b) ratios.push(r[key] / b[key])
  }
  return { value: median(mine.map((r) => r[key])), ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) }
}

const num = (v, digits = 0) => (Number.isFinite(v) ? v.toFixed(digits) : '-')
const ratio = ({ ratio: r, min, max }) =>
  !Number.isFinite(r) ? '-' : ROUNDS > 1 && min !== max ? `${r.toFixed(2)}x (${min.toFixed(2)}-${max.toFixed(2)})` : `${r.toFixed(2)}x`

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function fileTable(results, group) {
  const base = { lib: BASELINE, mode: group.mode }
  const rows = group.entries.map((entry) => {
    const wall = stat(results, group.job, entry, 'wallMs', base)
    const first = stat(results, group.job, entry, 'firstMs', base)
    const jest = stat(results, group.job, entry, 'firstMs', { lib: 'jest-worker', mode: group.mode })
    const rss = stat(results, group.job, entry, 'peakWorkerRssMB', base)
    const errors = results.filter((r) => r.job === group.job && r.lib === entry.lib && r.mode === entry.mode && r.error).length
    return [
      nameOf(entry) + (errors ? ` (${errors} failed)` : ''),
      num(wall.value),
      entry.lib === BASELINE ? 'base' : ratio(wall),
      num(first.value),
      ratio(jest),
      num(stat(results, group.job, entry, 'imbalance', base).value, 3),
      num(rss.value, 0),
    ]
  })
  const items = results.find((r) => r.job === group.job && r.items)?.items
  return `${group.job}, ${group.mode} (${items ?? '?'} files, ${WORKERS} workers${group.mode === 'bounded' ? `, ${2 * WORKERS} in flight` : ', all submitted at once'})\n\n` +
    table(['library', 'wall ms', 'wall vs fork', '1st result ms', '1st vs jest-worker', 'imbalance', 'peak worker RSS MB'], rows)
}

function itemTable(results, group) {
  const base = { lib: BASELINE, mode: 'calls' }
  const inline = { lib: 'inline', mode: 'inline' }
  const rows = group.entries.map((entry) => {
    const rate = stat(results, group.job, entry, 'itemsPerSec', base)
    const speedup = stat(results, group.job, entry, 'itemsPerSec', inline)
    return [nameOf(entry), num(stat(results, group.job, entry, 'wallMs', base).value), num(rate.value), ratio(rate), ratio(speedup)]
  })
  const items = results.find((r) => r.job === group.job && r.items)?.items
  const what = group.job === 'blocks' ? 'marked per Markdown block' : 'x + 1 per number'
  const checks = new Set(results.filter((r) => r.job === group.job && !r.error).map((r) => r.check))
  return `${group.job}: ${what} (${items ?? '?'} items, ${WORKERS} workers, all at once; a call per item unless "map")` +
    `${checks.size > 1 ? ' WARNING: the modes disagree on the results' : ''}\n\n` +
    table(['library', 'wall ms', 'items/s', 'vs fork per-call', 'vs inline'], rows)
}

function commit() {
  try {
    return execFileSync('git', ['--no-optional-locks', '-C', path.join(__dirname, '..', '..'), 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch {
    return '?'
  }
}

function rotated(list, k) {
  const n = k % list.length
  return [...list.slice(n), ...list.slice(0, n)]
}

/** --from: the tables of a saved run. */
function renderSaved(file) {
  const { meta, results } = JSON.parse(fs.readFileSync(file, 'utf8'))
  const jobsRun = new Set(results.map((r) => r.job))
  const all = groups().filter((group) => jobsRun.has(group.job))
  return { meta, tables: all.map((group) => (ITEM_JOBS.includes(group.job) ? itemTable(results, group) : fileTable(results, group))) }
}

function print(meta, tables) {
  console.log(`real tools, ${meta.rounds} round(s), interleaved; commit ${meta.commit}, node ${meta.node}, ${meta.cpus} CPUs (${meta.cpuModel}), load ${meta.loadavg.map((l) => l.toFixed(1)).join(' ')} at the start, ${meta.loadavgAfter?.map((l) => l.toFixed(1)).join(' ') ?? '?'} at the end`)
  console.log("ratios: median over rounds of the per-round ratio (min-max); imbalance: busiest worker's event-loop busy time / the mean\n")
  console.log(tables.join('\n\n'))
}

async function main() {
  if (opts.from !== null) {
    const { meta, tables } = renderSaved(opts.from)
    return print(meta, tables)
  }
  const meta = { date: new Date().toISOString(), commit: commit(), node: process.version, cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model, loadavg: os.loadavg(), rounds: ROUNDS, scale: SCALE, workers: WORKERS }
  const results = []
  const all = groups()
  process.stderr.write(`tools: ${ROUNDS} round(s), scale ${SCALE}, ${all.reduce((n, g) => n + g.entries.length, 0) * ROUNDS} cases\n`)
  for (let round = 0; round < ROUNDS; round++) {
    for (const group of all) {
      for (const entry of rotated(group.entries, round)) {
        const r = await runCase({ lib: entry.lib, job: group.job, mode: entry.mode, workers: WORKERS, scale: SCALE })
        r.round = round
        results.push(r)
        process.stderr.write(`  [r${round + 1}] ${group.job} ${nameOf(entry).padEnd(20)} ${entry.mode.padEnd(7)} ${r.error ? `FAILED: ${r.error.slice(0, 160)}` : `${num(r.wallMs)} ms, 1st ${num(r.firstMs)} ms${r.imbalance ? `, imbalance ${num(r.imbalance, 3)}` : ''}`}\n`)
        fs.writeFileSync(OUT, JSON.stringify({ meta, results }, null, 2) + '\n')
      }
    }
  }
  const tables = all.map((group) => (ITEM_JOBS.includes(group.job) ? itemTable(results, group) : fileTable(results, group)))
  meta.loadavgAfter = os.loadavg()
  fs.writeFileSync(OUT, JSON.stringify({ meta, results, tables }, null, 2) + '\n')
  print(meta, tables)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
