'use strict'
// The public Pool: options, ids, the call path into the native pool, close and room. Pending
// calls are ./calls.js's, what the native pool answers is ./settle.js's.

const path = require('node:path')
const { NativePool } = require('./native')
const { packageDir } = require('./package-dir')
const { microtask } = require('./microtask')
const { poolOptions } = require('./options')
const wire = require('./wire')
const { makeError, makeErrorWithCause } = require('./errors')
const { isCancelled, onCancel, submitUnlessCancelled, cancelError, unreadable } = require('./cancel')
const { takeHandles, releaseHandles } = require('./handles')
const { WorkerStream } = require('./stream')
const { Calls } = require('./calls')
const { batchSettler } = require('./settle')
const { loadModule, callMethod } = require('./pool-interface')
const { workerSpawned, workerExited } = require('./tracing')
const { CHUNK_METHOD } = require('./worker/chunk')

/** Method names a pool numbers for adaptive dispatch (bounded: a name is anything a caller chose). */
const MAX_METHOD_IDS = 4096

const WORKER_MAIN = path.join(packageDir, 'lib', 'worker', 'main.js')

/** For tests: sets the last call id handed out, so the ids can be made to wrap. */
const kSetLastId = Symbol('invoke-parallel.setLastId')
/** For tests: which driver the pool runs on ('linux' or 'portable'). */
const kDriver = Symbol('invoke-parallel.driver')
/** For invoke.map: the most workers the pool runs, which sizes its default concurrency (registered:
 * the global pool is shared with other copies of this package). */
const kLimit = Symbol.for('invoke-parallel.limit')

/** INVOKE_PARALLEL_DRIVER, read as each pool is made: 'portable' or 'linux' (unset: the default). */
function chosenDriver() {
  const name = process.env.INVOKE_PARALLEL_DRIVER
  if (name === undefined || name === '') return undefined
  // Refused here, with a code, rather than by the addon, which has no linux driver off Linux.
  if (name === 'linux' && process.platform !== 'linux') {
    throw makeError(
      'ERR_INVALID_ARG_VALUE',
      'invoke.pool',
      `INVOKE_PARALLEL_DRIVER=linux: the linux driver runs on Linux only, not on ${process.platform}: use 'portable' or leave it unset`,
    )
  }
  if (name === 'portable' || name === 'linux') return name
  throw makeError(
    'ERR_INVALID_ARG_VALUE',
    'invoke.pool',
    `INVOKE_PARALLEL_DRIVER must be 'portable' or 'linux', not ${JSON.stringify(name)}`,
  )
}

/** What Node's permission model denies that workers need, if anything. Workers inherit the
 * parent's flags, so they are as confined as it is: a worker needs to be started, and from Node 26
 * (which has --allow-net) to open its channel to the parent, a socket. */
function deniedPermission() {
  const permission = process.permission
  if (permission === undefined) return undefined
  if (!permission.has('child')) {
    return { permission: 'ChildProcess', what: 'to start processes', flag: '--allow-child-process' }
  }
  if (process.allowedNodeEnvironmentFlags.has('--allow-net') && !permission.has('net')) {
    return { permission: 'Net', what: 'a socket to the parent', flag: '--allow-net' }
  }
  return undefined
}

class Pool {
  #native
  /** The native `callText`, as a plain function: the hot path (see src/call_function.rs). */
  #callText
  /** The last call id handed out; ids are the pool's, 1 to 2^32 - 1 (0 means "no reply" on the wire). */
  #lastId = 0
  /** Set once the ids have wrapped: from then on an id may still be taken by a live call or module. */
  #wrapped = false
  #calls
  #closing = null
  #closingForce = false
  #markClosed = null
  #closeDone = false
  #maxMessageSize
  /** Settles a batch of the native pool's answers (./settle.js). */
  #settle
  /** Set while someone waits in whenRoom(); resolved when a call would be accepted. */
  #room = null
  /** Calls made with a cancel token whose submission waits for a microtask (see #cancellable). */
  #unsubmitted = 0
  /** Method name -> the number adaptive dispatch knows it by (it costs calls per method). */
  #methodIds = new Map()

