'use strict'
// Errors the library itself produces.

/** A call or load was cancelled. */
class Cancel extends Error {
  constructor(message = 'invoke-parallel: the call was cancelled', options) {
    super(message, options)
    this.name = 'Cancel'
  }
}

/** A call ran longer than its `timeout` (counted from when a worker got it). */
class Timeout extends Cancel {
  constructor(message = 'invoke-parallel: the call timed out') {
    super(message)
    this.name = 'Timeout'
  }
}

/** A worker died while the call ran, and the call was not (or could no longer be) retried. */
class Retry extends Error {
  constructor(message, { pid, exitCode, signal } = {}) {
    super(message)
    this.name = 'Retry'
    this.pid = pid ?? null
    this.exitCode = exitCode ?? null
    this.signal = signal ?? null
  }
}

const FAILURE_CODES = {
  closed: 'ERR_INVOKE_POOL_CLOSED',
  start: 'ERR_INVOKE_WORKER_START',
  crash: 'ERR_INVOKE_WORKER_CRASHED',
  'queue-full': 'ERR_INVOKE_QUEUE_FULL',
}

/** Builds the error for a failure reported by the native scheduler (see src/core/failure.rs). */
function failureError(json) {
  const failure = JSON.parse(json)
  const details = { pid: failure.pid, exitCode: failure.exitCode, signal: failure.signal }
  if (failure.type === 'retry') return new Retry(`invoke-parallel: ${failure.message}`, details)
  if (failure.type === 'timeout') return new Timeout(`invoke-parallel: ${failure.message}`)
  const error = new Error(`invoke-parallel: ${failure.message}`)
  error.code = FAILURE_CODES[failure.type] || 'ERR_INVOKE_INTERNAL'
  return Object.assign(error, details)
}

function poolClosedError() {
  const error = new Error('invoke-parallel: the pool is closed')
  error.code = FAILURE_CODES.closed
  return error
}

/** A value larger than the pool's `maxMessageSize` (which bounds the encoded bytes, not the frame header). */
function tooLargeError(what, size, max) {
  const error = new RangeError(
    `invoke-parallel: the ${what} cannot be sent: ${size} bytes encoded, more than maxMessageSize (${max})`,
  )
  error.code = 'ERR_INVOKE_MESSAGE_TOO_LARGE'
  return error
}

module.exports = { Cancel, Timeout, Retry, failureError, poolClosedError, tooLargeError }
