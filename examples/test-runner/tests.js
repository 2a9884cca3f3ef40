'use strict'
// The worker side of the test runner. This module is loaded inside the pool's child processes,
// so everything it returns must survive structured clone: names, numbers and messages, never
// the test functions or Error objects themselves.

const fs = require('node:fs')
const path = require('node:path')

const DEFAULT_TIMEOUT = 2000

/**
 * The folder's settings: `testOptions` from package.json, overridden by test-config.opts (the
 * runner's own file is the more specific of the two), overridden by what the caller passed.
 * `baseDir` goes last so that no file can point the runner somewhere else.
 */
function readConfig(opts, baseDir) {
  const pkg = readOptional(path.join(baseDir, 'package.json'))
  const optsFile = readOptional(path.join(baseDir, 'test-config.opts'))
  const fromPkg = pkg === null ? {} : (JSON.parse(pkg).testOptions ?? {})
  const fromFile = optsFile === null ? {} : parseOpts(optsFile)
  return { timeout: DEFAULT_TIMEOUT, ...fromPkg, ...fromFile, ...opts, baseDir }
}

// Both config files are optional: a bare folder of tests should still run.
function readOptional(file) {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    if (err.code === 'ENOENT') return null
    throw err
  }
}

/** `--key value` per line, `#` comments; a bare `--flag` means true. */
function parseOpts(text) {
  const result = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^--([\w-]+)(?:\s+(.*))?$/.exec(line)
    if (match === null) throw new SyntaxError(`test-config.opts: cannot parse line "${line}"`)
    result[match[1]] = match[2] === undefined ? true : coerce(match[2].trim())
  }
  return result
}

// The file is text, but `--timeout 2000` should compare as a number, as it would from JSON.
function coerce(value) {
  if (value === 'true') return true
  if (value === 'false') return false
  if (value !== '' && Number.isFinite(Number(value))) return Number(value)
  return value
}

/** The test names in `file`; a file that fails to load reports that instead of sinking the run. */
function loadFile(config, file) {
  try {
    return { file, tests: testNames(require(file)) }
  } catch (err) {
    return { file, tests: [], error: describe(err) }
  }
}

function testNames(exports) {
  return Object.keys(exports).filter((name) => typeof exports[name] === 'function')
}

async function runFile(config, file) {
  let exports
  try {
    exports = require(file)
  } catch (err) {
    return { file, pid: process.pid, results: [{ name: '(loading the file)', ok: false, ms: 0, error: describe(err) }] }
  }
  const results = []
  // One test after another within a file, as most runners do: tests in a file may share state.
  // The parallelism comes from the files being spread over the pool.
  for (const name of testNames(exports)) {
    results.push(await runTest(name, exports[name], config.timeout))
  }
  return { file, pid: process.pid, results }
}

async function runTest(name, fn, timeout) {
  const start = performance.now()
  let timer
  try {
    // A synchronous busy loop cannot be interrupted from inside its own process, so the timeout
    // only catches tests that yield; the pool's worker would stay stuck on a truly endless loop.
    const expired = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms`)), timeout)
    })
    await Promise.race([Promise.resolve().then(() => fn()), expired])
    return { name, ok: true, ms: elapsed(start) }
  } catch (err) {
    return { name, ok: false, ms: elapsed(start), error: describe(err) }
  } finally {
    // A pending timer would keep this worker busy for nothing after the test is over.
    clearTimeout(timer)
  }
}

function elapsed(start) {
  return Math.round(performance.now() - start)
}

// A message rather than the error: assertion errors carry `actual`/`expected` values that may
// not be cloneable, and the report only needs the text.
function describe(err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`
  return `thrown: ${String(err)}`
}

module.exports = { readConfig, loadFile, runFile }
