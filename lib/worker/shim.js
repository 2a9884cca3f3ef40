'use strict'
// The worker's half of the protocol: it reads the parent's frames, loads modules, runs their
// methods and answers. Its I/O is given to it (`start(io)`): ./main.js runs it over fd 3 in a
// worker process, and a test runs it in its own process (one instance per load of this file).

const { pathToFileURL } = require('node:url')
const { FrameKind: Kind, HANDLES_FLAG, HANDLE_FD, STREAM_WINDOW } = require('../protocol')
const { FrameReader, FrameWriter, EMPTY } = require('../frame')
const wire = require('../wire')
const { makeError } = require('../errors')
const { isHandle, takeHandles, releaseHandles, restoreHandles, kTransfer } = require('../handles')
const { CHUNK_METHOD, chunkTarget, notExported } = require('./chunk')
const { PaceReporter } = require('./pace')
const { Inbox } = require('./inbox')
const traced = require('./traced-call')
const { locateSyntaxError } = require('./syntax-location')
const { forgetChanged, noteEvaluated } = require('./fresh-modules')

/**
 * What the shim runs on, from `start`: `channel` (a writable stream, net.Socket-like: `write`,
 * `writableLength`), `keep()` (the bytes last given to `received` must stay as they are),
 * `exit(code)`, `warn(text)`, `handles()` (the addon that passes descriptors on fd 4), `rss()`,
 * and the pool's limits `maxMemory`, `maxMessageSize`.
 */
let io = null
/** What the parent may send (lib/protocol.js): anything else means the two sides disagree. */
const FROM_PARENT = new Set([Kind.Load, Kind.Call, Kind.Cancel, Kind.Credit])
/** Set once the parent broke the protocol: nothing more is read. */
let broken = false
let writer = null
const reader = new FrameReader()
const pace = new PaceReporter(
  (call) => running.has(call) && !streams.has(call),
  () => running.size > 0,
  () => writer.begin(),
)
const inbox = new Inbox(handleFrame, {
  // Frames left for a later turn are views of their read's buffer: the next read must not reuse it.
  deferring: () => io.keep(),
  // The replies of the calls handled in one go leave together once those calls have returned.
  around: (handleAll) => {
    writer.hold()
    try {
      handleAll()
    } finally {
      writer.release(pace.anyStartedPending())
    }
  },
})
/**
 * module id -> { methods } once loaded, { failed: true, error } if loading threw (whatever it threw,
 * `undefined` included), { loading } while an ES module or promised exports load
 */
const modules = new Map()
/** call id -> AbortController, for calls that can observe cancellation (see worker.js). */
const controllers = new Map()
/** A call's AbortSignal (its context's store) -> its call id. */
const callOfSignal = new WeakMap()
/** call id -> { credit, wake, stopped }, for calls streaming their result. */
const streams = new Map()
/** Calls started and not yet answered, to pin an uncaught exception on the one running. */
const running = new Set()
/** call id -> its message on `invoke-parallel:worker-call`, while someone here listens (./traced-call.js). */
const tracedCalls = new Map()
/** The pool's limits, from `start`. */
let maxMemory, maxMessageSize
let recycleRequested = false
/** The latest module load still under way (an ES module's import): later loads wait for it. */
let lastAsyncLoad = null
const CALL_CONTEXT = Symbol.for('invoke-parallel.callContext')

/** Runs the shim over `io` (see `io` above) and says it is ready. */
function start(given) {
  io = given
  ;({ maxMemory, maxMessageSize } = given)
  writer = new FrameWriter(io.channel, (endOfTurn, push) => pace.frames(endOfTurn, push))
  writer.send(Kind.Ready, 0, 0, EMPTY)
}

/** A read of the parent's stream. */
function received(chunk) {
  if (broken) return
  let frames
  try {
    frames = reader.push(chunk)
    for (const frame of frames) checkFrame(frame)
  } catch (err) {
    return brokenBy(err.message)
  }
  if (reader.buffered > 0) io.keep()
  inbox.push(frames)
}