  constructor(options) {
    const o = poolOptions(options)
    const denied = deniedPermission()
    if (denied !== undefined) {
      throw Object.assign(makeError('ERR_ACCESS_DENIED', 'invoke.pool', denied.what, denied.flag), {
        permission: denied.permission,
      })
    }
    this.#maxMessageSize = o.maxMessageSize
    this[kLimit] = o.limit
    const self = new WeakRef(this)
    // What async_hooks see for the pool's callbacks. `hasRef()` (read by jest --detectOpenHandles
    // among others) says whether the pool holds the process open: only while something awaits it.
    const resource = { hasRef: () => self.deref()?.#calls.holding ?? false }
    const onBatch = (bytes, index, count, extras) => self.deref()?.#settle(bytes, index, count, extras)
    // N-API holds an async resource weakly: the callback, which the native pool holds, keeps it.
    onBatch.resource = resource
    this.#native = new NativePool(
      {
        execPath: process.execPath,
        args: [
          ...o.execArgv,
          WORKER_MAIN,
          JSON.stringify({ maxMemory: o.maxMemory, maxMessageSize: o.maxMessageSize, capturedOutput: o.output !== 'inherit' }),
        ],
        cwd: o.cwd,
        env: o.env,
        limit: o.limit,
        minimum: o.minimum,
        maxPerChild: o.maxPerChild,
        idleTimeout: Number.isFinite(o.idleTimeout) ? o.idleTimeout : undefined,
        retries: o.retries,
        cancelGrace: o.cancelGrace,
        captureOutput: o.output !== 'inherit',
        maxQueue: o.maxQueue,
        recycleAfter: o.recycleAfter,
        maxMessageSize: o.maxMessageSize,
        startTimeout: Number.isFinite(o.startTimeout) ? o.startTimeout : undefined,
        loadTimeout: Number.isFinite(o.loadTimeout) ? o.loadTimeout : undefined,
        closeReadGrace: Number.isFinite(o.closeReadGrace) ? o.closeReadGrace : undefined,
        adaptive: o.dispatch === 'adaptive',
        driver: chosenDriver(),
      },
      onBatch,
      resource,
    )
    this.#callText = this.#native.callTextFunction()
    this.#answerWith(o)
  }

