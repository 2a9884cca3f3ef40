'use strict'
// The contenders, each started over any worker module with `start(file, methods, workers)` →
// `{call(method, arg), stop()}` (invoke-parallel also `map`). Library defaults except the worker
// count: with CPU-bound tasks, per-worker concurrency above one has nothing to overlap.

const path = require('node:path')
const { fork } = require('node:child_process')

const ROOT = path.join(__dirname, '..', '..')
const invoke = require(process.env.PEERS_INVOKE_PARALLEL_DIR || ROOT)

async function invokeParallel(file, workers, options) {
  const pool = invoke.pool({ limit: workers, minimum: workers, ...options })
  const mod = await invoke.require(file, { pool })
  return {
    call: (method, arg) => mod[method](arg),
    map: (method, items, mapOptions) => invoke.map(mod[method], items, mapOptions),
    stop: () => pool.close(),
  }
}

const POOLS = {
  'invoke-parallel': (file, _methods, workers) => invokeParallel(file, workers, {}),

  // Every call sent to a worker as soon as it is made: what adaptive dispatch replaced.
  'invoke-parallel-eager': (file, _methods, workers) => invokeParallel(file, workers, { dispatch: 'eager' }),

  async 'fork-pool'(file, _methods, workers) {
    const pending = new Map()
    let nextId = 0
    let turn = 0
    const children = []
    for (let i = 0; i < workers; i++) {
      const child = fork(path.join(__dirname, 'fork-child.js'), [file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
      child.on('message', ({ id, value, error }) => {
        const entry = pending.get(id)
        pending.delete(id)
        if (error !== undefined) entry.reject(new Error(error))
        else entry.resolve(value)
      })
      children.push(child)
    }
    return {
      call: (method, arg) =>
        new Promise((resolve, reject) => {
          const id = ++nextId
          pending.set(id, { resolve, reject })
          children[turn].send({ id, method, arg })
          turn = (turn + 1) % children.length
        }),
      stop: () =>
        Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve).disconnect()))),
    }
  },

  async 'jest-worker'(file, methods, workers) {
    const { Worker } = require('jest-worker')
    const worker = new Worker(file, { numWorkers: workers, enableWorkerThreads: false, exposedMethods: methods, maxRetries: 0 })
    return { call: (method, arg) => worker[method](arg), stop: () => worker.end() }
  },

  async workerpool(file, _methods, workers) {
    const workerpool = require('workerpool')
    const pool = workerpool.pool(path.join(__dirname, 'workerpool-child.js'), {
      workerType: 'process',
      forkArgs: [file],
      minWorkers: workers,
      maxWorkers: workers,
    })
    return { call: (method, arg) => pool.exec(method, [arg]), stop: () => pool.terminate() }
  },

  async tinypool(file, _methods, workers) {
    const { Tinypool } = await import('tinypool')
    const pool = new Tinypool({ filename: file, runtime: 'child_process', minThreads: workers, maxThreads: workers })
    return { call: (method, arg) => pool.run(arg, { name: method }), stop: () => pool.destroy() }
  },

  async piscina(file, _methods, workers) {
    const { Piscina } = require('piscina')
    const pool = new Piscina({ filename: file, minThreads: workers, maxThreads: workers })
    return { call: (method, arg) => pool.run(arg, { name: method }), stop: () => pool.destroy() }
  },
}

module.exports = { POOLS }
