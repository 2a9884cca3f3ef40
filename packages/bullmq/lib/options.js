'use strict'
// Option checks for remotePool() and serve(): a bad option is a TypeError or RangeError naming it.

const path = require('node:path')

function check(where, allowed, options) {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object`)
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new TypeError(`${where}: unknown option ${key}`)
  }
  if (typeof options.queue !== 'string' || options.queue === '') {
    throw new TypeError(`${where}: queue must be a non-empty string (the BullMQ queue's name)`)
  }
  if (options.connection === null || typeof options.connection !== 'object') {
    throw new TypeError(`${where}: connection must be what BullMQ accepts ({host, port}, {path} or a client)`)
  }
  if (typeof options.root !== 'string' || !path.isAbsolute(options.root)) {
    throw new TypeError(`${where}: root must be an absolute path (modules are named relative to it)`)
  }
}

function number(where, name, value, fallback, min, max = Infinity) {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || Number.isNaN(value)) throw new TypeError(`${where}: ${name} must be a number`)
  if (value < min || value > max) throw new RangeError(`${where}: ${name} must be from ${min} to ${max}`)
  return value
}

function integer(where, name, value, fallback, min, max = Number.MAX_SAFE_INTEGER) {
  const n = number(where, name, value, fallback, min, max)
  if (n !== Infinity && !Number.isInteger(n)) throw new RangeError(`${where}: ${name} must be an integer`)
  return n
}

/** Largest encoded arguments, result or thrown error a job carries. */
const MAX_MESSAGE = 16 * 1024 * 1024
const MAX_MESSAGE_LIMIT = 256 * 1024 * 1024

const POOL_OPTIONS = [
  'queue', 'connection', 'root', 'prefix', 'maxQueue', 'maxMessageSize', 'redisTimeout', 'pollInterval', 'keepResults',
  'onError', 'key', 'queueTimeout', 'rerunDelay', 'retry',
]

function poolOptions(options) {
  const w = 'remotePool'
  check(w, POOL_OPTIONS, options)
  return {
    queue: options.queue,
    connection: options.connection,
    root: options.root,
    prefix: prefix(w, options.prefix),
    maxQueue: integer(w, 'maxQueue', options.maxQueue, Infinity, 1, Infinity),
    maxMessageSize: integer(w, 'maxMessageSize', options.maxMessageSize, MAX_MESSAGE, 1024, MAX_MESSAGE_LIMIT),
    redisTimeout: number(w, 'redisTimeout', options.redisTimeout, 10000, 1, 2 ** 31 - 1),
    pollInterval: number(w, 'pollInterval', options.pollInterval, 5000, 10, 2 ** 31 - 1),
    keepResults: integer(w, 'keepResults', options.keepResults, 600, 1),
    onError: onError(w, options.onError, (err) => console.error('invoke-parallel-bullmq:', err)),
    key: fn(w, 'key', options.key),
    queueTimeout: number(w, 'queueTimeout', options.queueTimeout, Infinity, 1, Infinity),
    rerunDelay: integer(w, 'rerunDelay', options.rerunDelay, 0, 0, 2 ** 31 - 1),
    retry: retry(w, options.retry),
  }
}

const SERVE_OPTIONS = [
  'queue', 'connection', 'root', 'prefix', 'modules', 'pool', 'concurrency', 'runs',
  'lockDuration', 'stalledInterval', 'maxMessageSize', 'onError', 'closeTimeout',
]

function serveOptions(options) {
  const w = 'serve'
  check(w, SERVE_OPTIONS, options)
  if (!Array.isArray(options.modules) || !options.modules.every((m) => typeof m === 'string' && m !== '')) {
    throw new TypeError(`${w}: modules must be an array of module specifiers (the allowlist)`)
  }
  if (options.pool !== undefined && (options.pool === null || typeof options.pool !== 'object')) {
    throw new TypeError(`${w}: pool must be invoke.pool() options`)
  }
  const pool = options.pool ?? {}
  const slots = (pool.limit ?? require('node:os').availableParallelism() + 1) * Math.max(1, pool.maxPerChild ?? 0)
  const lockDuration = integer(w, 'lockDuration', options.lockDuration, 30000, 100)
  return {
    queue: options.queue,
    connection: options.connection,
    root: options.root,
    prefix: prefix(w, options.prefix),
    modules: options.modules,
    pool,
    concurrency: integer(w, 'concurrency', options.concurrency, slots, 1),
    runs: integer(w, 'runs', options.runs, 3, 1, 1000),
    lockDuration,
    stalledInterval: integer(w, 'stalledInterval', options.stalledInterval, lockDuration, 100),
    maxMessageSize: integer(w, 'maxMessageSize', options.maxMessageSize, MAX_MESSAGE, 1024, MAX_MESSAGE_LIMIT),
    onError: onError(w, options.onError, (err) => console.error('invoke-parallel-bullmq host:', err)),
    closeTimeout: number(w, 'closeTimeout', options.closeTimeout, 10000, 1, 2 ** 31 - 1),
  }
}

/** The caller's retry policy for calls that throw: `{attempts, delay}`. */
function retry(where, value) {
  if (value === undefined) return { attempts: 1, delay: 0 }
  if (value === null || typeof value !== 'object') throw new TypeError(`${where}: retry must be {attempts, delay}`)
  for (const key of Object.keys(value)) {
    if (key !== 'attempts' && key !== 'delay') throw new TypeError(`${where}: unknown option retry.${key}`)
  }
  return {
    attempts: integer(where, 'retry.attempts', value.attempts, 1, 1, 1000),
    delay: integer(where, 'retry.delay', value.delay, 0, 0, 2 ** 31 - 1),
  }
}

function fn(where, name, value) {
  if (value === undefined) return null
  if (typeof value !== 'function') throw new TypeError(`${where}: ${name} must be a function`)
  return value
}

function onError(where, value, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'function') throw new TypeError(`${where}: onError must be a function`)
  return value
}

function prefix(where, value) {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw new TypeError(`${where}: prefix must be a non-empty string`)
  return value
}

module.exports = { poolOptions, serveOptions }
