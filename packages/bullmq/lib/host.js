'use strict'
// A host: a BullMQ worker on the queue whose jobs it runs on a local invoke.pool(). It loads the
// modules of its allowlist (in that order, as a pool loads its modules) and nothing else. Every
// job completes with a reply (lib/reply.js): an error the function threw is a result, never a
// failed job, so BullMQ re-runs a job only when its host stopped renewing its lock (it died or
// lost Redis) — at most `runs` times in all.

const net = require('node:net')
const { Worker, DelayedError } = require('bullmq')
const invoke = require('invoke-parallel')
const { loadModule, callMethod, mapChunk } = invoke
const { serveOptions } = require('./options')
const { resolveAllowed } = require('./names')
const { valueReply, thrownReply, cancelledReply, refusedReply } = require('./reply')
const { readCall, readChunk } = require('./job')
const { CANCEL_EVENT } = require('./events')
const { EventStream, readerClient } = require('./event-stream')
const { isExhausted, repairStream, lastId } = require('./stream-ids')
const { endClient } = require('./connections')
const { within } = require('./within')
const errors = require('./errors')

/** Longest wait before a re-run (a timer's limit): about 24.8 days. */
const MAX_DELAY = 2 ** 31 - 1
/** Deletes lock KEYS[1] if token ARGV[1] still holds it (as BullMQ's own releaseLock). */
const RELEASE_LOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

class Host {
  #o
  #pool
  /** Module name -> `{file, loading}` (the promise of its proxy) and, once a map chunk came, `chunkId`. */
  #modules = new Map()
  #worker
  #events = null
  #loaded
  #closed = false
  #closing = null
  /** Runs of calls on the local pool, in progress: close() waits for them before its bound starts. */
  #runs = new Set()
  /** Ids of the jobs taken whose outcome Redis has not confirmed yet (what an unclean close names). */
  #unconfirmed = new Set()
  /** Job id -> the lock token of each job being processed here (what a forced close gives up). */
  #locks = new Map()
  /** Once close({force}) was called: the ids of the jobs it ended; else null. */
  #forced = null
  /** The release of the locks of the jobs running when close({force}) was called. */
  #givingUp = null

