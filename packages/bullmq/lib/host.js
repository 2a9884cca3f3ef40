'use strict'
// A host: a BullMQ worker on the queue whose jobs it runs on a local invoke.pool(). It loads the
// modules of its allowlist (in that order, as a pool loads its modules) and nothing else. Every
// job completes with a reply (lib/reply.js): an error the function threw is a result, never a
// failed job, so BullMQ re-runs a job only when its host stopped renewing its lock (it died or
// lost Redis) — at most `runs` times in all.

const net = require('node:net')
const { Worker, QueueEvents } = require('bullmq')
const invoke = require('invoke-parallel')
const codec = require('invoke-parallel/codec')
const { serveOptions } = require('./options')
const { resolveAllowed } = require('./names')
const { valueReply, thrownReply } = require('./reply')
const { CANCEL_EVENT } = require('./events')
const errors = require('./errors')

class Host {
  #o
  #pool
  /** Module name -> the promise of its proxy. */
  #modules = new Map()
  #worker
  #events
  #closing = null

  constructor(options) {
    const o = serveOptions(options)
    this.#o = o
    const allowed = o.modules.map((specifier) => resolveAllowed(o.root, specifier))
    this.#pool = invoke.pool({ onError: o.onError, ...o.pool })
    const shared = { connection: o.connection, prefix: o.prefix }
    this.#worker = new Worker(o.queue, (job, token, signal) => this.#process(job, signal), {
      ...shared,
      autorun: false,
      concurrency: o.concurrency,
      lockDuration: o.lockDuration,
      stalledInterval: o.stalledInterval,
      maxStalledCount: o.runs - 1,
    })
    this.#events = new QueueEvents(o.queue, shared)
    this.#events.on(CANCEL_EVENT, ({ jobId }) => this.#worker.cancelJob(jobId, 'cancelled by the caller'))
    for (const part of [this.#worker, this.#events]) part.on('error', (err) => o.onError(err))
    this.ready = this.#load(allowed).then(() => {
      this.#worker.run().catch((err) => o.onError(err))
    })
  }

  /** Loads the allowlist in order; a module that fails to load answers its calls with that error. */
  async #load(allowed) {
    for (const { name, file } of allowed) {
      const loading = invoke.require(file, { pool: this.#pool })
      this.#modules.set(name, loading)
      await loading.catch(() => {})
    }
    await this.#events.waitUntilReady()
  }

  async #process(job, signal) {
    try {
      if (job.name === 'load') return await this.#loadReply(job.data)
      if (job.name === 'call') return await this.#callReply(job, signal)
      return thrownReply(new TypeError(`invoke-parallel-bullmq: unknown job ${JSON.stringify(job.name)}`))
    } catch (err) {
      return thrownReply(err, this.#o.maxMessageSize)
    }
  }

  async #loadReply(data) {
    const proxy = await this.#proxy(data?.m)
    return { names: Object.keys(proxy) }
  }

  #proxy(name) {
    const loading = this.#modules.get(name)
    if (loading === undefined) throw errors.moduleNotFound(String(name))
    return loading
  }

  async #callReply(job, signal) {
    const { m, f, a, n, t, tp } = job.data ?? {}
    // Started before by a host that stopped: noRetry means at most one start.
    if (n === true && job.attemptsStarted > 1) return thrownReply(errors.notRerun(job.attemptsStarted))
    const proxy = await this.#proxy(m)
    if (typeof f !== 'string' || !Object.hasOwn(proxy, f)) {
      throw new TypeError(`invoke-parallel-bullmq: ${m} has no exported function ${JSON.stringify(f)}`)
    }
    const args = codec.decode(Buffer.from(String(a), 'base64'))
    if (!Array.isArray(args)) throw new TypeError('invoke-parallel-bullmq: the job carries no argument list')
    const bound = { cancelToken: signal }
    if (n === true) bound.noRetry = true
    if (typeof t === 'number') bound.timeout = t
    const result = await withTrace(proxy, bound, tp)[f](...args)
    return this.#resultReply(result)
  }

  #resultReply(result) {
    if (result instanceof net.Socket || result instanceof net.Server) {
      result.destroy?.()
      result.close?.()
      return thrownReply(errors.unsupported('a socket or server returned by a worker'))
    }
    if (result !== null && typeof result === 'object' && typeof result[Symbol.asyncIterator] === 'function') {
      result.return?.().catch(() => {})
      return thrownReply(errors.unsupported('a streamed result (an async iterable)'))
    }
    return valueReply(result, this.#o.maxMessageSize)
  }

  /** Stops taking jobs, lets the running ones finish, then closes the local pool. */
  close() {
    this.#closing ??= (async () => {
      await this.ready
      await this.#worker.close()
      await this.#events.close()
      await this.#pool.close()
    })()
    return this.#closing
  }
}

/**
 * The proxy bound to `bound`, and to the caller's traceparent when the job brings one: the call
 * continues the caller's trace here (a traceparent that is not one costs the trace, not the call).
 */
function withTrace(proxy, bound, traceparent) {
  if (typeof traceparent === 'string') {
    try {
      return proxy({ ...bound, traceparent })
    } catch {}
  }
  return proxy(bound)
}

/** Serves BullMQ queue `options.queue`: runs its jobs on a local pool. */
function serve(options) {
  return new Host(options)
}

module.exports = { serve, Host }
