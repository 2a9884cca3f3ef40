'use strict'

const path = require('node:path')
const { NativePool, BatchKind } = require('./native')
const { poolOptions } = require('./options')
const wire = require('./wire')
const { failureError, poolClosedError, tooLargeError } = require('./errors')
const { isCancelled, onCancel, cancelError, unreadable } = require('./cancel')
const { takeHandles, releaseHandles, restoreHandles } = require('./handles')
const { WorkerStream } = require('./stream')
const { readBatch } = require('./batch')
const { loadModule, callMethod } = require('./pool-interface')

const WORKER_MAIN = path.join(__dirname, 'worker', 'main.js')

/** For tests: sets the last call id handed out, so the ids can be made to wrap. */
const kSetLastId = Symbol('invoke-parallel.setLastId')
/** For invoke.map: the most workers the pool runs, which sizes its default concurrency. */
const kLimit = Symbol('invoke-parallel.limit')

// Pools with calls pending stay reachable here: a caller awaiting a result may hold nothing else.
// An idle pool nobody references is collected, and its workers exit with it.
const busyPools = new Set()

class Pool {
  #native
  /** The native `callText`, as a plain function: the hot path (see src/call_function.rs). */
  #callText
  /** The last call id handed out; ids are the pool's, 1 to 2^32 - 1 (0 means "no reply" on the wire). */
  #lastId = 0
  /** Set once the ids have wrapped: from then on an id may still be taken by a live call or module. */
  #wrapped = false
  #onError
  #output
  /** call id -> { resolve, reject, and for a streamed result: stream, waiting } */
  #pending = new Map()
  /** Streams in #pending that nobody is reading from: they do not hold the process open. */
  #idleStreams = 0
  #holding = false
  #closing = null
  #closingForce = false
  #markClosed = null
  #closeDone = false
  #maxMessageSize
  /** Set while someone waits in whenRoom(); resolved when a call would be accepted. */
  #room = null
  /** Calls made with a cancel token whose submission waits for a microtask (see #cancellable). */
  #unsubmitted = 0

