'use strict'
// The default pool, one per process however many times this package's JS is evaluated: jest
// gives every test file a module registry of its own, and vm contexts and bundles may carry
// copies too. They all load the one compiled addon (Node loads a `.node` file once per process
// and thread), so the pool is kept on the addon's exports under a registered symbol. A worker
// thread loads its own instance of the addon, so each thread has its own default pool.

const { Pool } = require('./pool')
const { processWide } = require('./native')

const kGlobalPool = Symbol.for('invoke-parallel.globalPool')

/** The default pool, created with default options on first use (again after it was closed). */
function globalPool() {
  let shared = processWide[kGlobalPool]
  if (shared === undefined || shared.closed) {
    shared = new Pool()
    Object.defineProperty(processWide, kGlobalPool, { value: shared, configurable: true, writable: true })
  }
  return shared
}

module.exports = { globalPool }