  constructor(options) {
    const o = serveOptions(options)
    this.#o = o
    const allowed = o.modules.map((specifier) => resolveAllowed(o.root, specifier))
    this.#pool = invoke.pool({ onError: o.onError, ...o.pool })
    const shared = { connection: o.connection, prefix: o.prefix }
    this.#worker = new Worker(o.queue, (job, token, signal) => this.#process(job, token, signal), {
      ...shared,
      autorun: false,
      concurrency: o.concurrency,
      lockDuration: o.lockDuration,
      stalledInterval: o.stalledInterval,
      maxStalledCount: o.runs - 1,
    })
    this.#worker.on('error', (err) => {
      // A forged entry used up the event stream's ids: BullMQ's scripts fail until they are back.
      if (isExhausted(err)) this.#repairEvents()
      o.onError(err)
    })
    const confirmed = (job) => this.#unconfirmed.delete(job?.id)
    this.#worker.on('completed', confirmed)
    this.#worker.on('failed', confirmed)
    this.#loaded = this.#load(allowed)
    this.ready = this.#loaded.then(async () => {
      await this.#listen()
      if (!this.#closed) this.#worker.run().catch((err) => o.onError(err))
    })
    // A host whose start fails (its queue's keys written over) is told through onError too: a
    // caller that never looks at `ready` must not be ended by an unhandled rejection.
    this.ready.catch((err) => o.onError(err))
  }

  /** Entries of the queue's event stream read past because they were not events. */
  get badEvents() {
    return this.#events?.bad ?? 0
  }

  /** Listens for the cancel events parents publish, from the end of the stream on. */
  async #listen() {
    const client = await this.#worker.getBackend().client
    const key = this.#worker.keys.events
    const from = await lastId(client, key)
    if (this.#closed) return
    this.#events = new EventStream(readerClient(client), key, from, {
      wanted: [CANCEL_EVENT],
      onEvent: ({ jobId }) => this.#worker.cancelJob(jobId, 'cancelled by the caller'),
      onBad: (error) => this.#o.onError(error),
      onError: (err) => this.#o.onError(err),
    })
  }

  /** Gives the event stream its ids back (lib/stream-ids.js). */
  async #repairEvents() {
    try {
      await repairStream(await this.#worker.getBackend().client, this.#worker.keys.events)
    } catch (err) {
      this.#o.onError(err)
    }
  }

  /** Loads the allowlist in order; a module that fails to load answers its calls with that error. */
  async #load(allowed) {
    for (const { name, file } of allowed) {
      const entry = { file, loading: invoke.require(file, { pool: this.#pool }), chunkId: null }
      this.#modules.set(name, entry)
      await entry.loading.catch(() => {})
    }
  }

  async #process(job, token, signal) {
    this.#unconfirmed.add(job.id)
    this.#locks.set(job.id, token)
    try {
      // Taken as a forced close began: given up like the running ones, not run.
      if (this.#forced !== null) {
        this.#forced.push(job.id)
        await this.#giveUp([[job.id, token]])
        throw errors.hostClosed([job.id])
      }
      const reply = await this.#reply(job, token, signal)
      if (this.#forced !== null) {
        // Not before its lock is released: BullMQ would write this failure as the job's end.
        await this.#givingUp
        throw errors.hostClosed([job.id])
      }
      return reply
    } finally {
      this.#locks.delete(job.id)
    }
  }

  async #reply(job, token, signal) {
    try {
      if (job.name === 'load') return await this.#loadReply(job.data)
      if (job.name === 'call') return await this.#callReply(job, token, signal)
      return thrownReply(new TypeError(`invoke-parallel-bullmq: unknown job ${JSON.stringify(job.name)}`))
    } catch (err) {
      // The job waits (rerunDelay): BullMQ's way of putting it back without a reply (already in Redis).
      if (err instanceof DelayedError) {
        this.#unconfirmed.delete(job.id)
        throw err
      }
      return thrownReply(err, this.#o.maxMessageSize)
    }
  }

  /** `running` (a run on the local pool), tracked until it settles. */
  async #tracked(running) {
    this.#runs.add(running)
    try {
      return await running
    } finally {
      this.#runs.delete(running)
    }
  }

  /** After a host's death, a job with a rerunDelay waits it (doubled per death) before its next run. */
  #backOff(job, token, call) {
    const deaths = job.stalledCounter
    return this.#runLater(job, token, { b: deaths }, call.rerunDelay * 2 ** (deaths - 1))
  }

  /** A job back in the queue for `delay` ms, `fields` written into its data (what the next run reads). */
  async #runLater(job, token, fields, delay) {
    await job.updateData({ ...job.data, ...fields })
    await job.moveToDelayed(Date.now() + Math.min(delay, MAX_DELAY), token)
    throw new DelayedError()
  }

  /**
   * Whether a call that threw `thrown` runs again under the caller's retry policy: not past its
   * attempts, not noRetry, not cancelled or timed out (the library's errors), and not an error
   * its function marked `nonRetryable: true`.
   */
  #retries(call, thrown, signal) {
    if (call.threw + 1 >= call.attempts || call.noRetry || signal.aborted) return false
    if (thrown instanceof invoke.Timeout || thrown instanceof invoke.Cancel || thrown instanceof invoke.Retry) return false
    return !(thrown !== null && typeof thrown === 'object' && thrown.nonRetryable === true)
  }

  async #loadReply(data) {
    const proxy = await this.#module(data?.m).loading
    return { names: Object.keys(proxy) }
  }

  #module(name) {
    const loading = this.#modules.get(name)
    if (loading === undefined) throw errors.moduleNotFound(String(name))
    return loading
  }

  async #callReply(job, token, signal) {
    const call = readCall(job.data, this.#o.maxMessageSize)
    // Started before by a host that stopped: noRetry means at most one start.
    if (call.noRetry && job.attemptsStarted > 1) return thrownReply(errors.notRerun(job.attemptsStarted))
    if (call.rerunDelay > 0 && job.stalledCounter > call.waitedFor) await this.#backOff(job, token, call)
    // Waited past its queue timeout (the parent may be gone, or lost the race to remove it).
    if (job.attemptsStarted <= 1 && Date.now() - job.timestamp > call.queueTimeout) {
      return refusedReply(call.queueTimeout)
    }
    const entry = this.#module(call.module)
    const proxy = await entry.loading
    const chunk = call.method === mapChunk
    // invoke.map's chunk: [name, items], run as the local pool runs one.
    const method = chunk ? readChunk(call.args, call.size) : call.method
    // The names a load reported, not the proxy's own properties (a function's own `length`, `name`).
    if (!Object.keys(proxy).includes(method)) throw errors.badJob(`${call.module} has no exported function ${JSON.stringify(method)}`)
    const bound = { cancelToken: signal }
    if (call.noRetry) bound.noRetry = true
    if (call.timeout !== undefined) bound.timeout = call.timeout
    let result
    try {
      result = await this.#tracked(chunk ? this.#runChunk(entry, call.args, bound) : withTrace(proxy, bound, call.traceparent)[method](...call.args))
    } catch (thrown) {
      // A caller's cancel ended the run: that is no result to keep (a keyed call made again runs).
      if (signal.aborted) return cancelledReply(signal.reason)
      if (!chunk && this.#retries(call, thrown, signal)) {
        await this.#runLater(job, token, { c: call.threw + 1 }, call.retryDelay * 2 ** call.threw)
      }
      throw thrown
    }
    return chunk ? this.#chunkReply(result) : this.#resultReply(result)
  }

  /**
   * A map chunk through the pool interface, under the module's id in the local pool: loaded again
   * for that (a proxy hides its id) the first time a chunk comes for it.
   */
  async #runChunk(entry, args, options) {
    entry.chunkId ??= this.#pool[loadModule](entry.file, { noRetry: false }).then(({ id }) => id)
    return this.#pool[callMethod](await entry.chunkId, mapChunk, args, options)
  }

  /** A chunk's answer as a list of its parts' bytes (one, unless the local pool streamed it). */
  async #chunkReply(answer) {
    if (answer instanceof Uint8Array) return valueReply([answer], this.#o.maxMessageSize)
    const parts = []
    for await (const part of answer) parts.push(part)
    return valueReply(parts, this.#o.maxMessageSize)
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

  /**
   * Stops taking jobs, lets the running ones finish and hands their results to Redis, then closes
   * the local pool. Redis gets `closeTimeout` ms after the last run ended: BullMQ's close waits
   * for Redis for ever (a QUIT, or a result written to a connection that is reconnecting, never
   * answers while Redis is gone), so past that the connections are ended under it, and the close
   * resolves `{clean: false}` naming the jobs whose results Redis may not have (they run again
   * elsewhere once their locks expire). `force` (also while a close waits) ends the running calls
   * at once, as the host's death would (see #giveUp). Rejects only options that are not ones.
   */
  close(options = {}) {
    if (options === null || typeof options !== 'object') return Promise.reject(errors.badArgument('host.close: the options must be an object'))
    let force
    try {
      force = options.force
    } catch (thrown) {
      // A getter that throws: close() never throws, and closes nothing.
      return Promise.reject(errors.badArgument(`host.close: the options could not be read (${thrown?.message ?? thrown})`, 'ERR_INVALID_ARG_VALUE'))
    }
    if (force === undefined) force = false
    if (typeof force !== 'boolean') return Promise.reject(errors.badArgument('host.close: force must be a boolean'))
    this.#closing ??= this.#close()
    if (force && this.#forced === null) this.#endRuns()
    return this.#closing
  }

  /** The forced part of a close: the jobs running here are given up, then their calls ended. */
  async #endRuns() {
    const running = [...this.#locks]
    this.#forced = running.map(([id]) => id)
    this.#givingUp = this.#giveUp(running)
    await this.#givingUp
    this.#pool.close({ force: true }).catch(() => {})
  }

  /**
   * Gives up `jobs` ([id, token] pairs) as a host that died would, only sooner: their locks are
   * released (within closeTimeout: without Redis they expire after lockDuration), so BullMQ
   * refuses any result or failure this host would write for them, and another host's stalled
   * check puts each back in the queue (a run counted against `runs`, the last failing it).
   */
  async #giveUp(jobs) {
    const releasing = (async () => {
      const client = await this.#worker.getBackend().client
      await Promise.all(jobs.map(([id, token]) => client.eval(RELEASE_LOCK, 1, `${this.#worker.toKey(id)}:lock`, token)))
    })()
    releasing.catch((err) => this.#o.onError(err))
    await within(releasing, this.#o.closeTimeout)
  }

  async #close() {
    this.#closed = true
    // Not `ready`: it waits for Redis, which may never be reached.
    await this.#loaded
    const closing = this.#worker.close().then(() => true, (err) => (this.#o.onError(err), true))
    let clean = false
    for (;;) {
      while (this.#runs.size > 0) await Promise.allSettled(this.#runs)
      clean = await within(closing, this.#o.closeTimeout)
      // A job fetched as the close began started a run meanwhile: Redis's time starts after it.
      if (clean || this.#runs.size === 0) break
    }
    let outcome = { clean: true }
    if (clean && this.#forced?.length > 0) {
      outcome = { clean: false, error: errors.hostClosed(this.#forced) }
      this.#o.onError(outcome.error)
    }
    if (!clean) {
      // BullMQ says a job failed even when Redis refused it (its lock gone): the forced ones are named too.
      const jobs = [...new Set([...this.#unconfirmed, ...(this.#forced ?? [])])]
      outcome = { clean: false, error: errors.closedWithoutRedis(this.#o.closeTimeout, jobs) }
      await this.#endConnections()
      // Ended connections fail BullMQ's pending commands, which ends its close; a client the
      // caller passed in is not ours to end, and its commands may wait on.
      await within(closing, this.#o.closeTimeout)
      this.#o.onError(outcome.error)
    }
    this.#events?.close()
    await this.#pool.close()
    return outcome
  }

  /** Ends the worker's own connections at once (their pending commands fail, and BullMQ's close goes on). */
  async #endConnections() {
    const backend = this.#worker.getBackend()
    const own = [backend.blockingClient]
    if (!isClient(this.#o.connection)) own.push(backend.client)
    // Each resolves once its connection was first made; one never made is BullMQ's to end.
    const made = await Promise.all(own.map((client) => Promise.race([client, null]).catch(() => null)))
    for (const client of made) if (client) endClient(client)
  }
}

/** Whether `connection` is a Redis client the caller made (BullMQ shares it rather than owning it). */
function isClient(connection) {
  return typeof connection.duplicate === 'function'
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
