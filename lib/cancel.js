'use strict'
// Cancel tokens: `invoke.cancelToken()` (a Promise that resolves when cancelled), any thenable,
// or an AbortSignal, all behind the same two questions: is it cancelled now, and tell me when.

const { makeError, makeErrorWithCause } = require('./errors')
const { microtask } = require('./microtask')

// Registered, so a token made by another copy of this package (another jest test file) still counts.
const kCancelled = Symbol.for('invoke-parallel.cancelled')

/**
 * Token -> `{fired, callbacks}`. A token is watched once, however many calls share it: a Promise's
 * reactions cannot be removed, so one `then` per call would keep every call that ever used a
 * long-lived token alive; here a settled call just leaves the set.
 */
const watches = new WeakMap()

/**
 * A Promise that resolves when cancelled, through `init`'s `cancel` argument or `token.resolve()`.
 */
function cancelToken(init) {
  if (init !== undefined && typeof init !== 'function') {
    throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.cancelToken', 'the argument must be a function')
  }
  let resolve
  const token = new Promise((r) => {
    resolve = r
  })
  const cancel = () => {
    token[kCancelled] = true
    resolve()
  }
  Object.defineProperty(token, 'resolve', { value: cancel })
  if (init !== undefined) init(cancel)
  return token
}

function isAbortSignal(token) {
  return typeof token.addEventListener === 'function' && typeof token.aborted === 'boolean'
}

/** Throws a TypeError unless `token` is something this library can watch. */
function checkToken(token, where) {
  const object = token !== null && (typeof token === 'object' || typeof token === 'function')
  let watchable
  try {
    watchable = object && (isAbortSignal(token) || typeof token.then === 'function')
  } catch (thrown) {
    throw unreadable(where, thrown)
  }
  if (!watchable) throw makeError('ERR_INVALID_ARG_TYPE', where, 'cancelToken must be a thenable or an AbortSignal')
}

/** The TypeError for a token whose properties throw when read (a getter, a Proxy). */
function unreadable(where, thrown) {
  return makeErrorWithCause('ERR_INVALID_ARG_VALUE', thrown, where, `the cancelToken could not be read (${describe(thrown)})`)
}

function describe(thrown) {
  try {
    return thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)
  } catch {
    return 'it threw'
  }
}

/**
 * Whether the token is known to be cancelled right now (a foreign thenable can only say later).
 * Throws what the token's own properties throw.
 */
function isCancelled(token) {
  if (watches.get(token)?.fired === true) return true
  return isAbortSignal(token) ? token.aborted : token[kCancelled] === true
}

/**
 * Calls `fn` once when the token fires; returns a function that stops listening. Throws what
 * watching the token throws (its `then` or `addEventListener`).
 */
function onCancel(token, fn) {
  let watch = watches.get(token)
  if (watch?.fired) {
    microtask(fn)
    return () => {}
  }
  if (watch === undefined) {
    watch = { fired: false, callbacks: new Set([fn]), unsubscribe: null }
    watches.set(token, watch)
    try {
      subscribe(token, watch)
    } catch (thrown) {
      if (!watch.fired) watches.delete(token)
      throw thrown
    }
  } else {
    watch.callbacks.add(fn)
  }
  return () => {
    if (!watch.callbacks.delete(fn) || watch.callbacks.size > 0 || watch.unsubscribe === null) return
    // The last call watching a signal settled: the signal keeps nothing of the pool (a
    // long-lived signal, a server's, would collect a listener per pool otherwise).
    watch.unsubscribe()
    if (watches.get(token) === watch) watches.delete(token)
  }
}

function subscribe(token, watch) {
  const fire = () => {
    if (watch.fired) return
    watch.fired = true
    const callbacks = [...watch.callbacks]
    watch.callbacks.clear()
    for (const callback of callbacks) {
      try {
        callback()
      } catch (thrown) {
        // One caller's failure must not keep the token from the others.
        process.nextTick(() => {
          throw thrown
        })
      }
    }
  }
  if (isAbortSignal(token)) {
    token.addEventListener('abort', fire, { once: true })
    // A Promise's reaction cannot be taken back; a listener can.
    watch.unsubscribe = () => {
      try {
        token.removeEventListener('abort', fire)
      } catch {
        // A signal-like object whose removeEventListener throws keeps its listener.
      }
    }
  }
  // Called directly (not through Promise.resolve) so a thenable that is already settled reports
  // as early as it can: synchronously, or in the very next microtask for a native promise.
  else token.then(fire, () => {})
}

/**
 * Runs `submit` in a microtask unless `isDone()` says the call or load was settled (cancelled)
 * meanwhile: a foreign thenable that is already resolved says so only in a microtask, so
 * submitting after it means a token cancelled before the work never lets it reach a worker.
 */
function submitUnlessCancelled(isDone, submit) {
  microtask(() => {
    if (!isDone()) submit()
  })
}

function cancelError(token) {
  let reason
  try {
    reason = isAbortSignal(token) ? token.reason : undefined
  } catch {
    // A signal whose reason cannot be read cancels all the same, without a cause.
  }
  return reason === undefined ? makeError('ERR_INVOKE_CANCELLED') : makeErrorWithCause('ERR_INVOKE_CANCELLED', reason)
}

module.exports = { cancelToken, checkToken, isCancelled, onCancel, submitUnlessCancelled, cancelError, unreadable }
