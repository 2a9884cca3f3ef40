'use strict'
// Checks the options users pass, with errors that name the option at fault.

const os = require('node:os')

const { checkToken } = require('./cancel')
const { inheritable } = require('./exec-argv')
const { isPool } = require('./pool-interface')
const { makeError, makeErrorWithCause, isCodedError } = require('./errors')
const { validTraceparent } = require('./traceparent')
const { HEADER_LEN, MAX_BODY_LEN } = require('./protocol')

const POOL_OPTIONS = new Set([
  'onError',
  'timeout',
  'idleTimeout',
  'cwd',
  'env',
  'retries',
  'limit',
  'minimum',
  'maxPerChild',
  'cancelGrace',
  'execArgv',
  'output',
  'maxQueue',
  'recycleAfter',
  'maxMemory',
  'maxMessageSize',
  'startTimeout',
  'loadTimeout',
  'closeReadGrace',
  'dispatch',
])
/** The most a frame's body can carry, less the rest of its header (kind and ids). */
const MAX_MESSAGE_SIZE = MAX_BODY_LEN - (HEADER_LEN - 4)
/** Room for the error that tells a call its message was too large (lib/worker/main.js). */
const MIN_MESSAGE_SIZE = 1024
const CALL_OPTIONS = new Set(['noRetry', 'cancelToken', 'timeout', 'keepOpen', 'priority', 'traceparent'])
const REQUIRE_OPTIONS = new Set(['pool', 'noRetry', 'cancelToken', 'isolated', 'options'])

function checkObject(value, where, known) {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object') throw makeError('ERR_INVALID_ARG_TYPE', where, 'options must be an object')
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw makeError('ERR_INVALID_ARG_VALUE', where, `unknown option "${key}"`)
  }
  return value
}

function integer(value, name, min, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.pool', `${name} must be a number`)
  if (!Number.isInteger(value) || value < min || value > 0xffffffff) {
    throw makeError('ERR_OUT_OF_RANGE', 'invoke.pool', `${name} must be an integer of at least ${min}, got ${value}`)
  }
  return value
}

function poolOptions(options) {
  const o = checkObject(options, 'invoke.pool', POOL_OPTIONS)
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.pool', 'onError must be a function')
  }
  const idleTimeout = milliseconds(idleTimeoutGiven(o), 'invoke.pool', idleTimeoutName(o), 30000)
  const cancelGrace = milliseconds(o.cancelGrace, 'invoke.pool', 'cancelGrace', 5000)
  const startTimeout = milliseconds(o.startTimeout, 'invoke.pool', 'startTimeout', 30000)
  const loadTimeout = milliseconds(o.loadTimeout, 'invoke.pool', 'loadTimeout', 30000)
  const closeReadGrace = milliseconds(o.closeReadGrace, 'invoke.pool', 'closeReadGrace', 5000)
  if (o.cwd !== undefined && typeof o.cwd !== 'string') {
    throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.pool', 'cwd must be a non-empty string')
  }
  if (o.cwd === '') throw makeError('ERR_INVALID_ARG_VALUE', 'invoke.pool', 'cwd must be a non-empty string')
  if (o.env !== undefined && (o.env === null || typeof o.env !== 'object')) {
    throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.pool', 'env must be an object')
  }
  const env = {}
  for (const [key, value] of Object.entries(o.env ?? process.env)) {
    if (value !== undefined) env[key] = String(value)
  }
  if (env.NODE_OPTIONS !== undefined) env.NODE_OPTIONS = inheritable(env.NODE_OPTIONS.split(/\s+/)).join(' ')
  let execArgv = inheritable(process.execArgv)
  if (o.execArgv !== undefined) {
    if (!Array.isArray(o.execArgv) || !o.execArgv.every((arg) => typeof arg === 'string')) {
      throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.pool', 'execArgv must be an array of strings')
    }
    execArgv = o.execArgv
  }
  const limit = integer(o.limit, 'limit', 1, os.availableParallelism() + 1)
  const minimum = integer(o.minimum, 'minimum', 0, Math.min(1, limit))
  if (minimum > limit) throw makeError('ERR_OUT_OF_RANGE', 'invoke.pool', `minimum (${minimum}) cannot exceed limit (${limit})`)
  return {
    onError: o.onError ?? defaultOnError,
    idleTimeout,
    cwd: o.cwd ?? process.cwd(),
    env,
    retries: integer(o.retries, 'retries', 0, 5),
    limit,
    minimum,
    maxPerChild: integer(o.maxPerChild, 'maxPerChild', 0, 0),
    cancelGrace,
    startTimeout,
    loadTimeout,
    closeReadGrace,
    execArgv,
    output: outputOption(o.output),
    maxQueue: o.maxQueue === Infinity ? undefined : integer(o.maxQueue, 'maxQueue', 0, undefined),
    recycleAfter: o.recycleAfter === Infinity ? undefined : integer(o.recycleAfter, 'recycleAfter', 1, undefined),
    maxMemory: o.maxMemory === Infinity ? undefined : positiveNumber(o.maxMemory, 'maxMemory'),
    maxMessageSize: messageSize(o.maxMessageSize),
    dispatch: dispatchOption(o.dispatch),
  }
}