/** Throws if the parent could never have sent `frame`: the two sides disagree, and guessing would be worse. */
function checkFrame({ kind, withHandles, payload }) {
  if (!FROM_PARENT.has(kind)) throw new Error(`the parent sent a frame of kind ${kind}, which no parent sends`)
  if (withHandles && kind !== Kind.Call) throw new Error(`the parent sent descriptors with a frame of kind ${kind}`)
  if (kind === Kind.Credit && payload.length !== 4)
    throw new Error(`the parent sent a Credit frame of ${payload.length} bytes`)
}

/** The parent broke the protocol: said on stderr, and the worker ends (the parent sees it exit). */
function brokenBy(reason) {
  broken = true
  io.warn(`invoke-parallel worker ${process.pid}: ${reason}\n`)
  io.exit(70)
}

/** Handles one frame from the parent; true if it started a call that is still pending. */
function handleFrame(frame) {
  if (frame.kind === Kind.Load) load(frame)
  else if (frame.kind === Kind.Call) return call(frame)
  else if (frame.kind === Kind.Cancel) cancel(frame.call)
  else grant(frame.call, frame.payload.readUInt32LE(0))
  return false
}

function load({ call, module, payload }) {
  const path = payload.toString('utf8')
  const entry = { path }
  modules.set(module, entry)
  const loading = lastAsyncLoad === null ? evaluate(entry, path) : lastAsyncLoad.then(() => evaluate(entry, path))
  if (loading !== undefined) {
    // Calls that arrive meanwhile wait for it, and so do modules loaded after it.
    const done = loading.then(() => {
      delete entry.loading
      if (lastAsyncLoad === done) lastAsyncLoad = null
    })
    entry.loading = done
    lastAsyncLoad = done
  }
  if (call === 0) return
  const answer = () => (entry.failed ? reject(call, entry.error) : resolve(call, [...entry.methods.keys()]))
  if (entry.loading) entry.loading.then(answer)
  else answer()
}

/**
 * Runs a module into `entry`: CommonJS synchronously through require; an ES module that require
 * cannot run (Node without require(esm), or one with top-level await) through import(), and a
 * CommonJS module whose exports are a promise of them once that settles: those return a promise.
 */
function evaluate(entry, path) {
  try {
    forgetChanged(path)
    const exports = require(path)
    if (isPromisedExports(exports)) return loaded(entry, Promise.resolve(exports))
    entry.methods = methodsOf(exports)
  } catch (error) {
    if (error?.code !== 'ERR_REQUIRE_ESM' && error?.code !== 'ERR_REQUIRE_ASYNC_MODULE') {
      locateSyntaxError(error, path)
      failed(entry, error)
      return undefined
    }
    return loaded(entry, import(pathToFileURL(path).href), path)
  } finally {
    noteEvaluated()
  }
  return undefined
}

function loaded(entry, exports, path) {
  return exports.then(
    (resolved) => {
      // Exports that throw when listed (a Proxy's trap) fail the load, as they do when not
      // promised, rather than the worker (an unhandled rejection).
      try {
        entry.methods = methodsOf(resolved)
      } catch (error) {
        failed(entry, error)
      }
    },
    (loadError) => {
      if (path !== undefined) locateSyntaxError(loadError, path)
      failed(entry, loadError)
    },
  )
}

function failed(entry, error) {
  entry.failed = true
  entry.error = error
}

/**
 * A Promise, or a thenable of some class: `module.exports = connect().then(...)`. A plain object
 * with a `then` function is a module that exports one (the proxy leaves it off), as it always was.
 */
function isPromisedExports(exports) {
  if (exports === null || typeof exports !== 'object' || typeof exports.then !== 'function') return false
  const prototype = Object.getPrototypeOf(exports)
  return prototype !== Object.prototype && prototype !== null
}

