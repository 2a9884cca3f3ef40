'use strict'

const fs = require('node:fs')
const { execFile } = require('node:child_process')
const { scaled } = require('./time')

/** Whether `pid` is a running process. A zombie counts as dead: orphans are reparented to PID 1,
 * which in some containers never reaps them. */
function isAlive(pid) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // Windows has no /proc and no zombies: signal 0 already fails for a process that has exited.
  if (process.platform === 'win32') return true
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Resolves once `predicate()` holds; rejects after `ms` so a broken promise fails the test. */
async function waitFor(predicate, unscaled, what) {
  const ms = scaled(unscaled)
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** How long a script's output pipes may stay open after it exited. Something else holds them
 * then: under wine, a child the script was starting when it was killed (the 100,000-call fixture
 * at its time limit, say) can outlive it, created but never run, outside libuv's job object. */
const PIPES_AFTER_EXIT_MS = 5000

/** Runs a node script to completion; `killed` tells whether it had to be stopped, `held` whether
 * something it left behind held its output open after it exited (what it printed is cut there). */
function runNode(args, { timeout = 20000, cwd } = {}) {
  return new Promise((resolve) => {
    let held = false
    const child = execFile(process.execPath, args, { timeout: scaled(timeout), cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, killed: Boolean(error && error.killed), held, stdout, stderr })
    })
    // execFile answers once the pipes close, which a process holding them would put off forever:
    // the run is over at the script's exit, and a hang becomes a failure saying so.
    child.on('exit', () => {
      setTimeout(() => {
        if (child.stdout.closed && child.stderr.closed) return
        held = true
        child.stdout.destroy()
        child.stderr.destroy()
      }, scaled(PIPES_AFTER_EXIT_MS)).unref()
    })
  })
}

module.exports = { isAlive, waitFor, runNode }