  constructor(options) {
    const o = poolOptions(options)
    this.#onError = o.onError
    this.#output = o.output
    this.#maxMessageSize = o.maxMessageSize
    this[kLimit] = o.limit
    const self = new WeakRef(this)
    this.#native = new NativePool(
      {
        execPath: process.execPath,
        args: [...o.execArgv, WORKER_MAIN, JSON.stringify({ maxMemory: o.maxMemory, maxMessageSize: o.maxMessageSize })],
        cwd: o.cwd,
        env: o.env,
        limit: o.limit,
        minimum: o.minimum,
        maxPerChild: o.maxPerChild,
        idleTimeout: Number.isFinite(o.timeout) ? o.timeout : undefined,
        retries: o.retries,
        cancelGrace: o.cancelGrace,
        captureOutput: o.output !== 'inherit',
        maxQueue: o.maxQueue,
        recycleAfter: o.recycleAfter,
        maxMessageSize: o.maxMessageSize,
        startTimeout: Number.isFinite(o.startTimeout) ? o.startTimeout : undefined,
      },
      (bytes, index, count, extras) => self.deref()?.#settle(bytes, index, count, extras),
    )
    this.#callText = this.#native.callTextFunction()
  }

  get closed() {
    return this.#closing !== null
  }

  /**
   * Stops taking calls. Gracefully: the calls already made finish, then the workers exit. With
   * `force`: pending calls reject and the workers get SIGTERM, then SIGKILL after a grace.
   * Resolves once every worker has exited.
   */
  close({ force = false } = {}) {
    if (typeof force !== 'boolean') return Promise.reject(new TypeError('pool.close: force must be a boolean'))
    if (this.#closing === null) {
      this.#closing = new Promise((resolve) => {
        this.#markClosed = resolve
      })
      this.#hold()
    }
    if (force && !this.#closingForce) {
      this.#closingForce = true
      this.#closeNative(true)
    } else if (!force) {
      this.#closeNative(false)
    }
    return this.#closing
  }

  /** Calls made before close() whose submission waits for a microtask (#cancellable) go first. */
  #closeNative(force) {
    if (this.#unsubmitted === 0) this.#native.close(force)
    else queueMicrotask(() => this.#native.close(force))
  }

  [Symbol.asyncDispose]() {
    return this.close()
  }

  /**
   * Resolves when a call made then would be accepted (not refused for `maxQueue`): at once if it
   * would be now, else once calls have finished.
   */
  whenRoom() {
    if (this.#room !== null) return this.#room.promise
    if (this.#native.wantRoom(this.#unsubmitted)) return Promise.resolve()
    this.#room = deferred()
    // A wait for room holds the process open, even when only cancelled calls fill the pool.
    this.#hold()
    return this.#room.promise
  }

  /**
   * Counts as of the pool's latest activity: `{workers, busy, idle, queued, running, completed,
   * failed, retried}`, read straight off the scheduler: cheap and current.
   */
  stats() {
    return this.#native.stats()
  }

  /** Loads a module by resolved path; resolves to its id and exported function names. */
  [loadModule](resolvedPath, { noRetry }) {
    if (this.#closing !== null) return Promise.reject(poolClosedError())
    const id = this.#nextId()
    this.#native.load(id, resolvedPath, noRetry)
    return this.#track(id).then((names) => ({ id, names }))
  }

  /** Calls `method` of a loaded module; `options` are the proxy's bound call options. */
  [callMethod](moduleId, method, args, options) {
    if (this.#closing !== null) return Promise.reject(poolClosedError())
    let payload, handles
    try {
      handles = takeHandles(args, options.keepOpen)
      payload = wire.encodeCall(method, handles === null ? args : handles.values)
      const size = typeof payload === 'string' ? byteLength(payload, this.#maxMessageSize) : payload.length
      if (size > this.#maxMessageSize) throw tooLargeError('arguments', size, this.#maxMessageSize)
    } catch (err) {
      return Promise.reject(err)
    }
    const noRetry = options.noRetry === true
    const submit = () => {
      // Written at once, except while a batch of replies is being settled: calls made then go out
      // together, every 32 (src/driver/worker_channel.rs).
      const id = this.#nextId()
      if (typeof payload === 'string') this.#callText(id, moduleId, payload, noRetry, options.timeout, handles?.fds)
      else this.#native.call(id, moduleId, payload, noRetry, options.timeout, handles?.fds)
      // The pool holds its own copies of the descriptors now.
      if (handles !== null) releaseHandles(handles)
      return id
    }
    const token = options.cancelToken
    if (token !== undefined) return this.#cancellable(submit, token)
    try {
      return this.#track(submit())
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #track(id) {
    this.#hold()
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
    })
  }

  #cancellable(submit, token) {
    // A token is anything with the right properties, getters and Proxies included: whatever they
    // throw rejects the call, which never throws.
    try {
      if (isCancelled(token)) return Promise.reject(cancelError(token))
    } catch (thrown) {
      return Promise.reject(unreadable('invoke-parallel call', thrown))
    }
    return new Promise((resolve, reject) => {
      let id = 0
      let settled = false
      let stream = null
      let stopListening
      try {
        stopListening = onCancel(token, () => {
          // A streamed result keeps listening: cancelling ends the stream, whenever it comes.
          if (stream !== null) return stream.abort(cancelError(token))
          if (settled) return
          settled = true
          if (id !== 0) {
            this.#pending.delete(id)
            this.#native.cancel(id)
            this.#release()
          }
          reject(cancelError(token))
        })
      } catch (thrown) {
        return reject(unreadable('invoke-parallel call', thrown))
      }
      const finish = (fn) => (value) => {
        settled = true
        stopListening()
        fn(value)
      }
      // A foreign thenable that is already resolved says so only in a microtask: submitting after
      // it means a token cancelled before the call never lets the call reach a worker.
      this.#unsubmitted++
      queueMicrotask(() => {
        this.#unsubmitted--
        if (settled) return
        // Made before any close(), which waits for this: a closed pool refuses it itself.
        try {
          id = submit()
        } catch (err) {
          return finish(reject)(err)
        }
        this.#hold()
        this.#pending.set(id, {
          resolve: (value) => {
            if (!(value instanceof WorkerStream)) return finish(resolve)(value)
            stream = value
            resolve(value)
          },
          reject: finish(reject),
          finished: () => {
            settled = true
            stopListening()
          },
        })
      })
    })
  }

  #nextId() {
    for (;;) {
      if (this.#lastId === 0xffffffff) {
        this.#lastId = 0
        this.#wrapped = true
      }
      const id = ++this.#lastId
      // Until the ids wrap every id is new; after, a call still pending or still running after
      // it was cancelled, or a module (its load's id), may hold one.
      if (!this.#wrapped || !(this.#pending.has(id) || this.#native.idInUse(id))) return id
    }
  }

  [kSetLastId](id) {
    this.#lastId = id
  }

  #settle(bytes, index, count, extras) {
    readBatch(bytes, index, count, extras, (id, kind, b, start, end, extra, lent) =>
      this.#settleOne(id, kind, b, start, end, extra, lent),
    )
    this.#release()
  }

  /** One batch entry; its payload is `bytes[start, end)`, `lent` if those bytes are reused. */
  #settleOne(id, kind, bytes, start, end, extra, lent) {
    switch (kind) {
      case BatchKind.StdoutLine:
      case BatchKind.StderrLine:
        return this.#writeOutput(id, kind === BatchKind.StdoutLine ? 'stdout' : 'stderr', bytes.toString('utf8', start, end))
      case BatchKind.Report:
        return this.#report(failureError(bytes.toString('utf8', start, end)))
      case BatchKind.ReportWithError: {
        // An uncaught exception in a worker: the report, with what was thrown as its cause.
        const error = failureError(bytes.toString('utf8', start, end))
        error.cause = wire.decodeThrown(extra)
        return this.#report(error)
      }
      case BatchKind.Room:
        // Said when the count allowed one more call; calls made since may have taken the room.
        if (this.#room !== null && this.#native.wantRoom(this.#unsubmitted)) {
          this.#room.resolve()
          this.#room = null
        }
        return
      case BatchKind.Closed:
        this.#closeDone = true
        return this.#markClosed()
    }
    const call = this.#pending.get(id)
    const fds = kind === BatchKind.ResolvedWithHandles ? extra : undefined
    if (call === undefined) {
      // Settled already (cancelled): descriptors that came anyway are closed.
      if (fds !== undefined) restoreHandles([], fds)
    } else if (kind === BatchKind.StreamStart) {
      call.stream = this.#openStream(id, call)
      call.resolve(call.stream)
    } else if (kind === BatchKind.StreamItem) {
      this.#deliverItem(call.stream, bytes, start, end, lent)
    } else {
      this.#forget(id, call)
      this.#finishCall(call, kind, bytes, start, end, lent, fds)
    }
  }

  #finishCall(call, kind, bytes, start, end, lent, fds) {
    let outcome
    let ok = false
    try {
      if (kind === BatchKind.Resolved || kind === BatchKind.ResolvedWithHandles) {
        outcome = wire.decode(bytes, start, end, lent)
        if (fds !== undefined) outcome = restoreHandles([outcome], fds)[0]
        ok = true
      } else {
        outcome =
          kind === BatchKind.Rejected
            ? wire.decodeThrown(Buffer.from(bytes.subarray(start, end)))
            : failureError(bytes.toString('utf8', start, end))
      }
    } catch (err) {
      outcome = new Error(`invoke-parallel: the worker's reply could not be decoded: ${err.message}`)
    }
    if (call.stream === undefined) {
      if (ok) call.resolve(outcome)
      else call.reject(outcome)
    } else if (ok) {
      call.stream.end()
    } else {
      call.stream.fail(outcome)
    }
  }

  #openStream(id, call) {
    call.waiting = false
    this.#idleStreams++
    return new WorkerStream({
      credit: (items) => this.#native.credit(id, items),
      stop: () => {
        if (this.#forget(id, call)) {
          this.#native.cancel(id)
          this.#release()
        }
      },
      finished: () => call.finished?.(),
      // A stream holds the process open only while someone awaits its next item.
      waiting: (waiting) => {
        if (this.#pending.get(id) !== call || call.waiting === waiting) return
        call.waiting = waiting
        if (waiting) {
          this.#idleStreams--
          this.#hold()
        } else {
          this.#idleStreams++
          this.#release()
        }
      },
    })
  }

  /** Drops a call from #pending; false if it was not there. */
  #forget(id, call) {
    if (!this.#pending.delete(id)) return false
    if (call.stream !== undefined && !call.waiting) this.#idleStreams--
    return true
  }

  #deliverItem(stream, bytes, start, end, lent) {
    let item
    try {
      item = wire.decode(bytes, start, end, lent)
    } catch (err) {
      return stream.abort(new Error(`invoke-parallel: a streamed item could not be decoded: ${err.message}`))
    }
    stream.push(item)
  }

  #writeOutput(pid, stream, line) {
    if (this.#output === 'prefix') {
      process[stream].write(`[worker ${pid}] ${line}\n`)
      return
    }
    try {
      this.#output(line, { pid, stream })
    } catch (thrown) {
      process.nextTick(() => {
        throw thrown
      })
    }
  }

  #report(error) {
    try {
      this.#onError(error)
    } catch (thrown) {
      // Never let a throwing handler cost the rest of the batch its settlement.
      process.nextTick(() => {
        throw thrown
      })
    }
  }

  // The pool holds the event loop open only while someone awaits it, so a script that forgets to
  // close its pool still exits when its work is done.
  #hold() {
    if (!this.#holding) {
      this.#holding = true
      busyPools.add(this)
      this.#native.keepAlive(true)
    }
  }

  #release() {
    const awaitingClose = this.#closing !== null && !this.#closeDone
    if (this.#holding && this.#pending.size === this.#idleStreams && !awaitingClose && this.#room === null) {
      this.#holding = false
      busyPools.delete(this)
      this.#native.keepAlive(false)
    }
  }
}

/** The UTF-8 size of `text`, counted only when it could be over `limit` (3 bytes per unit at most). */
function byteLength(text, limit) {
  return text.length * 3 <= limit ? text.length : Buffer.byteLength(text)
}

function deferred() {
  let resolve
  const promise = new Promise((r) => {
    resolve = r
  })
  return { promise, resolve }
}

module.exports = { Pool, kSetLastId, kLimit }