const BUILT_IN_PROTOTYPES = new Set([Object.prototype, Function.prototype])
/** A prototype's link to its class, and a function's own properties that are not methods. */
const NOT_METHODS = new Set(['constructor', 'length', 'name', 'prototype', 'arguments', 'caller'])

/**
 * The exported functions, looked up once at load. For an ES module whose default export is an
 * object (the shape of a converted CommonJS module), that object's functions count too.
 */
function methodsOf(exports) {
  const methods = new Map()
  const add = (key, fn, self) => {
    if (typeof fn === 'function' && !methods.has(key)) methods.set(key, { fn, self })
  }
  const collect = (source) => {
    if (source === null || (typeof source !== 'object' && typeof source !== 'function')) return
    for (const key in source) {
      let value
      try {
        value = source[key]
      } catch {
        // A getter that throws (one that requires an optional dependency lazily) is no method.
        continue
      }
      add(key, value, source)
    }
    // `module.exports = new Service()`: its methods are on its prototypes; `module.exports = class`:
    // its static methods are its own, not enumerable, and its parent's. Data properties only: no
    // getter of a prototype runs. Object's and Function's own methods are not the module's.
    const first = typeof source === 'function' ? source : Object.getPrototypeOf(source)
    for (let holder = first; holder !== null && !BUILT_IN_PROTOTYPES.has(holder); holder = Object.getPrototypeOf(holder)) {
      for (const key of Object.getOwnPropertyNames(holder)) {
        if (!NOT_METHODS.has(key)) add(key, Object.getOwnPropertyDescriptor(holder, key).value, source)
      }
    }
  }
  // `module.exports = fn` (the piscina / worker-farm / jest-worker shape) is the method
  // `default`, as the function an ES module exports as default is.
  if (typeof exports === 'function') methods.set('default', { fn: exports, self: undefined })
  collect(exports)
  if (isNamespace(exports)) {
    // An ES module's bindings are live (`export let handler` reassigned later): its own methods
    // are read at each call, as `import * as m; m.handler()` reads them (reading runs no code).
    for (const [key, method] of methods) {
      if (method.self === exports) methods.set(key, { get fn() { return exports[key] }, self: exports })
    }
  }
  if (exports?.[Symbol.toStringTag] === 'Module' && typeof exports.default === 'object') collect(exports.default)
  return methods
}

/** A real module namespace (a bundler's CommonJS exports may carry the tag too, on a plain object). */
function isNamespace(exports) {
  return exports?.[Symbol.toStringTag] === 'Module' && Object.getPrototypeOf(exports) === null
}

function call(frame) {
  // Descriptors arrive in frame order: take this frame's now, whatever becomes of the call.
  const fds = frame.withHandles ? io.handles().receiveHandles(HANDLE_FD) : undefined
  const entry = modules.get(frame.module)
  if (entry?.loading || !wire.decodesToCopy(frame.payload)) io.keep()
  if (entry?.loading) entry.loading.then(() => run(frame, entry, fds))
  else return run(frame, entry, fds)
  return false
}

function run({ call, module, payload }, entry, fds) {
  running.add(call)
  pace.started(call)
  writer.begin()
  if (entry === undefined) return reject(call, makeError('ERR_INVALID_ARG_VALUE', 'invoke-parallel', `module ${module} was never loaded here`))
  if (entry.failed) return reject(call, entry.error)
  let method, args, traceparent, result
  try {
    ;[method, args, traceparent] = wire.decode(payload)
    if (fds !== undefined) restoreHandles(args, fds)
    const target =
      method === CHUNK_METHOD
        ? chunkTarget(entry.methods, { maxMessageSize, argumentBytes: payload.length })
        : entry.methods.get(method)
    if (target === undefined) throw notExported(method)
    // Only once a module has asked for its calls' signals (by loading worker.js) does a call get one.
    const context = globalThis[CALL_CONTEXT]
    let signal
    if (context !== undefined) {
      const controller = new AbortController()
      controllers.set(call, controller)
      callOfSignal.set(controller.signal, call)
      signal = controller.signal
    }
    if (traced.tracing()) {
      result = runTraced(call, entry, method, args, traceparent, () => invoke(target, args, context, signal))
    } else {
      result = invoke(target, args, context, signal)
    }
  } catch (error) {
    reject(call, error)
    return false
  }
  return settle(call, result)
}

