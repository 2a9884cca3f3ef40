'use strict'
// Windows builds of Node under wine 10 (scripts/platforms/wine.sh), for the tests that run the
// addon as Windows users get it. The outermost node.exe cannot write to a Linux pipe (EBADF under
// wine), so what it prints goes to a file in its working folder, which wine-run.sh mounts.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const TOOLCHAINS = process.env.TOOLCHAINS || '/work/toolchains'

/** wine-run.sh of the wine chroot: WINE_RUN, else what wine.sh sets up, else where it keeps it. */
function wineRunner() {
  if (process.env.WINE_RUN) return process.env.WINE_RUN
  const script = path.join(__dirname, 'wine.sh')
  if (!fs.existsSync(script)) return path.join(TOOLCHAINS, 'wine-trixie', 'wine-run.sh')
  return execFileSync(script, [], { encoding: 'utf8', env: { ...process.env, TOOLCHAINS } }).trim()
}

let runner = null

/**
 * Runs `node` (a node.exe) with `args` under wine in `cwd`; returns what it printed (stdout and
 * stderr). Throws with that output when it exits non-zero or outlives `timeout` ms.
 */
function wineNode(node, args, { cwd, env = process.env, timeout = 240000 }) {
  runner ??= wineRunner()
  const log = path.join(cwd, `.wine-output-${process.pid}.txt`)
  fs.rmSync(log, { force: true })
  try {
    execFileSync('sh', ['-c', `"$0" wine "$@" > "${log}" 2>&1`, runner, node, ...args], { cwd, env, timeout })
    return fs.readFileSync(log, 'utf8')
  } catch (error) {
    throw new Error(`${node} ${args.join(' ')} failed: ${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : error.message}`)
  } finally {
    fs.rmSync(log, { force: true })
  }
}

module.exports = { wineNode }
