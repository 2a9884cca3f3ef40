'use strict'
// The library under the real jest CLI: one global pool per jest process however many test files
// (each evaluates this package's JS in a module registry of its own), and nothing left that
// `--detectOpenHandles` reports.

const test = require('ava')
const os = require('node:os')
const path = require('node:path')
const { scratchDir } = require('./helpers/pools')
const { ROOT, runJest, readLog } = require('./helpers/jest-project')

const ECHO = path.join(__dirname, 'fixtures', 'identity.js')
const FILES = 24

/** A test file that calls a worker through the global pool and logs who answered. */
function callingFile(log) {
  return `
const fs = require('node:fs')
const invoke = require(${JSON.stringify(ROOT)})
test('calls a worker of the global pool', async () => {
  const identity = await invoke.require(${JSON.stringify(ECHO)})
  const { pid, env } = await identity.whoAmI()
  fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ jest: process.pid, pool: env.poolId, worker: pid }) + '\\n')
})
`
}

function project(dir) {
  const log = path.join(dir, 'log.jsonl')
  const files = {}
  for (let i = 0; i < FILES; i++) files[`calls-${String(i).padStart(2, '0')}.test.js`] = callingFile(log)
  return { log, files }
}

for (const [how, args] of [
  ['--runInBand', ['--runInBand']],
  ['-w 2', ['-w', '2']],
]) {
  test(`jest ${how}: ${FILES} test files share one global pool per jest process`, async (t) => {
    const dir = scratchDir(t, 'jest')
    const { log, files } = project(dir)
    const run = await runJest(dir, files, args)
    t.is(run.code, 0, run.stderr)
    const entries = readLog(log)
    t.is(entries.length, FILES)
    const byProcess = new Map()
    for (const entry of entries) byProcess.set(entry.jest, [...(byProcess.get(entry.jest) ?? []), entry])
    // Workers are never recycled here, so every worker that ever ran is counted: the peak.
    const limit = os.availableParallelism() + 1
    for (const [jest, seen] of byProcess) {
      t.is(new Set(seen.map((entry) => entry.pool)).size, 1, `jest process ${jest}: pools ${seen.map((e) => e.pool)}`)
      t.true(new Set(seen.map((entry) => entry.worker)).size <= limit)
    }
  })
}

test('jest --detectOpenHandles finds nothing open: closed pools, a closed isolated module, the idle global pool', async (t) => {
  const dir = scratchDir(t, 'jest-handles')
  const use = (what) => `
const invoke = require(${JSON.stringify(ROOT)})
${what}
`
  const files = {
    'own-pool.test.js': use(`
test('a pool of its own, closed', async () => {
  const pool = invoke.pool({ limit: 2 })
  const identity = await invoke.require(${JSON.stringify(ECHO)}, { pool })
  await Promise.all([identity.whoAmI(), identity.whoAmI()])
  await pool.close()
})`),
    'isolated.test.js': use(`
test('an isolated module, closed', async () => {
  const identity = await invoke.require(${JSON.stringify(ECHO)}, { isolated: true })
  await identity.whoAmI()
  await invoke.close(identity)
})`),
    'global.test.js': use(`
test('the global pool, left idle', async () => {
  const identity = await invoke.require(${JSON.stringify(ECHO)})
  await identity.whoAmI()
})`),
  }
  const run = await runJest(dir, files, ['--detectOpenHandles'])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /Tests:\s+3 passed/)
  t.notRegex(run.stderr + run.stdout, /open handle/i)
})
