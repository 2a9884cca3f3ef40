'use strict'
// Module proxies: frozen functions (no ES Proxy) whose own properties are the module's exported
// functions. Calling the proxy itself with options gives a proxy bound to those call options.

const { callOptions } = require('./options')
const { callMethod } = require('./pool-interface')
const { callChannel, tracedCall } = require('./tracing')

// A proxy must stay awaitable: a `then` export would turn it into a thenable.
const RESERVED = new Set(['then'])

/** Proxy -> the hidden pool of an isolated module. */
const isolatedPools = new WeakMap()
/** Proxy method -> what calling it means, `{pool, moduleId, name, bound}`: for invoke.map. */
const methodTargets = new WeakMap()

/** `module` is the module's resolved path, for tracing (./tracing.js). */
function createModuleProxy(pool, moduleId, names, bound, { isolated = false, module } = {}) {
  const proxy = (options) =>
    createModuleProxy(pool, moduleId, names, { ...bound, ...callOptions(options) }, { isolated, module })
  for (const name of names) {
    if (RESERVED.has(name)) continue
    const method = (...args) =>
      callChannel.hasSubscribers
        ? tracedCall(pool, moduleId, module, name, args, bound)
        : pool[callMethod](moduleId, name, args, bound)
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

/** Closes the pool behind an isolated module's proxy. */
function closeIsolated(proxy, options) {
  const pool = isolatedPools.get(proxy)
  if (pool === undefined) {
    return Promise.reject(new TypeError('invoke.close: not the proxy of an isolated module (close its pool instead)'))
  }
  return pool.close(options)
}

module.exports = { createModuleProxy, closeIsolated, methodTargets }
