'use strict'
// Cancel tokens: `invoke.cancelToken()` (a Promise that resolves when cancelled), any thenable,
// or an AbortSignal, all behind the same two questions: is it cancelled now, and tell me when.

const { Cancel } = require('./errors')

const kCancelled = Symbol('invoke-parallel.cancelled')

/**
 * A Promise that resolves when cancelled, through `init`'s `cancel` argument or `token.resolve()`.
 */
function cancelToken(init) {
  if (init !== undefined && typeof init !== 'function') {
    throw new TypeError('invoke.cancelToken: the argument must be a function')
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
  if (!object || (!isAbortSignal(token) && typeof token.then !== 'function')) {
    throw new TypeError(`${where}: cancelToken must be a thenable or an AbortSignal`)
  }
}

/** Whether the token is known to be cancelled right now (a foreign thenable can only say later). */
function isCancelled(token) {
  return isAbortSignal(token) ? token.aborted : token[kCancelled] === true
}

/** Calls `fn` once when the token fires; returns a function that stops listening. */
function onCancel(token, fn) {
  if (isAbortSignal(token)) {
    token.addEventListener('abort', fn, { once: true })
    return () => token.removeEventListener('abort', fn)
  }
  let listening = true
  // Called directly (not through Promise.resolve) so a thenable that is already settled reports
  // as early as it can: synchronously, or in the very next microtask for a native promise.
  try {
    token.then(
      () => listening && fn(),
      () => {},
    )
  } catch {
    // A thenable whose `then` throws can never cancel anything.
  }
  return () => {
    listening = false
  }
}

function cancelError(token) {
  const reason = isAbortSignal(token) ? token.reason : undefined
  return new Cancel('invoke-parallel: the call was cancelled', reason === undefined ? undefined : { cause: reason })
}

module.exports = { cancelToken, checkToken, isCancelled, onCancel, cancelError }
