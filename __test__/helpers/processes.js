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

/** Runs a node script to completion; `killed` tells whether it had to be stopped. */
function runNode(args, { timeout = 20000, cwd } = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: scaled(timeout), cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, killed: Boolean(error && error.killed), stdout, stderr })
    })
  })
}

module.exports = { isAlive, waitFor, runNode }
