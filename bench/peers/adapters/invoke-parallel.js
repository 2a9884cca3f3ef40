'use strict'
// invoke-parallel: a pool of `workers` child processes, all started up front, loading the shared
// module as it is (no wrapper). maxPerChild is left at its default (0: no per-worker limit).

// run.js --invoke=<dir> points this at a copy of the package (a frozen snapshot); else the repo.
const invoke = require(process.env.PEERS_INVOKE_PARALLEL_DIR || '../../..')

exports.start = async function start(workerFile, { workers }) {
  // PEERS_INVOKE_DISPATCH=eager measures the old dispatch (every call sent at once) against the default.
  const dispatch = process.env.PEERS_INVOKE_DISPATCH
  const pool = invoke.pool({ limit: workers, minimum: workers, ...(dispatch ? { dispatch } : {}) })
  const mod = await invoke.require(workerFile, { pool })
  return {
    call: (fn, arg) => mod[fn](arg),
    stop: () => pool.close(),
  }
}
