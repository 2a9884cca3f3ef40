'use strict'
// Fixture projects for the real jest CLI: test files written into a scratch folder, run by the
// jest this repository pins, with what each test saw appended to a log.

const fs = require('node:fs')
const path = require('node:path')
const { execFile } = require('node:child_process')

const ROOT = path.join(__dirname, '..', '..')
const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js')

/** Writes `files` ({name: source}) into `dir` and runs jest there with `args`. */
function runJest(dir, files, args = []) {
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source)
  const config = JSON.stringify({ rootDir: dir, testEnvironment: 'node', cacheDirectory: path.join(dir, '.cache') })
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [JEST, '--config', config, '--ci', '--watchman=false', ...args],
      { cwd: dir, timeout: 240000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, FORCE_COLOR: '0' } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr }),
    )
  })
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

module.exports = { ROOT, runJest, readLog }