function invoke(target, args, context, signal) {
  if (signal === undefined) return Reflect.apply(target.fn, target.self, args)
  return context.run(signal, () => Reflect.apply(target.fn, target.self, args))
}

/** Runs the call published on `invoke-parallel:worker-call` (./traced-call.js). */
function runTraced(call, entry, method, args, traceparent, fn) {
  // A batch of invoke.map's items is published as the method it runs, with the items as arguments.
  const chunk = method === CHUNK_METHOD
  const message = { module: entry.path, method: chunk ? args[0] : method, arguments: chunk ? args[1] : args, traceparent, callId: call }
  tracedCalls.set(call, message)
  return traced.runTraced(message, fn)
}

/**
 * Answers `call` with `result`, following a thenable the way `await` does: `then` is read once,
 * the first of its callbacks counts and later ones are ignored, and a throw is a rejection.
 */
function settle(call, result) {
  let then
  try {
    then = result !== null && typeof result === 'object' ? result.then : undefined
  } catch (error) {
    return reject(call, error)
  }
  if (typeof then !== 'function') {
    resolve(call, result)
    return false
  }
  let answered = false
  const turn = writer.turns
  const once = (answer) => (value) => {
    if (answered) return
    answered = true
    inbox.settled(writer.turns === turn)
    answer(call, value)
  }
  try {
    Reflect.apply(then, result, [once(settle), once(reject)])
  } catch (error) {
    once(reject)(error)
  }
  return !answered
}

function cancel(call) {
  controllers.get(call)?.abort()
  const flow = streams.get(call)
  if (flow !== undefined) {
    flow.stopped = true
    flow.wake?.()
  }
}

function grant(call, items) {
  const flow = streams.get(call)
  if (flow === undefined) return
  flow.credit += items
  flow.wake?.()
}

function isAsyncIterable(value) {
  return value !== null && typeof value === 'object' && typeof value[Symbol.asyncIterator] === 'function'
}

/** Sends an async iterable's items as they come, never more than the parent has room for. */
async function streamOut(call, iterable) {
  const flow = { credit: STREAM_WINDOW, wake: null, stopped: false }
  streams.set(call, flow)
  writer.send(Kind.StreamStart, call, 0, EMPTY)
  let iterator
  try {
    iterator = iterable[Symbol.asyncIterator]()
    for (;;) {
      while (flow.credit === 0 && !flow.stopped) {
        await new Promise((wake) => {
          flow.wake = wake
        })
        flow.wake = null
      }
      if (flow.stopped) {
        await iterator.return?.()
        break
      }
      const step = await nextInCallContext(call, iterator)
      if (step.done) break
      const item = wire.encode(step.value, 'streamed item')
      if (item.length > maxMessageSize) throw tooLarge('streamed item', item.length)
      flow.credit--
      writer.send(Kind.Item, call, 0, item)
    }
  } catch (error) {
    streams.delete(call)
    closeQuietly(iterator)
    return reject(call, error)
  }
  streams.delete(call)
  resolve(call, undefined)
}

/**
 * Lets a failed stream's iterator go. Its return() may throw or reject (the same one that just
 * failed, on a stopped stream): nobody is left to hear it, and it must not end the worker.
 */
function closeQuietly(iterator) {
  try {
    iterator?.return?.()?.catch?.(() => {})
  } catch {}
}

