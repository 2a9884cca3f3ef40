'use strict'
// The names spans and metrics carry, in one place.

const NAME = 'invoke-parallel-otel'
const VERSION = require('../package.json').version

/** A number per pool object, for attributes (pools have no names). */
const poolIds = new WeakMap()
let lastPoolId = 0
function poolId(pool) {
  if (pool === null || typeof pool !== 'object') return undefined
  let id = poolIds.get(pool)
  if (id === undefined) {
    id = ++lastPoolId
    poolIds.set(pool, id)
  }
  return id
}

/** What a call's span and metrics say of it. */
function callAttributes(message) {
  return {
    'code.file.path': message.module,
    'code.function.name': message.method,
    'invoke_parallel.pool.id': poolId(message.pool),
  }
}

module.exports = { NAME, VERSION, poolId, callAttributes }
