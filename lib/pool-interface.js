'use strict'
// What `invoke.require` needs of a pool: load a module by resolved path, call one of its methods.
// `invoke.pool()` implements it over local workers; an adapter (a queue, a remote fleet) can too.
// Registered symbols, so that an adapter built against another copy of this package still fits.

const loadModule = Symbol.for('invoke-parallel.loadModule')
const callMethod = Symbol.for('invoke-parallel.callMethod')

/** Whether `pool` can be given to `invoke.require({pool})`. */
function isPool(pool) {
  return (
    pool !== null &&
    typeof pool === 'object' &&
    typeof pool[loadModule] === 'function' &&
    typeof pool[callMethod] === 'function'
  )
}

module.exports = { loadModule, callMethod, isPool }
