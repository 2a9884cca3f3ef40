'use strict'
// Checks the options users pass, with errors that name the option at fault.

const os = require('node:os')

const POOL_OPTIONS = new Set(['onError', 'timeout', 'cwd', 'env', 'retries', 'limit', 'minimum', 'maxPerChild'])
const CALL_OPTIONS = new Set(['noRetry'])
const REQUIRE_OPTIONS = new Set(['pool', 'noRetry'])

function checkObject(value, where, known) {
  if (value === undefined) return {}
  if (value === null || typeof value !== 'object') throw new TypeError(`${where}: options must be an object`)
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new TypeError(`${where}: unknown option "${key}"`)
  }
  return value
}

function integer(value, name, min, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'number') throw new TypeError(`invoke.pool: ${name} must be a number`)
  if (!Number.isInteger(value) || value < min || value > 0xffffffff) {
    throw new RangeError(`invoke.pool: ${name} must be an integer of at least ${min}, got ${value}`)
  }
  return value
}

function poolOptions(options) {
  const o = checkObject(options, 'invoke.pool', POOL_OPTIONS)
  if (o.onError !== undefined && typeof o.onError !== 'function') {
    throw new TypeError('invoke.pool: onError must be a function')
  }
  let timeout = 30000
  if (o.timeout !== undefined) {
    if (typeof o.timeout !== 'number') throw new TypeError('invoke.pool: timeout must be a number of milliseconds')
    if (Number.isNaN(o.timeout) || o.timeout < 0) throw new RangeError(`invoke.pool: timeout must be >= 0, got ${o.timeout}`)
    timeout = o.timeout
  }
  if (o.cwd !== undefined && (typeof o.cwd !== 'string' || o.cwd === '')) {
    throw new TypeError('invoke.pool: cwd must be a non-empty string')
  }
  if (o.env !== undefined && (o.env === null || typeof o.env !== 'object')) {
    throw new TypeError('invoke.pool: env must be an object')
  }
  const env = {}
  for (const [key, value] of Object.entries(o.env ?? process.env)) {
    if (value !== undefined) env[key] = String(value)
  }
  const limit = integer(o.limit, 'limit', 1, os.availableParallelism() + 1)
  const minimum = integer(o.minimum, 'minimum', 0, Math.min(1, limit))
  if (minimum > limit) throw new RangeError(`invoke.pool: minimum (${minimum}) cannot exceed limit (${limit})`)
  return {
    onError: o.onError ?? defaultOnError,
    timeout,
    cwd: o.cwd ?? process.cwd(),
    env,
    retries: integer(o.retries, 'retries', 0, 5),
    limit,
    minimum,
    maxPerChild: integer(o.maxPerChild, 'maxPerChild', 0, 0),
  }
}

function defaultOnError(error) {
  console.error(error)
}

function callOptions(options) {
  const o = checkObject(options, 'invoke-parallel call', CALL_OPTIONS)
  return { noRetry: flag(o.noRetry, 'noRetry') }
}

function requireOptions(options) {
  const o = checkObject(options, 'invoke.require', REQUIRE_OPTIONS)
  return { pool: o.pool, noRetry: flag(o.noRetry, 'noRetry') }
}

function flag(value, name) {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw new TypeError(`invoke-parallel: ${name} must be a boolean`)
  return value
}

module.exports = { poolOptions, callOptions, requireOptions }