/** A generator's body runs on `next()`: run that inside the call's context, so `signal()` works there. */
function nextInCallContext(call, iterator) {
  const context = globalThis[CALL_CONTEXT]
  const controller = controllers.get(call)
  return context === undefined || controller === undefined
    ? iterator.next()
    : context.run(controller.signal, () => iterator.next())
}

/** A call's answer, counted for the parent's pace; the rest of a stream is not news. */
function sendAnswer(kind, call, payload) {
  pace.answered()
  writer.send(kind, call, 0, payload)
}

function resolve(call, value) {
  let payload, handles
  try {
    const object = value !== null && typeof value === 'object'
    handles = object && (isHandle(value) || value[kTransfer]) ? takeHandles([value], false) : null
    if (handles === null && isAsyncIterable(value) && !streams.has(call)) return streamOut(call, value)
    payload = wire.encode(handles === null ? value : handles.values[0], 'result', true)
    const size = byteLength(payload)
    if (size > maxMessageSize) throw tooLarge('result', size)
    finished(call)
  } catch (error) {
    return reject(call, error)
  }
  finishTraced(call, true, value)
  if (handles === null) return sendAnswer(Kind.Resolved, call, payload)
  io.handles().sendHandles(HANDLE_FD, handles.fds)
  sendAnswer(Kind.Resolved | HANDLES_FLAG, call, payload)
  releaseHandles(handles)
}

function reject(call, error) {
  finished(call)
  finishTraced(call, false, error)
  sendAnswer(Kind.Rejected, call, encodeThrownWithin(error))
}

/** A thrown value as bytes, or if those are over `maxMessageSize`, the error saying so. */
function encodeThrownWithin(error) {
  const payload = wire.encodeThrown(error)
  return payload.length > maxMessageSize ? wire.encodeThrown(tooLarge('thrown error', payload.length)) : payload
}

/** A payload's size on the wire, or (for text that is sure to fit) a lower bound of it. */
function byteLength(payload) {
  if (typeof payload !== 'string') return payload.length
  return payload.length * 3 <= maxMessageSize ? payload.length : Buffer.byteLength(payload)
}

/** Its stack would only show this file: without one, it fits the smallest maxMessageSize (lib/options.js). */
function tooLarge(what, size) {
  const error = makeError('ERR_INVOKE_MESSAGE_TOO_LARGE', what, size, maxMessageSize)
  error.stack = undefined
  return error
}

function finishTraced(call, ok, value) {
  if (tracedCalls.size === 0) return
  const message = tracedCalls.get(call)
  if (message === undefined) return
  tracedCalls.delete(call)
  traced.finish(message, ok, value)
}

/** The call is answered: forget it, and ask to be replaced if memory has grown past the ceiling. */
function finished(call) {
  controllers.delete(call)
  running.delete(call)
  if (maxMemory !== undefined && !recycleRequested && io.rss() > maxMemory) {
    recycleRequested = true
    writer.send(Kind.Recycle, 0, 0, EMPTY)
  }
}

// An exception nothing caught, thrown outside any call's own code (a timer, an event handler) or a
// rejection nobody handled: the call it belongs to rejects with it, the parent hears of it, and
// this worker exits (its other calls go elsewhere). The call it belongs to is the one whose
// async flow it came from, when the module tracks calls (it loaded worker.js), or else the
// running call, when there is just one.
let dying = false
function fatal(error) {
  if (dying) return
  dying = true
  const [only] = running.size === 1 ? running : []
  const flow = callOfSignal.get(globalThis[CALL_CONTEXT]?.getStore())
  // A call whose flow it came from is the culprit, or none if it has answered already: never the
  // call that happens to be running then, which did nothing wrong.
  const culprit = flow === undefined ? only : running.has(flow) ? flow : undefined
  writer.sendLast(Kind.Fatal, culprit ?? 0, 0, encodeThrownWithin(error), () => io.exit(70))
  setTimeout(() => io.exit(70), 1000).unref()
}

module.exports = { start, received, fatal }
