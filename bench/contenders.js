'use strict'
// The contenders. Each one has `start()`, `call(value) -> Promise<echoed value>` and `close()`,
// so the measuring code treats them all alike (one promise per call for everyone).

const path = require('node:path')
const { fork } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const invoke = require('..')

/** a, b: invoke-parallel, calling `echo` from ./echo-worker.js in a pool. */
class InvokeContender {
  constructor(key, label, poolOptions) {
    this.key = key
    this.label = label
    this.poolOptions = poolOptions
    this.pool = null
    this.echo = null
  }

  async start() {
    this.pool = invoke.pool(this.poolOptions)
    // Resolved against this file, like a plain require.
    const mod = await invoke.require('./echo-worker', { pool: this.pool })
    this.echo = mod.echo
  }

  call(value) {
    return this.echo(value)
  }

  async close() {
    if (this.pool !== null) await this.pool.close()
  }
}

/** Correlates replies with requests by id; shared by the fork and worker_threads baselines. */
class Pending {
  constructor() {
    this.map = new Map()
    this.nextId = 0
  }

  add(resolve, reject) {
    const id = ++this.nextId
    this.map.set(id, { resolve, reject })
    return id
  }

  settle(msg) {
    const entry = this.map.get(msg.id)
    if (entry === undefined) return
    this.map.delete(msg.id)
    entry.resolve(msg.value)
  }

  failAll(error) {
    for (const { reject } of this.map.values()) reject(error)
    this.map.clear()
  }
}

/** c, d: a hand-rolled child_process.fork echo server with request ids. */
class ForkContender {
  constructor(key, label, serialization) {
    this.key = key
    this.label = label
    this.serialization = serialization
    this.child = null
    this.pending = new Pending()
    this.exited = null
  }

  start() {
    // execArgv: [] so the child runs plain node, as invoke-parallel's workers do.
    this.child = fork(path.join(__dirname, 'fork-echo-child.js'), [], {
      serialization: this.serialization,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    })
    this.exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.exited.then((code) => this.pending.failAll(new Error(`${this.label}: child exited (${code})`)))
    return new Promise((resolve, reject) => {
      this.child.once('error', reject)
      this.child.once('message', (msg) => (msg === 'ready' ? resolve() : reject(new Error(`unexpected ${msg}`))))
      this.child.send('ping')
    }).then(() => {
      this.child.on('message', (msg) => this.pending.settle(msg))
    })
  }

  call(value) {
    return new Promise((resolve, reject) => {
      const id = this.pending.add(resolve, reject)
      this.child.send({ id, args: [value] })
    })
  }

  async close() {
    if (this.child === null) return
    if (this.child.connected) this.child.disconnect()
    await this.exited
  }
}

/** e: one worker_threads Worker, postMessage with request ids. */
class ThreadContender {
  constructor(key, label) {
    this.key = key
    this.label = label
    this.worker = null
    this.pending = new Pending()
  }

  async start() {
    this.worker = new Worker(path.join(__dirname, 'thread-echo.js'))
    this.worker.on('message', (msg) => this.pending.settle(msg))
    this.worker.on('error', (err) => this.pending.failAll(err))
    await new Promise((resolve, reject) => {
      this.worker.once('online', resolve)
      this.worker.once('error', reject)
    })
  }

  call(value) {
    return new Promise((resolve, reject) => {
      const id = this.pending.add(resolve, reject)
      this.worker.postMessage({ id, args: [value] })
    })
  }

  async close() {
    if (this.worker !== null) await this.worker.terminate()
  }
}

function createContenders() {
  return {
    a: new InvokeContender('a', 'invoke-parallel, 1 worker', { limit: 1, minimum: 1 }),
    b: new InvokeContender('b', 'invoke-parallel, 2 workers', { limit: 2, minimum: 2 }),
    c: new ForkContender('c', 'fork + process.send, JSON', 'json'),
    d: new ForkContender('d', "fork + process.send, 'advanced'", 'advanced'),
    e: new ThreadContender('e', 'worker_threads, 1 Worker'),
  }
}

module.exports = { createContenders }
