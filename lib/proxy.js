'use strict'
// Module proxies: frozen functions (no ES Proxy) whose own properties are the module's exported
// functions. Calling the proxy itself with options gives a proxy bound to those call options.

const { callOptions } = require('./options')
const { kCall } = require('./pool')

// A proxy must stay awaitable: a `then` export would turn it into a thenable.
const RESERVED = new Set(['then'])

function createModuleProxy(pool, moduleId, names, bound) {
  const proxy = (options) => createModuleProxy(pool, moduleId, names, { ...bound, ...callOptions(options) })
  for (const name of names) {
    if (RESERVED.has(name)) continue
    const method = (...args) => pool[kCall](moduleId, name, args, bound.noRetry)
    Object.defineProperty(method, 'name', { value: name })
    Object.defineProperty(proxy, name, { value: method, enumerable: true, writable: false, configurable: false })
  }
  return Object.freeze(proxy)
}

module.exports = { createModuleProxy }