  /**
   * Apart from the constructor: closures made there share its scope with the native pool's
   * callback, which must not reach the pool except through its WeakRef.
   */
  #answerWith({ output, onError }) {
    this.#calls = new Calls(this, this.#native, () => (this.#closing !== null && !this.#closeDone) || this.#room !== null)
    this.#settle = batchSettler({
      calls: this.#calls,
      output,
      onError,
      room: () => this.#roomSaid(),
      closed: () => this.#closedSaid(),
      workerSpawned: (pid, workerId) => workerSpawned(this, pid, workerId),
      workerExited: (pid, exit) => workerExited(this, pid, exit),
    })
  }

  get closed() {
    return this.#closing !== null
  }

  /**
   * Stops taking calls. Gracefully: the calls already made finish, then the workers exit. With
   * `force`: pending calls reject and the workers get SIGTERM, then SIGKILL after a grace.
   * Resolves once every worker has exited.
   */
  close(options = {}) {
    if (options === null || typeof options !== 'object') {
      return Promise.reject(makeError('ERR_INVALID_ARG_TYPE', 'pool.close', 'the options must be an object'))
    }
    let force
    try {
      force = options.force
    } catch (thrown) {
      // A getter or a Proxy's trap that throws: close() never throws, and closes nothing.
      return Promise.reject(makeErrorWithCause('ERR_INVALID_ARG_VALUE', thrown, 'pool.close', 'the options could not be read'))
    }
    if (force === undefined) force = false
    if (typeof force !== 'boolean') return Promise.reject(makeError('ERR_INVALID_ARG_TYPE', 'pool.close', 'force must be a boolean'))
    if (this.#closing === null) {
      this.#closing = new Promise((resolve) => {
        this.#markClosed = resolve
      })
      this.#calls.hold()
    }
    if (force && !this.#closingForce) {
      this.#closingForce = true
      this.#closeNative(true)
    } else if (!force) {
      this.#calls.closing()
      this.#closeNative(false)
    }
    return this.#closing
  }

  /** Calls made before close() whose submission waits for a microtask (#cancellable) go first. */
  #closeNative(force) {
    if (this.#unsubmitted === 0) this.#native.close(force)
    else microtask(() => this.#native.close(force))
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
    this.#calls.hold()
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
  [loadModule](resolvedPath, options) {
    const misuse = loadMisuse(resolvedPath, options)
    if (misuse !== null) return Promise.reject(misuse)
    const { noRetry } = options
    if (this.#closing !== null) return Promise.reject(makeError('ERR_INVOKE_POOL_CLOSED'))
    const id = this.#nextId()
    this.#native.load(id, resolvedPath, noRetry === true)
    return this.#calls.track(id).then((names) => ({ id, names: exportNames(names) }))
  }

  /**
   * Calls `method` of a loaded module; `options` are the proxy's bound call options. `trace`, when
   * the call is traced (./tracing.js), is its message: its `traceparent` goes to the worker with
   * the call, and where and how the call ran is filled in before it settles.
   */
  [callMethod](moduleId, method, args, options, trace) {
    const misuse = callMisuse(moduleId, method, args, options, trace)
    if (misuse !== null) return Promise.reject(misuse)
    if (this.#closing !== null) return Promise.reject(makeError('ERR_INVOKE_POOL_CLOSED'))
    let payload, handles
    try {
      handles = takeHandles(args, options.keepOpen)
      const traceparent = trace === undefined ? options.traceparent : trace.traceparent
      const values = handles === null ? args : handles.values
      payload = wire.encodeCall(method, values, traceparent)
      let size = payloadSize(payload, this.#maxMessageSize)
      if (size > this.#maxMessageSize && traceparent !== undefined) {
        // A traceparent costs the trace, never the call: arguments that fit without one go untraced.
        payload = wire.encodeCall(method, values, undefined)
        size = payloadSize(payload, this.#maxMessageSize)
      }
      if (size > this.#maxMessageSize) throw makeError('ERR_INVOKE_MESSAGE_TOO_LARGE', 'arguments', size, this.#maxMessageSize)
    } catch (err) {
      // An argument that throws when looked at (a Proxy's trap) is refused like one that cannot be sent.
      return Promise.reject(wire.unreadable(err, 'arguments'))
    }
    const noRetry = options.noRetry === true
    const traced = trace !== undefined
    // A chunk of invoke.map is costed as its own kind of call per mapped method.
    const methodId = this.#methodId(method === CHUNK_METHOD ? method + String(args[0]) : method)
    const submit = () => {
      // Written at once, except while a batch of replies is being settled: calls made then go out
      // together, every 32 (src/driver/worker_channel.rs).
      const id = this.#nextId()
      const { timeout, priority } = options
      const fds = handles?.fds
      if (typeof payload !== 'string') this.#native.call(id, moduleId, payload, noRetry, timeout, fds, priority, methodId, traced)
      // A traced call asks for where and how it ran (a CallTrace entry); an untraced one passes
      // one argument less, which the native side then does not read.
      else if (traced) this.#callText(id, moduleId, payload, noRetry, timeout, fds, priority, methodId, true)
      else this.#callText(id, moduleId, payload, noRetry, timeout, fds, priority, methodId)
      // The pool holds its own copies of the descriptors now.
      if (handles !== null) releaseHandles(handles)
      return id
    }
    const token = options.cancelToken
    if (token !== undefined) return this.#cancellable(submit, token, trace)
    try {
      if (!traced) return this.#calls.track(submit())
      const id = submit()
      const promise = this.#calls.track(id)
      // ./settle.js fills it in from the native pool's CallTrace entry.
      this.#calls.get(id).trace = trace
      return promise
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * The number the scheduler knows a method name by (with the module id, it tells methods
   * apart): the first names each get their own; past MAX_METHOD_IDS, the rest share 0.
   */
  #methodId(name) {
    let id = this.#methodIds.get(name)
    if (id === undefined) {
      id = this.#methodIds.size < MAX_METHOD_IDS ? this.#methodIds.size + 1 : 0
      if (id !== 0) this.#methodIds.set(name, id)
    }
    return id
  }

  #cancellable(submit, token, trace) {
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
      let stopListening
      try {
        stopListening = onCancel(token, () => {
          // A streamed result keeps listening: cancelling ends the stream, whenever it comes. It
          // is found through the pending call, which holds it weakly (./calls.js).
          const stream = id === 0 ? undefined : this.#calls.get(id)?.stream
          if (stream !== undefined) return stream.abort(cancelError(token))
          if (settled) return
          settled = true
          if (id !== 0) this.#calls.abandon(id)
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
      this.#unsubmitted++
      submitUnlessCancelled(
        () => {
          this.#unsubmitted--
          return settled
        },
        () => {
          // Made before any close(), which waits for this: a closed pool refuses it itself.
          try {
            id = submit()
          } catch (err) {
            return finish(reject)(err)
          }
          this.#calls.add(id, {
            trace,
            resolve: (value) => {
              if (!(value instanceof WorkerStream)) return finish(resolve)(value)
              resolve(value)
            },
            reject: finish(reject),
            finished: () => {
              settled = true
              stopListening()
            },
          })
        },
      )
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
      if (!this.#wrapped || !(this.#calls.has(id) || this.#native.idInUse(id))) return id
    }
  }

  get [kDriver]() {
    return this.#native.driver()
  }

  [kSetLastId](id) {
    this.#lastId = id
  }

  /** The native side said a call would be accepted; calls made since may have taken the room. */
  #roomSaid() {
    if (this.#room !== null && this.#native.wantRoom(this.#unsubmitted)) {
      this.#room.resolve()
      this.#room = null
    }
  }

  #closedSaid() {
    this.#closeDone = true
    this.#markClosed()
  }
}

/** A load's answer: its module's method names, as the worker shim sends them (a dense array of text). */
function exportNames(names) {
  if (!wire.isDenseArray(names) || !names.every((name) => typeof name === 'string')) {
    throw makeError('ERR_INVOKE_BAD_ANSWER', "the worker's answer to a load is not a list of method names")
  }
  return names
}

// The pool interface is public (an adapter may wrap a pool and call it directly): what no proxy
// passes is refused with a code, as a rejection, before it reaches the native pool or a worker.
const isObject = (value) => value !== null && typeof value === 'object'
const isId = (id) => Number.isInteger(id) && id > 0 && id <= 0xffffffff
const misuse = (what) => makeError('ERR_INVALID_ARG_TYPE', 'pool[invoke.callMethod]', what)

function callMisuse(moduleId, method, args, options, trace) {
  if (!isId(moduleId)) return misuse('the module id must be one invoke.loadModule gave')
  if (typeof method !== 'string') return misuse('the method must be a string')
  if (!Array.isArray(args)) return misuse('the arguments must be an array')
  if (!isObject(options)) return misuse('the options must be an object')
  if (trace !== undefined && !isObject(trace)) return misuse('the trace must be an object')
  return null
}

function loadMisuse(resolvedPath, options) {
  const where = 'pool[invoke.loadModule]'
  if (typeof resolvedPath !== 'string') return makeError('ERR_INVALID_ARG_TYPE', where, 'the path must be a string')
  if (!isObject(options)) return makeError('ERR_INVALID_ARG_TYPE', where, 'the options must be an object')
  const { noRetry } = options
  if (noRetry !== undefined && typeof noRetry !== 'boolean') return makeError('ERR_INVALID_ARG_TYPE', where, 'noRetry must be a boolean')
  return null
}

/** An encoded call's size in bytes, as `maxMessageSize` counts it. */
function payloadSize(payload, limit) {
  return typeof payload === 'string' ? byteLength(payload, limit) : payload.length
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

module.exports = { Pool, kSetLastId, kLimit, kDriver }
