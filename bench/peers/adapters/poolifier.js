'use strict'
// poolifier's FixedClusterPool: `workers` cluster workers (child processes), each running the
// ClusterWorker wrapper. With its task queue off (the default) every task goes straight to a
// worker, so a worker overlaps async tasks without a limit; the stock and tuned setups agree.

const path = require('node:path')
const { FixedClusterPool } = require('poolifier')

const WRAPPER = path.join(__dirname, '..', 'workers', 'poolifier-worker.js')

exports.start = async function start(_workerFile, { workers }) {
  const pool = new FixedClusterPool(workers, WRAPPER, { errorHandler: (e) => console.error(e) })
  return {
    call: (fn, arg) => pool.execute(arg, fn),
    stop: () => pool.destroy(),
  }
}
