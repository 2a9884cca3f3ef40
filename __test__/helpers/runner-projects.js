'use strict'
// Fixture projects for real test runners (jest, vitest, node --test): test files written into a
// scratch folder and run by the runner this repository pins, each test appending what it saw to
// a log.

const fs = require('node:fs')
const path = require('node:path')
const { execFile } = require('node:child_process')

const ROOT = path.join(__dirname, '..', '..')
const BIN = path.join(ROOT, 'node_modules', '.bin')
const IDENTITY = path.join(__dirname, '..', 'fixtures', 'identity.js')

const RECORD_START = path.join(__dirname, '..', 'fixtures', 'record-start.js')

/** The worker processes every run in `dir` started, as `{pid, ppid}`: see fixtures/record-start.js. */
function startedWorkers(dir) {
  const main = path.join(ROOT, 'lib', 'worker', 'main.js')
  return readLog(path.join(dir, 'starts.jsonl')).filter((start) => start.argv.includes(main))
}

function run(file, args, dir) {
  const env = {
    ...process.env,
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${RECORD_START}`,
    RECORD_STARTS: path.join(dir, 'starts.jsonl'),
  }
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: dir, timeout: 240000, maxBuffer: 64 * 1024 * 1024, env },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr }),
    )
  })
}

function write(dir, files) {
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source)
}

/** Writes `files` ({name: source}) into `dir` and runs jest there with `args` (and `config`). */
function runJest(dir, files, args = [], extraConfig = {}) {
  write(dir, files)
  const config = JSON.stringify({ rootDir: dir, testEnvironment: 'node', cacheDirectory: path.join(dir, '.cache'), ...extraConfig })
  return run(process.execPath, [path.join(BIN, 'jest'), '--config', config, '--ci', '--watchman=false', ...args], dir)
}

/** The same with vitest (`vitest run`, globals on). */
function runVitest(dir, files, args = []) {
  write(dir, files)
  fs.writeFileSync(path.join(dir, 'package.json'), '{}')
  return run(process.execPath, [path.join(BIN, 'vitest'), 'run', '--root', dir, '--globals', ...args], dir)
}

/** The same with Node's own runner. */
function runNodeTest(dir, files, args = []) {
  write(dir, files)
  return run(process.execPath, ['--test', ...args, ...Object.keys(files)], dir)
}

/**
 * A test body (for any runner with a global `test`, or `require('node:test')`) that calls a
 * worker of the global pool and logs the runner's pid, the pool's id and the worker's pid.
 */
function callingTest(log, { header = '', close = false } = {}) {
  return `${header}
const fs = require('node:fs')
const invoke = require(${JSON.stringify(ROOT)})
test('calls a worker of the global pool', async () => {
  const identity = await invoke.require(${JSON.stringify(IDENTITY)})
  const { pid, env } = await identity.whoAmI()
  // The pool may have been made by another copy of this package: its map and cancel tokens work too.
  let mapped = 0
  for await (const answer of invoke.map(identity.whoAmI, [1, 2, 3])) mapped += answer.env.poolId === env.poolId ? 1 : 0
  const token = invoke.cancelToken()
  token.resolve()
  const cancelled = await identity({ cancelToken: token }).whoAmI().then(() => 'not cancelled', (err) => err.code)
  const entry = { runner: process.pid, pool: env.poolId, worker: pid, mapped, cancelled }
  fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(entry) + '\\n')
  ${close ? 'await invoke.globalPool().close()' : ''}
})
`
}

/** The lines a run appended to `log`, parsed. */
function readLog(log) {
  if (!fs.existsSync(log)) return []
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}

/** runner pid -> the entries it logged. */
function byRunner(entries) {
  const grouped = new Map()
  for (const entry of entries) grouped.set(entry.runner, [...(grouped.get(entry.runner) ?? []), entry])
  return grouped
}

module.exports = { ROOT, IDENTITY, runJest, runVitest, runNodeTest, callingTest, readLog, byRunner, startedWorkers }
