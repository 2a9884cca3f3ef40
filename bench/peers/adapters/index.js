'use strict'
// The contenders, in report order. `kind` says where the work runs; `setup` describes the options
// that differ from the library's defaults (tuned) and what the stock setup (--stock) leaves alone.

const path = require('node:path')

const ROOT = path.join(__dirname, '..', '..', '..')

function version(pkg) {
  // Read from disk: some packages do not export their package.json.
  const file = pkg === 'invoke-parallel' ? path.join(ROOT, 'package.json') : path.join(ROOT, 'node_modules', pkg, 'package.json')
  return JSON.parse(require('node:fs').readFileSync(file, 'utf8')).version
}

const LIBS = [
  { name: 'fork-pool', kind: 'processes', pkg: null, setup: 'child_process.fork x N, round robin, JSON, no per-worker limit' },
  { name: 'invoke-parallel', kind: 'processes', pkg: 'invoke-parallel', setup: 'pool({limit: N, minimum: N}), maxPerChild 0 (no limit, default)' },
  { name: 'workerpool', kind: 'processes', pkg: 'workerpool', setup: "workerType: 'process', minWorkers = maxWorkers = N; 1 task per worker" },
  { name: 'worker-farm', kind: 'processes', pkg: 'worker-farm', setup: 'maxConcurrentWorkers N, autoStart, maxConcurrentCallsPerWorker Infinity (stock: 10)' },
  { name: 'jest-worker', kind: 'processes', pkg: 'jest-worker', setup: "enableWorkerThreads: false, numWorkers N; 1 call per worker" },
  { name: 'poolifier', kind: 'processes', pkg: 'poolifier', setup: 'FixedClusterPool(N) (cluster), tasks queue off: no per-worker limit (default)' },
  { name: 'tinypool', kind: 'processes', pkg: 'tinypool', setup: "runtime: 'child_process', min = max = N, concurrentTasksPerWorker 256 (stock: 1)" },
  { name: 'piscina', kind: 'threads', pkg: 'piscina', setup: 'worker threads, min = max = N, concurrentTasksPerWorker 256 (stock: 1)' },
]

for (const lib of LIBS) {
  lib.version = lib.pkg === null ? `node ${process.versions.node}` : version(lib.pkg)
  lib.label = lib.kind === 'threads' ? `${lib.name} (threads)` : lib.name
  lib.module = path.join(__dirname, `${lib.name}.js`)
}

module.exports = { LIBS }
