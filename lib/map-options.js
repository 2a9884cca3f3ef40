'use strict'
// Checks invoke.map's options, with errors that name the option at fault.

const { checkToken } = require('./cancel')
const { makeError, makeErrorWithCause, isCodedError } = require('./errors')

const MAP_OPTIONS = new Set(['concurrency', 'chunk', 'ordered', 'settle', 'signal', 'cancelToken', 'timeout'])
const WHERE = 'invoke.map'

function mapOptions(options) {
  try {
    return readOptions(options)
  } catch (err) {
    // Options that throw when read (a getter, a Proxy's trap) are bad options, refused with a code.
    if (isCodedError(err)) throw err
    throw makeErrorWithCause('ERR_INVALID_ARG_VALUE', err, WHERE, 'options could not be read')
  }
}

function readOptions(options) {
  if (options === undefined) return { ordered: true, settle: false }
  if (options === null || typeof options !== 'object') throw makeError('ERR_INVALID_ARG_TYPE', WHERE, 'options must be an object')
  for (const key of Object.keys(options)) {
    if (!MAP_OPTIONS.has(key)) throw makeError('ERR_INVALID_ARG_VALUE', WHERE, `unknown option "${key}"`)
  }
  const { signal, cancelToken, timeout } = options
  if (signal !== undefined) {
    if (signal === null || typeof signal !== 'object' || typeof signal.addEventListener !== 'function') {
      throw makeError('ERR_INVALID_ARG_TYPE', WHERE, 'signal must be an AbortSignal')
    }
  }
  if (cancelToken !== undefined) checkToken(cancelToken, WHERE)
  if (timeout !== undefined && typeof timeout !== 'number') {
    throw makeError('ERR_INVALID_ARG_TYPE', WHERE, 'timeout must be a number of milliseconds >= 0')
  }
  if (timeout !== undefined && (Number.isNaN(timeout) || timeout < 0)) {
    throw makeError('ERR_OUT_OF_RANGE', WHERE, `timeout must be a number of milliseconds >= 0, got ${timeout}`)
  }
  return {
    concurrency: count(options.concurrency, 'concurrency'),
    chunk: count(options.chunk, 'chunk'),
    ordered: flag(options.ordered, 'ordered', true),
    settle: flag(options.settle, 'settle', false),
    signal,
    cancelToken,
    timeout,
  }
}

function count(value, name) {
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw makeError('ERR_INVALID_ARG_TYPE', WHERE, `${name} must be a number`)
  if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) {
    throw makeError('ERR_OUT_OF_RANGE', WHERE, `${name} must be an integer of at least 1, got ${value}`)
  }
  return value
}

function flag(value, name, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw makeError('ERR_INVALID_ARG_TYPE', WHERE, `${name} must be a boolean`)
  return value
}

module.exports = { mapOptions }
