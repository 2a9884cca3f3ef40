'use strict'
// worker-farm: callback-style calls into a module loaded in forked children (JSON over IPC).
// autoStart so the children start with the farm. maxConcurrentCallsPerWorker defaults to 10; the
// tuned configuration lifts it to Infinity (no per-worker limit, like the baseline).

const path = require('node:path')
const workerFarm = require('worker-farm')

const WRAPPER = path.join(__dirname, '..', 'workers', 'worker-farm-worker.js')

exports.start = async function start(_workerFile, { workers, stock }) {
  const options = { maxConcurrentWorkers: workers, autoStart: true, maxRetries: 0 }
  if (!stock) options.maxConcurrentCallsPerWorker = Infinity
  const farm = workerFarm(options, WRAPPER, ['echo', 'spin', 'sleep'])
  return {
    call: (fn, arg) =>
      new Promise((resolve, reject) => {
        farm[fn](arg, (err, value) => (err ? reject(err) : resolve(value)))
      }),
    stop: () => new Promise((resolve) => workerFarm.end(farm, () => resolve())),
  }
}
