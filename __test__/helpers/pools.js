'use strict'
// Pools for tests: closed (forcibly) when the test ends, whatever it did to them.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const invoke = require('../..')
const { scaled, SCALE } = require('./time')

/** A pool with `options`, closed by the test's teardown. */
function freshPool(t, options) {
  // A worker's start has a time limit of its own (30 s by default): it scales with the tests'.
  const pool = invoke.pool(SCALE > 1 ? { startTimeout: scaled(30000), ...options } : options)
  t.teardown(() => pool.close({ force: true }))
  return pool
}

/** The same, with what reaches `onError` collected in `errors`. */
function watchedPool(t, options) {
  const errors = []
  const pool = freshPool(t, { onError: (error) => errors.push(error), ...options })
  return { pool, errors }
}

/**
 * A folder for the test's files, removed once the test's pools are closed (a worker still
 * running could write into it while it is removed): make it before the pools, since teardowns
 * run last-registered first.
 */
function scratchDir(t, prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `invoke-parallel-${prefix}-`))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

const DRIVER_VARIABLE = 'INVOKE_PARALLEL_DRIVER'
/** The drivers this platform has: the linux driver exists only on Linux. */
const DRIVERS = process.platform === 'linux' ? ['portable', 'linux'] : ['portable']

/** A pool made while INVOKE_PARALLEL_DRIVER says `driver` (unset for undefined), then put back. */
function poolOnDriver(t, driver, options = {}) {
  const before = process.env[DRIVER_VARIABLE]
  if (driver === undefined) delete process.env[DRIVER_VARIABLE]
  else process.env[DRIVER_VARIABLE] = driver
  try {
    return freshPool(t, { limit: 1, ...options })
  } finally {
    if (before === undefined) delete process.env[DRIVER_VARIABLE]
    else process.env[DRIVER_VARIABLE] = before
  }
}

module.exports = { freshPool, watchedPool, scratchDir, poolOnDriver, DRIVERS }
