'use strict'
// Every error the library raises, codes first: one table says, for each code, the class and the
// message. A code never changes once published; a message may. Shared by the parent and the
// worker shim, so it depends on nothing but the protocol's constants.

const { FAILURE_CODES } = require('./protocol')

/** A call or load was cancelled. */
class Cancel extends Error {
  constructor(message = 'invoke-parallel: the call was cancelled', options) {
    super(message, options)
    this.name = 'Cancel'
    this.code = 'ERR_INVOKE_CANCELLED'
  }
}

/** A call ran longer than its `timeout` (counted from when a worker got it). */
class Timeout extends Cancel {
  constructor(message = 'invoke-parallel: the call timed out') {
    super(message)
    this.name = 'Timeout'
    this.code = 'ERR_INVOKE_TIMEOUT'
  }
}

/** A worker died while the call ran, and the call was not (or could no longer be) retried. */
class Retry extends Error {
  constructor(message, { pid, exitCode, signal } = {}) {
    super(message)
    this.name = 'Retry'
    this.code = 'ERR_INVOKE_WORKER_DIED'
    this.pid = pid ?? null
    this.exitCode = exitCode ?? null
    this.signal = signal ?? null
  }
}

/** code -> { Base, message(...args) } */
const catalogue = new Map()

function E(code, Base, message) {
  catalogue.set(code, { Base, message })
}

/** The scheduler's failures (src/core/failure.rs) bring their own text. */
const said = (text) => `invoke-parallel: ${text}`
/** Option errors name the function and the option: `invoke.pool: limit must be a number`. */
const where = (place, detail) => `${place}: ${detail}`

E('ERR_INVOKE_CANCELLED', Cancel, () => 'invoke-parallel: the call was cancelled')
E('ERR_INVOKE_TIMEOUT', Timeout, said)
E('ERR_INVOKE_WORKER_DIED', Retry, said)
E('ERR_INVOKE_POOL_CLOSED', Error, (text = 'the pool is closed') => said(text))
E('ERR_INVOKE_WORKER_START', Error, said)
E('ERR_INVOKE_WORKER_CRASHED', Error, said)
E('ERR_INVOKE_QUEUE_FULL', Error, said)
E('ERR_INVOKE_INTERNAL', Error, said)
// What a worker sent cannot be what this library's worker sends (it was forged or corrupted).
E('ERR_INVOKE_BAD_ANSWER', Error, said)
E('ERR_INVOKE_BUNDLED', Error, said)
// A socket or server that arrived with a call or result and cannot be used (a peer's fault).
E('ERR_INVOKE_BAD_HANDLE', TypeError, said)
E('ERR_INVOKE_LOAD_TIMEOUT', Error, said)
E(
  'ERR_INVOKE_UNSERIALIZABLE',
  TypeError,
  (what, detail) => `invoke-parallel: the ${what} cannot be sent between processes: ${detail}`,
)
// The limit bounds the encoded bytes, not the frame header.
E(
  'ERR_INVOKE_MESSAGE_TOO_LARGE',
  RangeError,
  (what, size, max) =>
    `invoke-parallel: the ${what} cannot be sent: ${size} bytes encoded, more than maxMessageSize (${max})`,
)
// Windows opens a received socket through Node's tcp_wrap binding: a Node without it cannot. And
// only TCP moves there: a named pipe's socket or server (`what`) stays where it is.
E(
  'ERR_INVOKE_HANDLES_UNSUPPORTED',
  TypeError,
  (what) =>
    what === undefined
      ? `invoke-parallel: sockets and servers cannot be passed to or from workers in this Node on ${process.platform} (no tcp_wrap binding)`
      : `invoke-parallel: only TCP sockets and servers can be passed to or from workers on ${process.platform}, not ${what}`,
)
// Node's own code for what its permission model forbids, with its `permission` field: the
// workers are spawned from Rust, out of the model's sight, so the pool refuses in its place.
E('ERR_ACCESS_DENIED', Error, (place, what, flag) =>
  `${place}: workers need ${what}, which Node's permission model denies this program (run it with ${flag})`,
)
E('ERR_INVALID_ARG_TYPE', TypeError, where)
E('ERR_INVALID_ARG_VALUE', TypeError, where)
E('ERR_INVALID_RETURN_VALUE', TypeError, where)
E('ERR_OUT_OF_RANGE', RangeError, where)

/** The error for `code`, its message made from `args`. */
function makeError(code, ...args) {
  return build(code, args, undefined)
}

/** The same, with `cause` (set as the Error constructor sets it). */
function makeErrorWithCause(code, cause, ...args) {
  return build(code, args, { cause })
}

function build(code, args, options) {
  const entry = catalogue.get(code)
  if (entry === undefined) throw new Error(`invoke-parallel: no error has the code ${code}`)
  const error = new entry.Base(entry.message(...args), options)
  error.code = code
  return error
}

/** True for an error this library (or Node) made, with its code: kept as is where input is checked. */
function isCodedError(err) {
  try {
    return err instanceof Error && typeof err.code === 'string' && err.code.startsWith('ERR_')
  } catch {
    // What was thrown throws when looked at (a Proxy): nobody's coded error.
    return false
  }
}

/** The error for a failure the native scheduler reports, as its JSON (src/core/failure.rs). */
function failureError(json) {
  const failure = JSON.parse(json)
  const details = { pid: failure.pid, exitCode: failure.exitCode, signal: failure.signal }
  const code = Object.hasOwn(FAILURE_CODES, failure.type) ? FAILURE_CODES[failure.type] : 'ERR_INVOKE_INTERNAL'
  if (code === 'ERR_INVOKE_WORKER_DIED') return new Retry(said(failure.message), details)
  const error = makeError(code, failure.message)
  return code === 'ERR_INVOKE_TIMEOUT' ? error : Object.assign(error, details)
}

module.exports = { Cancel, Timeout, Retry, catalogue, makeError, makeErrorWithCause, isCodedError, failureError }