/** 'adaptive' (a worker gets calls as it has room for them) or 'eager' (as soon as maxPerChild allows). */
function dispatchOption(dispatch) {
  if (dispatch === undefined || dispatch === 'adaptive' || dispatch === 'eager') return dispatch ?? 'adaptive'
  const detail = `dispatch must be 'adaptive' or 'eager', got ${typeof dispatch === 'string' ? `'${dispatch}'` : typeof dispatch}`
  throw makeError(typeof dispatch === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE', 'invoke.pool', detail)
}

function positiveNumber(value, name) {
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw makeError('ERR_INVALID_ARG_TYPE', 'invoke.pool', `${name} must be a number of bytes`)
  if (!(value > 0)) throw makeError('ERR_OUT_OF_RANGE', 'invoke.pool', `${name} must be more than 0, got ${value}`)
  return value
}

function messageSize(value) {
  const size = positiveNumber(value, 'maxMessageSize') ?? 256 * 2 ** 20
  if (size < MIN_MESSAGE_SIZE) {
    throw makeError('ERR_OUT_OF_RANGE', 'invoke.pool', `maxMessageSize must be at least ${MIN_MESSAGE_SIZE}, got ${size}`)
  }
  return Math.min(size, MAX_MESSAGE_SIZE)
}

/** 'inherit' (share the parent's stdout/stderr), 'prefix' (lines marked with the worker pid), or a function. */
function outputOption(output) {
  if (output === undefined) return 'inherit'
  if (output === 'inherit' || output === 'prefix' || typeof output === 'function') return output
  const detail = "output must be 'inherit', 'prefix' or a function (line, {pid, stream})"
  throw makeError(typeof output === 'string' ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE', 'invoke.pool', detail)
}

/** A duration in ms: a number >= 0, Infinity allowed. */
function milliseconds(value, place, name, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw makeError('ERR_INVALID_ARG_TYPE', place, `${name} must be a number of milliseconds`)
  if (Number.isNaN(value) || value < 0) throw makeError('ERR_OUT_OF_RANGE', place, `${name} must be >= 0, got ${value}`)
  return value
}

/** `idleTimeout` says what the pool's `timeout` is (a call's `timeout` is a time limit); either name, not both. */
function idleTimeoutGiven(o) {
  if (o.idleTimeout !== undefined && o.timeout !== undefined) {
    throw makeError('ERR_INVALID_ARG_VALUE', 'invoke.pool', 'give idleTimeout or timeout (the same option), not both')
  }
  return o.idleTimeout ?? o.timeout
}

function idleTimeoutName(o) {
  return o.idleTimeout === undefined ? 'timeout' : 'idleTimeout'
}

function defaultOnError(error) {
  console.error(error)
}

/** Only the options given, so that binding a proxy twice layers them. */
function callOptions(options) {
  const where = 'invoke-parallel call'
  const o = checkObject(options, where, CALL_OPTIONS)
  const checked = {}
  if (o.noRetry !== undefined) checked.noRetry = flag(o.noRetry, 'noRetry')
  if (o.cancelToken !== undefined) {
    checkToken(o.cancelToken, where)
    checked.cancelToken = o.cancelToken
  }
  if (o.timeout !== undefined) checked.timeout = milliseconds(o.timeout, where, 'timeout')
  if (o.priority !== undefined) checked.priority = priority(o.priority, where)
  if (o.keepOpen !== undefined) {
    if (typeof o.keepOpen !== 'boolean' && !Array.isArray(o.keepOpen)) {
      throw makeError('ERR_INVALID_ARG_TYPE', where, 'keepOpen must be a boolean or an array of sockets')
    }
    checked.keepOpen = o.keepOpen
  }
  if (o.traceparent !== undefined) checked.traceparent = traceparent(o.traceparent, where)
  return checked
}

/** A W3C traceparent the call carries to its worker (see README, Observability). */
function traceparent(value, where) {
  if (typeof value !== 'string') throw makeError('ERR_INVALID_ARG_TYPE', where, 'traceparent must be a string')
  const valid = validTraceparent(value)
  if (valid === undefined) {
    throw makeError('ERR_INVALID_ARG_VALUE', where, `traceparent must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), got ${JSON.stringify(value.slice(0, 80))}`)
  }
  return valid
}

/** Any finite number: the queue orders by it, so NaN (unordered) and infinities (ties that look like ranks) are refused. */
function priority(value, where) {
  if (typeof value !== 'number') throw makeError('ERR_INVALID_ARG_TYPE', where, 'priority must be a number')
  if (!Number.isFinite(value)) throw makeError('ERR_OUT_OF_RANGE', where, `priority must be a finite number, got ${value}`)
  return value
}

function requireOptions(options) {
  const where = 'invoke.require'
  // A pool has no own enumerable keys, so as options it would pass for `{}` and the global pool
  // would take the module.
  if (isPool(options)) throw makeError('ERR_INVALID_ARG_TYPE', where, 'the second argument is options, not a pool: pass {pool}')
  const o = checkObject(options, where, REQUIRE_OPTIONS)
  if (o.cancelToken !== undefined) checkToken(o.cancelToken, where)
  const isolated = flag(o.isolated, 'isolated')
  if (isolated && o.pool !== undefined) throw makeError('ERR_INVALID_ARG_VALUE', where, 'an isolated module gets its own pool; do not pass pool')
  if (!isolated && o.options !== undefined) throw makeError('ERR_INVALID_ARG_VALUE', where, 'options (pool options) go with isolated: true')
  if (o.pool !== undefined && !isPool(o.pool)) {
    throw makeError(
      'ERR_INVALID_ARG_TYPE',
      where,
      'pool must be a pool from invoke.pool() or an object implementing invoke.loadModule and invoke.callMethod',
    )
  }
  return { pool: o.pool, noRetry: flag(o.noRetry, 'noRetry'), cancelToken: o.cancelToken, isolated, poolOptions: o.options }
}

function flag(value, name) {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw makeError('ERR_INVALID_ARG_TYPE', 'invoke-parallel', `${name} must be a boolean`)
  return value
}

/**
 * `check`, with options that throw when read (a getter, a Proxy's trap) refused as bad options:
 * ERR_INVALID_ARG_VALUE, what they threw as its `cause`, not that raw error.
 */
function readingOptions(where, check) {
  return (options) => {
    try {
      return check(options)
    } catch (err) {
      if (isCodedError(err)) throw err
      throw makeErrorWithCause('ERR_INVALID_ARG_VALUE', err, where, 'the options could not be read')
    }
  }
}

module.exports = {
  poolOptions: readingOptions('invoke.pool', poolOptions),
  callOptions: readingOptions('invoke-parallel call', callOptions),
  requireOptions: readingOptions('invoke.require', requireOptions),
}
