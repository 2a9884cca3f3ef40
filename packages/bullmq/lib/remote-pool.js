'use strict'
// The parent's side: a pool for `invoke.require({pool})` whose calls are BullMQ jobs, run by the
// hosts that `serve()` the same queue. Each call is one job under an id this pool makes up, so its
// result is found by that id: from the queue's event stream as it happens, and by reading the
// job itself when no event came (a trimmed stream, a reconnection), which also notices a job that
// was removed. The event reader (lib/event-stream.js) holds a connection of its own, so it runs
// only while calls are pending (and for LINGER ms after), resuming from the last entry it read.

const crypto = require('node:crypto')
const net = require('node:net')
const { Queue, QueueEventsProducer } = require('bullmq')
const codec = require('invoke-parallel/codec')
const { loadModule, callMethod, mapChunk } = require('invoke-parallel')
const { poolOptions } = require('./options')
const { moduleName } = require('./names')
const { readReply, readLoadReply, chunkAnswer } = require('./reply')
const { callData, queuePriority, keyedJobId } = require('./job')
const { runTiming, started, describeRun } = require('./run-timing')
const { isCancelled, cancelError, watch } = require('./cancel')
const { Connections } = require('./connections')
const { within } = require('./within')
const { CANCEL_EVENT } = require('./events')
const { EventStream, readerClient } = require('./event-stream')
const { isExhausted, repairStream, lastId } = require('./stream-ids')
const errors = require('./errors')

/** Ms the event reader stays open after the last pending call settles (calls one after another keep it). */
const LINGER = 250
/** Longest delay a timer takes: Node fires a longer one after 1 ms. */
const MAX_TIMER = 2 ** 31 - 1
/**
 * Times a keyed call adds its job again (after another caller's cancel removed it or aborted its
 * run) before it gives up with ERR_INVOKE_JOB_LOST: a host that answers every run so is hostile.
 */
const MAX_RENEWALS = 10
/** Times a job is added when a forged entry has used up the event stream's ids (repaired between). */
const MAX_ADDS = 3
/**
 * The job option naming the keyed call that added the job (a random id of its own): a run that timed
 * out is that call's Timeout, and no other's. BullMQ keeps options it does not know with the job.
 */
const CALLER = 'invokeCaller'

class RemotePool {
  #o
  #queue
  #events = null
  #unwatchEvents = null
  #lastEventId = null
  #linger = null
  #producer = null
  /** Cancels being told to Redis (the job removed, or its host told): close() waits for them. */
  #telling = new Set()
  #connections
  /** Job id -> the pending call or load it carries. */
  #calls = new Map()
  #ready
  #started = false
  #closed = false
  #closing = null
  #drained = null
  #tag = crypto.randomUUID()
  #counter = 0
  /** Method calls pending: what maxQueue counts (loads are never refused). */
  #pendingCalls = 0
  #counts = { queued: 0, running: 0, completed: 0, failed: 0, retried: 0, badEvents: 0 }
  /** The Queue's raw client (once started): reader connections are its duplicates. */
  #client = null
  #room = []
  #outage = null
  #poller = null
  #lastError = null
  /** When the unanswered PING of #probe() was sent, or null. */
  #probing = null

  constructor(options) {
    const o = poolOptions(options)
    this.#o = o
    const shared = { connection: o.connection, prefix: o.prefix }
    this.#queue = new Queue(o.queue, shared)
    this.#queue.on('error', (err) => this.#heard(err))
    this.#connections = new Connections(() => this.#connectionChanged(), o.connection)
    this.#ready = this.#start()
    this.#ready.catch((err) => this.#heard(err))
  }

  get closed() {
    return this.#closed
  }

  async #start() {
    await this.#connections.watch(this.#queue)
    // Events are read from where the stream ends now, fixed before any job of ours exists: an
    // event that comes before the reader's first read is then not missed.
    const client = await this.#queue.getBackend().client
    this.#lastEventId = await lastId(client, this.#queue.keys.events)
    this.#client = client
    this.#started = true
    if (this.#calls.size > 0) this.#openEvents()
    this.#connectionChanged()
  }

