'use strict'
// What `invoke.require` needs of a pool: load a module by resolved path, call one of its methods.
// `invoke.pool()` implements it over local workers; an adapter (a queue, a remote fleet) can too.
// Registered symbols, so that an adapter built against another copy of this package still fits.

const loadModule = Symbol.for('invoke-parallel.loadModule')
const callMethod = Symbol.for('invoke-parallel.callMethod')

/**
 * The method name under which `invoke.map` sends a chunk of items through `callMethod`:
 * `pool[callMethod](moduleId, mapChunk, [name, items], options)` runs export `name` over the items
 * and resolves to their outcomes in the worker's format (bytes, or an async iterable of bytes),
 * which `invoke.map` reads. A pool that carries calls elsewhere forwards such a call to a pool
 * there under the same name, and gives back its answer's bytes unchanged. A text, not a symbol,
 * so that it can cross a process or a queue; no export has a NUL in its name by accident.
 */
const { CHUNK_METHOD: mapChunk } = require('./worker/chunk')

/** Whether `pool` can be given to `invoke.require({pool})`. */
function isPool(pool) {
  return (
    pool !== null &&
    typeof pool === 'object' &&
    typeof pool[loadModule] === 'function' &&
    typeof pool[callMethod] === 'function'
  )
}

module.exports = { loadModule, callMethod, mapChunk, isPool }
