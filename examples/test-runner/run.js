'use strict'
// A small parallel test runner: the test files are spread over a pool of worker processes, so
// slow files overlap instead of adding up. Usage:
//   node examples/test-runner/run.js [folder] [--key value ...]
// The folder defaults to ./sample next to this script; `--key value` pairs override the folder's
// config (for example `--timeout 500`).

const fs = require('node:fs')
const path = require('node:path')
const invoke = require('../..')

// An explicit limit, rather than one per core, so the spread over several workers shows even
// on a small machine: most sample tests wait on timers, not on the CPU.
const WORKERS = 4

async function main() {
  const wallStart = performance.now()
  const { folder, opts } = parseArgs(process.argv.slice(2))
  // Absolute, because the workers may run in a different cwd from the one the user typed in.
  const baseDir = folder === undefined ? path.join(__dirname, 'sample') : path.resolve(folder)

  const pool = invoke.pool({ limit: WORKERS })
  try {
    // Resolved against this file, not against the cwd, like a plain `require`.
    const tests = await invoke.require('./tests', { pool })

    const config = await tests.readConfig(opts, baseDir)
    const files = listTestFiles(baseDir, config.pattern ?? '*.test.js')
    console.log(`${files.length} test files in ${baseDir}`)
    console.log(`config: ${JSON.stringify(config)}\n`)

    const loaded = await Promise.all(files.map((file) => tests.loadFile(config, file)))
    const count = loaded.reduce((sum, f) => sum + f.tests.length, 0)
    console.log(`found ${count} tests, running them on up to ${WORKERS} workers...\n`)

    const ran = await Promise.all(files.map((file) => tests.runFile(config, file)))
    const wallMs = Math.round(performance.now() - wallStart)
    report(baseDir, ran, wallMs)
  } finally {
    // The process would exit without this, but closing waits for the workers to be gone, so the
    // runner never leaves children behind even if a later version keeps running after this.
    await pool.close()
  }
}

function parseArgs(argv) {
  const opts = {}
  let folder
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) {
      folder = arg
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      const value = argv[++i]
      opts[arg.slice(2)] = Number.isFinite(Number(value)) ? Number(value) : value
    } else {
      opts[arg.slice(2)] = true
    }
  }
  return { folder, opts }
}

// Only `*` is supported: enough for `*.test.js` without pulling in a glob library.
function listTestFiles(dir, pattern) {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  const matcher = new RegExp(`^${source}$`)
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && matcher.test(entry.name))
    .map((entry) => path.join(dir, entry.name))
    .sort()
}

function report(baseDir, ran, wallMs) {
  let passed = 0
  let failed = 0
  let testMs = 0
  const pids = new Set()
  for (const { file, pid, results } of ran) {
    pids.add(pid)
    console.log(`${path.relative(baseDir, file)}  (worker pid ${pid})`)
    for (const r of results) {
      testMs += r.ms
      if (r.ok) passed++
      else failed++
      console.log(`  ${r.ok ? 'pass' : 'FAIL'}  ${r.name}  ${r.ms} ms`)
      // Assertion messages span several lines; indent them all under their test.
      if (!r.ok) console.log(r.error.replace(/^(?=.)/gm, '          '))
    }
  }
  const failNote = failed > 0 ? ' (the sample includes failing tests on purpose)' : ''
  console.log('')
  console.log(`${passed + failed} tests run: ${passed} passed, ${failed} failed${failNote}`)
  console.log(`${pids.size} distinct worker processes: ${[...pids].join(', ')}`)
  console.log(`test time summed: ${testMs} ms, wall time: ${wallMs} ms (${(testMs / wallMs).toFixed(1)}x)`)
}

// Failing tests are a result, not an error: only the runner itself breaking exits non-zero.
main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
