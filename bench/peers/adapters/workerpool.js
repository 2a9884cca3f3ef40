'use strict'
// workerpool in process mode (child_process.fork). Its worker script must call workerpool.worker(),
// hence the thin wrapper. It runs one task per worker at a time (it has no option for more).

const path = require('node:path')
const workerpool = require('workerpool')

const WRAPPER = path.join(__dirname, '..', 'workers', 'workerpool-worker.js')

exports.start = async function start(_workerFile, { workers }) {
  const pool = workerpool.pool(WRAPPER, { workerType: 'process', minWorkers: workers, maxWorkers: workers })
  return {
    call: (fn, arg) => pool.exec(fn, [arg]),
    stop: () => pool.terminate(),
  }
}
