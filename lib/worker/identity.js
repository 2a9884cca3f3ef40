'use strict'
// Who this worker is, as the parent told it at spawn (src/driver/spawn.rs puts it in the
// environment). The shim records it before any user module runs, so a module that changes
// process.env, or a process that merely inherited the variables from a worker, cannot pass for
// another worker. Kept under a global symbol so every copy of this package in the worker agrees.

const { WorkerEnv } = require('../protocol')

const KEY = Symbol.for('invoke-parallel.workerInfo')

/** Called once by lib/worker/main.js at start. */
function recordIdentity() {
  globalThis[KEY] = Object.freeze({
    pid: process.pid,
    workerId: Number(process.env[WorkerEnv.WorkerId]),
    poolId: Number(process.env[WorkerEnv.PoolId]),
  })
}

/** `{pid, workerId, poolId}` in a pool's worker; undefined in any other process. */
function identity() {
  return globalThis[KEY]
}

module.exports = { recordIdentity, identity }
