'use strict'
// tinypool with runtime: 'child_process', loading the shared module as it is (the `name` option
// picks the export). concurrentTasksPerWorker defaults to 1; the tuned setup raises it to 256.
// tinypool is ESM only, hence the dynamic import.

let Tinypool

/** Loads the library before the startup clock runs (case.js calls it when present). */
exports.load = async function load() {
  ;({ Tinypool } = await import('tinypool'))
}

exports.start = async function start(workerFile, { workers, stock }) {
  if (Tinypool === undefined) await exports.load()
  const options = { filename: workerFile, runtime: 'child_process', minThreads: workers, maxThreads: workers }
  if (!stock) options.concurrentTasksPerWorker = 256
  const pool = new Tinypool(options)
  return {
    call: (fn, arg) => pool.run(arg, { name: fn }),
    stop: () => pool.destroy(),
  }
}
