'use strict'
// invoke-parallel: load a module into a pool of worker processes and call its exports.

const { Pool } = require('./lib/pool')
const { globalPool } = require('./lib/global-pool')
const { invokeRequire } = require('./lib/require')
const { closeIsolated } = require('./lib/proxy')
const { map } = require('./lib/map')
const { cancelToken } = require('./lib/cancel')
const { Cancel, Timeout, Retry } = require('./lib/errors')
const { set } = require('./lib/handles')
const { loadModule, callMethod, mapChunk } = require('./lib/pool-interface')

/** Creates a pool of worker processes. */
function pool(options) {
  return new Pool(options)
}

module.exports = {
  require: invokeRequire,
  map,
  pool,
  globalPool,
  close: closeIsolated,
  cancelToken,
  set,
  Pool,
  Cancel,
  Timeout,
  Retry,
  loadModule,
  callMethod,
  mapChunk,
}
