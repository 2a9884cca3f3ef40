'use strict'
// The cancel tokens a local pool accepts (a thenable that settles when cancelled, or an
// AbortSignal), watched for one remote call. invoke-parallel's proxy has already checked the token.

const { Cancel } = require('invoke-parallel')

function isAbortSignal(token) {
  return typeof token.addEventListener === 'function' && typeof token.aborted === 'boolean'
}

function isCancelled(token) {
  return isAbortSignal(token) && token.aborted
}

function cancelError(token) {
  return isAbortSignal(token)
    ? new Cancel(undefined, { cause: token.reason })
    : new Cancel()
}

/** Calls `fire` once when `token` cancels; returns a function that stops watching. */
function watch(token, fire) {
  let live = true
  const once = () => {
    if (!live) return
    live = false
    fire()
  }
  if (isAbortSignal(token)) {
    token.addEventListener('abort', once, { once: true })
    return () => {
      live = false
      token.removeEventListener('abort', once)
    }
  }
  Promise.resolve(token).then(once, once)
  return () => {
    live = false
  }
}

module.exports = { isCancelled, cancelError, watch }