  #openEvents() {
    clearTimeout(this.#linger)
    this.#linger = null
    if (this.#events !== null || !this.#started) return
    const client = readerClient(this.#client)
    this.#events = new EventStream(client, this.#queue.keys.events, this.#lastEventId, {
      wanted: ['active', 'stalled', 'completed', 'failed', 'removed'],
      onEvent: (event) => this.#event(event),
      onBad: (error) => this.#badEvent(error),
      onError: (err) => this.#heard(err),
    })
    this.#unwatchEvents = this.#connections.watchClient(client)
  }

  #event({ event, jobId, returnvalue, failedReason }) {
    if (event === 'active') this.#active(jobId)
    else if (event === 'stalled') this.#stalled(jobId)
    else if (event === 'completed') this.#completed(jobId, returnvalue)
    else if (event === 'failed') this.#failedJob(jobId, failedReason)
    else this.#lost(jobId)
  }

  /** An entry that is not an event: counted, reported, and its call (if it names one) read from its job. */
  #badEvent(error) {
    this.#counts.badEvents++
    const call = this.#calls.get(error.jobId)
    if (call !== undefined) this.#readJob(call)
    this.#o.onError(error)
  }

  #closeEvents() {
    const events = this.#events
    if (events === null) return Promise.resolve()
    this.#events = null
    this.#lastEventId = events.lastId
    this.#unwatchEvents?.()
    this.#unwatchEvents = null
    events.close()
  }

  [loadModule](resolvedPath, _options) {
    if (this.#closed) return Promise.reject(errors.poolClosed())
    const name = moduleName(this.#o.root, resolvedPath)
    if (name === null) return Promise.reject(errors.moduleNotFound(`${resolvedPath}, outside root ${this.#o.root}`))
    return this.#submit('load', { m: name }, undefined, false).then((names) => ({ id: name, names }))
  }

  /** `trace`: the call's message on `invoke-parallel:call`, when it is traced: its traceparent goes along. */
  [callMethod](name, method, args, options, trace) {
    if (this.#closed) return Promise.reject(errors.poolClosed())
    if (this.#pendingCalls >= this.#o.maxQueue) return this.#refuse(errors.queueFull(this.#o.maxQueue))
    const token = options.cancelToken
    if (token !== undefined && isCancelled(token)) return Promise.reject(cancelError(token))
    if (args.some((arg) => arg instanceof net.Socket || arg instanceof net.Server)) {
      return this.#refuse(errors.unsupported('a socket or server'))
    }
    let bytes
    try {
      bytes = codec.encode(args, 'arguments')
    } catch (err) {
      return this.#refuse(err)
    }
    if (bytes.length > this.#o.maxMessageSize) {
      return this.#refuse(errors.tooLarge('arguments', bytes.length, this.#o.maxMessageSize))
    }
    // A timeout past 2^53 ms (no clock gets there) is no deadline, as on a local pool: a host refuses more.
    const timeout = typeof options.timeout === 'number' && options.timeout <= Number.MAX_SAFE_INTEGER ? options.timeout : null
    const { queueTimeout, rerunDelay, retry } = this.#o
    // The caller's trace continues on the host (and in its worker) through the job.
    const traceparent = trace === undefined ? options.traceparent : trace.traceparent
    const data = callData(name, method, bytes, { noRetry: options.noRetry === true, timeout, queueTimeout, rerunDelay, retry, traceparent })
    let jobId
    try {
      jobId = this.#keyedId(name, method, args)
    } catch (err) {
      return this.#refuse(err)
    }
    const call = this.#submit('call', data, token, true, { jobId, keyed: jobId !== undefined, priority: queuePriority(options.priority), trace })
    return method === mapChunk ? call.then(chunkAnswer) : call
  }

  /** The job id of a call the `key` option names (the same key, the same job), or undefined. */
  #keyedId(name, method, args) {
    // A map's chunks are not the caller's calls: one key for all of them would make them one job.
    if (this.#o.key === null || method === mapChunk) return undefined
    const key = this.#o.key(name, method, args)
    if (key === undefined) return undefined
    if (typeof key !== 'string') throw new TypeError('remotePool: key() must return a string or undefined')
    return keyedJobId(name, method, key)
  }

  #refuse(error) {
    this.#counts.failed++
    return Promise.reject(error)
  }

  #submit(kind, data, token, counted, { jobId = `${this.#tag}.${++this.#counter}`, keyed = false, priority, trace } = {}) {
    const pending = this.#calls.get(jobId)
    if (pending !== undefined) return this.#follow(pending, token)
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, stop: null }
      const call = { jobId, kind, keyed, waiters: [waiter], counted, state: 'sending', made: Date.now(), settled: false, renewals: 0 }
      call.heard = call.made
      // Traced: where the call's time went (in the queue, on a host) and its runs go into the message.
      if (trace !== undefined) call.timing = runTiming(trace)
      this.#calls.set(jobId, call)
      if (counted) {
        this.#pendingCalls++
        this.#counts.queued++
      }
      this.#connections.hold(true)
      this.#openEvents()
      this.#checkOutage()
      this.#startPolling()
      const keep = { age: this.#o.keepResults }
      call.data = data
      call.opts = { jobId, attempts: 1, removeOnComplete: keep, removeOnFail: keep }
      if (keyed) call.opts[CALLER] = crypto.randomUUID()
      if (priority !== undefined) call.opts.priority = priority
      call.added = this.#ready.then(() => this.#add(call))
      call.added.then(
        () => {
          if (call.state === 'sending') call.state = 'queued'
          // A keyed job may be one added before (by this parent before it crashed): read it now.
          if (keyed) this.#readJob(call)
        },
        (err) => this.#settle(call, { error: errors.queueError(err) }),
      )
      if (kind === 'call' && this.#o.queueTimeout !== Infinity) this.#armQueueTimer(call, this.#o.queueTimeout)
      if (token !== undefined) waiter.stop = watch(token, () => this.#leave(call, waiter, cancelError(token)))
    })
  }

  /**
   * Adds the call's job. BullMQ's script stores a job before its last step, an XADD to the event
   * stream; one that fails because a forged entry used up the stream's ids leaves the job stored
   * in no list, where no host would take it: the stream gets its ids back, that job is deleted and
   * the add made again.
   */
  async #add(call) {
    for (let adds = 1; ; adds++) {
      try {
        return await this.#queue.add(call.kind, call.data, call.opts)
      } catch (err) {
        if (!isExhausted(err) || adds === MAX_ADDS) throw err
        await repairStream(this.#client, this.#queue.keys.events)
        if ((await this.#queue.getJobState(call.jobId)) === 'unknown') await this.#client.del(this.#queue.toKey(call.jobId))
      }
    }
  }

  /**
   * A call made with the key of a pending one waits for that call's job: one job, one outcome for
   * both. A caller's cancel rejects that caller alone; the job is cancelled once no caller waits.
   */
  #follow(pending, token) {
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject, stop: null }
      pending.waiters.push(waiter)
      if (token !== undefined) waiter.stop = watch(token, () => this.#leave(pending, waiter, cancelError(token)))
    })
  }

  /** A caller of `call` cancelled: it rejects with `error`; the last one to go cancels the job. */
  #leave(call, waiter, error) {
    if (call.settled) return
    if (call.waiters.length === 1) return this.#cancel(call, error)
    call.waiters.splice(call.waiters.indexOf(waiter), 1)
    waiter.stop?.()
    waiter.reject(error)
  }

  /**
   * A keyed call whose job another caller took from it — removed it (a cancel, a queue deadline)
   * or had its run aborted (a `{c}` reply, removed first) — adds its job again and waits for that.
   * Adding is idempotent (BullMQ keeps one job an id), so callers that do it at once share one job.
   */
  #renew(call, { remove }) {
    if (call.settled || call.renewing) return
    if (++call.renewals > MAX_RENEWALS) return this.#settle(call, { error: errors.jobLost(call.jobId) })
    call.renewing = true
    this.#requeued(call)
    this.#addAgain(call, remove).then(
      () => {
        call.renewing = false
        if (this.#o.queueTimeout !== Infinity) {
          clearTimeout(call.queueTimer)
          this.#armQueueTimer(call, this.#o.queueTimeout)
        }
        this.#readJob(call)
      },
      (err) => {
        call.renewing = false
        this.#settle(call, { error: errors.queueError(err) })
      },
    )
  }

  async #addAgain(call, remove) {
    // Only the job whose run was cancelled: another caller may have added its successor meanwhile
    // (and this call's own timed-out run is its outcome, read after the add).
    const job = remove ? await this.#queue.getJob(call.jobId) : null
    if (isNoRun(job) && !(isTimedOut(job.returnvalue) && ownJob(call, job))) await this.#queue.remove(call.jobId)
    await this.#add(call)
  }

  /** The call's queue deadline `ms` from now, in timer-sized steps (a queueTimeout may be longer than a timer takes). */
  #armQueueTimer(call, ms) {
    const step = Math.min(ms, MAX_TIMER)
    call.queueTimer = setTimeout(() => (ms > step ? this.#armQueueTimer(call, ms - step) : this.#queueExpired(call)), step)
  }

  /** queueTimeout passed and no host has started the call: its job is removed, and it rejects. */
  #queueExpired(call) {
    if (call.settled || call.state === 'running') return
    // The removal's event (or a poll that finds the job gone) may come before the removal's reply.
    call.expiring = true
    call.added
      .then(() => this.#queue.remove(call.jobId))
      .then((removed) => {
        // 0: a host has just taken it (it is locked), and the call goes on.
        if (removed === 1) this.#settle(call, { error: errors.queueTimeout(this.#o.queueTimeout) })
        else call.expiring = false
      })
      .catch((err) => this.#heard(err))
  }

  /** Rejects the call at once; then removes its job if no host has it, or tells the host that does. */
  #cancel(call, error) {
    if (call.settled) return
    this.#settle(call, { error }, { cancelled: true })
    const telling = call.added
      .then(() => this.#queue.remove(call.jobId))
      .then((removed) => {
        if (removed === 0) return this.#publishCancel(call.jobId)
      })
      .catch((err) => this.#heard(err))
      .finally(() => this.#telling.delete(telling))
    this.#telling.add(telling)
  }

  #publishCancel(jobId) {
    if (this.#producer === null) {
      this.#producer = new QueueEventsProducer(this.#o.queue, { connection: this.#o.connection, prefix: this.#o.prefix })
      this.#producer.on('error', (err) => this.#heard(err))
      this.#connections.watch(this.#producer).catch((err) => this.#heard(err))
    }
    const publish = () => this.#producer.publishEvent({ eventName: CANCEL_EVENT, jobId })
    return publish().catch(async (err) => {
      if (!isExhausted(err)) throw err
      await repairStream(this.#client, this.#queue.keys.events)
      return publish()
    })
  }

  #active(jobId) {
    const call = this.#calls.get(jobId)
    if (call === undefined) return
    call.heard = Date.now()
    clearTimeout(call.queueTimer)
    // Each start is a run: after a host died, and after a delay (rerunDelay, retry) alike.
    if (call.timing !== undefined) started(call.timing)
    if (call.state === 'running') return
    if (call.counted) {
      this.#counts.queued--
      this.#counts.running++
    }
    call.state = 'running'
  }

  #stalled(jobId) {
    const call = this.#calls.get(jobId)
    if (call === undefined) return
    call.heard = Date.now()
    if (call.counted) this.#counts.retried++
    this.#requeued(call)
  }

  /** The call's job waits in the queue again. */
  #requeued(call) {
    if (call.counted && call.state === 'running') {
      this.#counts.running--
      this.#counts.queued++
    }
    call.state = 'queued'
  }

  /**
   * `job`: the job `reply` was read from; none for an event, which does not say which of a key's
   * jobs it was about (one read late may be about a job removed since).
   */
  #completed(jobId, reply, job) {
    const call = this.#calls.get(jobId)
    if (call === undefined) return
    // A run that timed out is the Timeout of the call that added its job (its deadline), not a
    // result kept for the key: a keyed call that finds another's runs again. Whose it was is read
    // from the job itself, never taken from an event.
    if (call.keyed && isTimedOut(reply)) {
      if (job === undefined) return this.#readJob(call)
      if (!ownJob(call, job)) return this.#renew(call, { remove: true })
    }
    const read = call.kind === 'load' ? readLoadReply(reply, this.#o.maxMessageSize) : readReply(reply, this.#o.maxMessageSize)
    // A keyed call finds a job that did not run for another caller (cancelled, or refused after
    // waiting past that caller's queue deadline, not this one's): it runs again.
    const earlier = read.refused === true && Date.now() - call.made < this.#o.queueTimeout
    if (call.keyed && ('cancelled' in read || earlier)) return this.#renew(call, { remove: true })
    this.#settle(call, 'cancelled' in read ? { error: read.cancelled } : read)
  }

  #failedJob(jobId, reason) {
    const call = this.#calls.get(jobId)
    if (call === undefined) return
    const why = String(reason)
    // BullMQ fails a job whose lock expired more often than its hosts' maxStalledCount allows.
    const error = /stall/i.test(why) ? errors.hostsDied(jobId, why) : errors.jobFailed(jobId, why)
    this.#settle(call, { error })
  }

  #lost(jobId) {
    const call = this.#calls.get(jobId)
    if (call === undefined || call.renewing) return
    if (call.expiring === true) return this.#settle(call, { error: errors.queueTimeout(this.#o.queueTimeout) })
    // Removed by another caller who cancelled it (or by its queue deadline): this caller did not.
    if (call.keyed) return this.#renew(call, { remove: false })
    this.#settle(call, { error: errors.jobLost(jobId) })
  }

  #settle(call, outcome, { cancelled = false } = {}) {
    if (call.settled) return
    call.settled = true
    this.#calls.delete(call.jobId)
    clearTimeout(call.queueTimer)
    if (call.timing !== undefined) describeRun(call.timing)
    if (call.counted) {
      this.#pendingCalls--
      if (call.state === 'running') this.#counts.running--
      else this.#counts.queued--
      if (!cancelled) this.#counts['error' in outcome ? 'failed' : 'completed']++
      this.#wakeRoom()
    }
    if (this.#calls.size === 0) this.#idle()
    for (const waiter of call.waiters) {
      waiter.stop?.()
      if ('error' in outcome) waiter.reject(outcome.error)
      else waiter.resolve(outcome.value)
    }
  }

  #idle() {
    this.#connections.hold(false)
    clearInterval(this.#poller)
    this.#poller = null
    this.#checkOutage()
    clearTimeout(this.#linger)
    this.#linger = setTimeout(() => this.#closeEvents(), LINGER)
    this.#linger.unref()
    this.#drained?.()
  }

  /** Pending calls wait at most `redisTimeout` for Redis to come back (or to be reached at all). */
  #checkOutage() {
    const healthy = this.#started && this.#connections.up
    if (healthy || this.#calls.size === 0) {
      clearTimeout(this.#outage)
      this.#outage = null
      return
    }
    if (this.#outage !== null) return
    this.#outage = setTimeout(() => {
      this.#outage = null
      this.#failAll()
    }, this.#o.redisTimeout)
  }

  #failAll() {
    const error = () => errors.redisUnavailable(this.#o.redisTimeout, this.#lastError?.message)
    for (const call of [...this.#calls.values()]) this.#settle(call, { error: error() })
  }

  /**
   * A Redis that stopped answering with its connections open (stopped, cut off without a reset)
   * closes no connection: while calls are pending, each poll pings it, and a ping unanswered for
   * redisTimeout fails them as an outage would.
   */
  #probe() {
    if (this.#probing !== null) {
      if (Date.now() - this.#probing >= this.#o.redisTimeout) {
        this.#lastError = new Error('a PING was not answered')
        this.#failAll()
      }
      return
    }
    const sent = Date.now()
    this.#probing = sent
    const answered = () => {
      if (this.#probing === sent) this.#probing = null
    }
    this.#client.ping().then(answered, answered)
  }

  #connectionChanged() {
    this.#checkOutage()
    if (this.#started && this.#connections.up) this.#poll(0)
  }

  #startPolling() {
    if (this.#poller !== null) return
    this.#poller = setInterval(() => {
      if (this.#started && this.#connections.up) this.#probe()
      this.#poll(this.#o.pollInterval)
    }, this.#o.pollInterval)
    this.#poller.unref()
  }

  /** Reads the jobs of the calls nothing was heard of for `quiet` ms. */
  #poll(quiet) {
    if (!this.#started || !this.#connections.up) return
    const now = Date.now()
    for (const call of this.#calls.values()) {
      if (call.state === 'sending' || now - call.heard < quiet) continue
      this.#readJob(call)
    }
  }

  #readJob(call) {
    call.heard = Date.now()
    this.#queue.getJob(call.jobId).then(
      (job) => this.#read(call, job),
      (err) => this.#heard(err),
    )
  }

  #read(call, job) {
    if (call.settled) return
    if (job === undefined || job === null) return this.#lost(call.jobId)
    if (!job.finishedOn) return
    if (job.failedReason) return this.#failedJob(call.jobId, job.failedReason)
    this.#completed(call.jobId, job.returnvalue, job)
  }

  #heard(err) {
    this.#lastError = err
  }

  #wakeRoom() {
    while (this.#room.length > 0 && this.#pendingCalls < this.#o.maxQueue) this.#room.shift()()
  }

  /** Resolves when a call made then would be accepted (at once if one would be now). */
  whenRoom() {
    if (this.#closed || this.#pendingCalls < this.#o.maxQueue) return Promise.resolve()
    return new Promise((resolve) => this.#room.push(resolve))
  }

  stats() {
    return { ...this.#counts, pending: this.#pendingCalls }
  }

  /**
   * Stops taking calls; resolves once the pending ones have settled and the connections are
   * closed. `force` rejects the pending calls at once (their jobs may still run on a host).
   */
  close({ force = false } = {}) {
    if (this.#closing !== null) return this.#closing
    this.#closed = true
    for (const resolve of this.#room.splice(0)) resolve()
    if (force) for (const call of [...this.#calls.values()]) this.#cancel(call, errors.poolClosed())
    const drained = this.#calls.size === 0 ? Promise.resolve() : new Promise((resolve) => (this.#drained = resolve))
    this.#closing = drained.then(async () => {
      // A Redis never reached holds the jobs' adds, and so the cancels after them, for ever.
      const reached = this.#started && this.#connections.up
      // A Redis that stopped answering (its connections still open) gets redisTimeout for each step.
      if (reached) await within(Promise.all(this.#telling), this.#o.redisTimeout)
      clearTimeout(this.#outage)
      clearTimeout(this.#linger)
      this.#closeEvents()
      const parts = [this.#queue, this.#producer].filter((part) => part !== null)
      // BullMQ's close and disconnect first wait for Redis to be ready; without Redis, the
      // connections are ended under them.
      if (!reached) {
        this.#connections.end()
        for (const part of parts) part.close().catch(() => {})
        return
      }
      const closed = Promise.all(parts.map((part) => part.close().catch(() => part.disconnect())))
      if (!(await within(closed, this.#o.redisTimeout))) this.#connections.end()
    })
    return this.#closing
  }

  [Symbol.asyncDispose]() {
    return this.close()
  }
}

/** Whether `job` finished with no run's result: a run a caller's cancel aborted, or refused past its queue deadline. */
function isNoRun(job) {
  const reply = job?.returnvalue
  return Boolean(job?.finishedOn) && reply !== null && typeof reply === 'object' && (Object.hasOwn(reply, 'c') || Object.hasOwn(reply, 'q') || isTimedOut(reply))
}

/** Whether `reply` is a host's answer that its run timed out (the host pool's Timeout). */
function isTimedOut(reply) {
  return reply !== null && typeof reply === 'object' && reply.x !== null && typeof reply.x === 'object' && reply.x.kind === 'timeout'
}

/** Whether keyed call `call` added `job` (the job of its key, read from Redis). */
function ownJob(call, job) {
  return job.opts?.[CALLER] === call.opts[CALLER]
}

/** A pool whose calls run on the hosts serving BullMQ queue `options.queue`. */
function remotePool(options) {
  return new RemotePool(options)
}

module.exports = { remotePool, RemotePool }
