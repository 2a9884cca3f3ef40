'use strict'
// Module proxies: frozen functions (no ES Proxy) whose own properties are the module's exported
// functions. Calling the proxy itself with options gives a proxy bound to those call options.

const { callOptions } = require('./options')
const { callMethod } = require('./pool-interface')
const { makeError } = require('./errors')
const { Pool } = require('./pool')
const { processWide } = require('./native')
const { callChannel, tracedCall } = require('./tracing')
const { ownRealm } = require('./realm')
const { WorkerStream } = require('./stream')

// A proxy must stay awaitable: a `then` export would turn it into a thenable.
const RESERVED = new Set(['then'])

/**
 * One per process, kept on the addon as the global pool is (./global-pool.js), so that invoke.map
 * and invoke.close take what another copy of this package made (jest.resetModules,
 * jest.isolateModules).
 */
function processWideMap(name) {
  const key = Symbol.for(`invoke-parallel.${name}`)
  if (processWide[key] === undefined) Object.defineProperty(processWide, key, { value: new WeakMap(), configurable: true })
  return processWide[key]
}

/** Proxy -> the hidden pool of an isolated module. */
const isolatedPools = processWideMap('isolatedPools')
/** Proxy method -> what calling it means, `{pool, moduleId, name, bound}`: for invoke.map. */
const methodTargets = processWideMap('methodTargets')

/** `module` is the module's resolved path, for tracing (./tracing.js). */
function createModuleProxy(pool, moduleId, names, bound, { isolated = false, module } = {}) {
  const proxy = (options) =>
    createModuleProxy(pool, moduleId, names, { ...bound, ...boundOptions(options, names) }, { isolated, module })
  for (const name of names) {
    if (RESERVED.has(name)) continue
    const call = (args) =>
      callChannel.hasSubscribers
        ? tracedCall(pool, moduleId, module, name, args, bound)
        : pool[callMethod](moduleId, name, args, bound)
    // A method call returns a promise and never throws, whatever an adapter's callMethod does; a
    // pool another copy of this package made (jest's other test files) rejects with its classes.
    const method = pool instanceof Pool ? (...args) => call(args) : (...args) => promised(call, args).then(ownStream, rethrowOwn)
    Object.defineProperty(method, 'name', { value: name })
    methodTargets.set(method, { pool, moduleId, name, bound })
    Object.defineProperty(proxy, name, { value: method, enumerable: true, writable: false, configurable: false })
  }
  if (isolated) {
    isolatedPools.set(proxy, pool)
    Object.defineProperty(proxy, Symbol.asyncDispose, { value: () => pool.close() })
  }
  return Object.freeze(proxy)
}

/** `call(args)` as a promise: what it throws, a rejection; a value, a resolution. */
function promised(call, args) {
  try {
    return Promise.resolve(call(args))
  } catch (err) {
    return Promise.reject(err)
  }
}

function rethrowOwn(err) {
  throw ownRealm(err)
}

/** A streamed result from another copy's pool: what its reads reject with, in this copy's classes too. */
function ownStream(value) {
  if (value instanceof WorkerStream || !isForeignStream(value)) return value
  const next = value.next
  Object.defineProperty(value, 'next', { value: () => next.call(value).catch(rethrowOwn), configurable: true, writable: true })
  return value
}

function isForeignStream(value) {
  if (value === null || typeof value !== 'object') return false
  // A result may be anything an adapter answered (a Proxy whose traps throw): only look.
  try {
    const ctor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(value) ?? {}, 'constructor')?.value
    return (
      typeof ctor === 'function' &&
      ctor.name === WorkerStream.name &&
      !Object.hasOwn(value, 'next') &&
      typeof value.next === 'function' &&
      typeof value[Symbol.asyncIterator] === 'function'
    )
  } catch {
    return false
  }
}

/**
 * Call options for `proxy(options)`. Calling the proxy of a module that is one function, as
 * piscina's `run(task)` does, binds options rather than calling it: its error says so.
 */
function boundOptions(options, names) {
  try {
    return callOptions(options)
  } catch (err) {
    if (names.includes('default')) err.message += ' (proxy(options) binds call options; to call the module\'s function: proxy.default(...args))'
    throw err
  }
}

/** Closes the pool behind an isolated module's proxy. */
function closeIsolated(proxy, options) {
  const pool = isolatedPools.get(proxy)
  if (pool === undefined) {
    return Promise.reject(
      makeError('ERR_INVALID_ARG_VALUE', 'invoke.close', 'not the proxy of an isolated module (close its pool instead)'),
    )
  }
  return pool.close(options)
}

module.exports = { createModuleProxy, closeIsolated, methodTargets }
