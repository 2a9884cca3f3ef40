'use strict'
// piscina: worker THREADS (it has no process mode), loading the shared module as it is (the `name`
// option picks the export). concurrentTasksPerWorker defaults to 1; the tuned setup raises it to 256.

const { Piscina } = require('piscina')

exports.start = async function start(workerFile, { workers, stock }) {
  const options = { filename: workerFile, minThreads: workers, maxThreads: workers }
  if (!stock) options.concurrentTasksPerWorker = 256
  const pool = new Piscina(options)
  return {
    call: (fn, arg) => pool.run(arg, { name: fn }),
    stop: () => pool.destroy(),
  }
}
