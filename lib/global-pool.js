'use strict'
// The default pool, one per process however many times this package's JS is evaluated: jest
// gives every test file a module registry of its own, and vm contexts and bundles may carry
// copies too. They all load the one compiled addon (Node loads a `.node` file once per process
// and thread), so the pool is kept on the addon's exports under a registered symbol. A worker
// thread loads its own instance of the addon, so each thread has its own default pool.

const { Pool } = require('./pool')
const { processWide } = require('./native')

const kGlobalPool = Symbol.for('invoke-parallel.globalPool')
const kReporter = Symbol.for('invoke-parallel.globalPoolReporter')

/** This copy's console: under jest, the console of the test file that evaluated it. */
function report(error) {
  console.error(error)
}

/** The default pool, created with default options on first use (again after it was closed). */
function globalPool() {
  // The copy that asked last reports what no call owns (a worker crash): under jest, the test file
  // running now, rather than one whose tests are over.
  setHidden(kReporter, report)
  let shared = processWide[kGlobalPool]
  if (shared === undefined || shared.closed) {
    shared = new Pool({ onError: (error) => processWide[kReporter](error) })
    setHidden(kGlobalPool, shared)
  }
  return shared
}

function setHidden(key, value) {
  Object.defineProperty(processWide, key, { value, configurable: true, writable: true })
}

module.exports = { globalPool }
