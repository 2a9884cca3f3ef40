'use strict'
// jest-worker with child processes (enableWorkerThreads: false), loading the shared module as it is.
// It forks with serialization: 'advanced' and runs one call per worker at a time.

const { Worker } = require('jest-worker')

exports.start = async function start(workerFile, { workers }) {
  const worker = new Worker(workerFile, {
    numWorkers: workers,
    enableWorkerThreads: false,
    exposedMethods: ['echo', 'spin', 'sleep'],
    maxRetries: 0,
  })
  return {
    call: (fn, arg) => worker[fn](arg),
    stop: () => worker.end(),
  }
}
