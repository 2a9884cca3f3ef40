'use strict'
// invoke.require: resolves a specifier the way `require` would from the caller's file, loads it
// in a pool, and hands back a proxy (cached per pool, or on a pool of its own when isolated).

const path = require('node:path')
const { createRequire } = require('node:module')
const { fileURLToPath } = require('node:url')
const { requireOptions } = require('./options')
const { Pool } = require('./pool')
const tracing = require('./tracing')
const { createModuleProxy } = require('./proxy')
const { globalPool } = require('./global-pool')
const { makeError } = require('./errors')
const { isCancelled, onCancel, submitUnlessCancelled, cancelError } = require('./cancel')

/** Never throws: every failure, the resolver's included, is a rejected promise. */
function invokeRequire(specifier, options) {
  try {
    const o = requireOptions(options)
    const resolved = createRequire(callerFile(invokeRequire)).resolve(toSpecifier(specifier))
    if (o.cancelToken !== undefined && isCancelled(o.cancelToken)) return Promise.reject(cancelError(o.cancelToken))
    const start = o.isolated
      ? () => loadIsolated(resolved, o.poolOptions, o.noRetry)
      : () => loadShared(o.pool ?? globalPool(), resolved, o.noRetry)
    return o.cancelToken === undefined ? start() : cancellable(o.cancelToken, start)
  } catch (err) {
    return Promise.reject(err)
  }
}

/** A file URL (a URL object or a `file:` string, e.g. from `import.meta.url`) becomes its path. */
function toSpecifier(specifier) {
  if (specifier instanceof URL || (typeof specifier === 'string' && specifier.startsWith('file:'))) {
    return fileURLToPath(specifier)
  }
  checkSpecifier(specifier)
  return specifier
}

/** The checks `require` itself makes, with its error codes (`require.resolve` skips them). */
function checkSpecifier(specifier) {
  if (typeof specifier !== 'string') {
    const error = new TypeError(`The "id" argument must be of type string. Received ${describe(specifier)}`)
    error.code = 'ERR_INVALID_ARG_TYPE'
    throw error
  }
  if (specifier === '') {
    const error = new TypeError("The argument 'id' must be a non-empty string. Received ''")
    error.code = 'ERR_INVALID_ARG_VALUE'
    throw error
  }
}

function describe(value) {
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'function') return `function ${value.name}`
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`
  return `type ${typeof value} (${String(value)})`
}

/** pool -> resolved path -> the promise of its proxy. */
const loadedModules = new WeakMap()

function loadShared(pool, resolved, noRetry) {
  if (pool.closed === true) return Promise.reject(makeError('ERR_INVOKE_POOL_CLOSED'))
  let cache = loadedModules.get(pool)
  if (cache === undefined) {
    cache = new Map()
    loadedModules.set(pool, cache)
  }
  let loading = cache.get(resolved)
  if (loading === undefined) {
    loading = tracing.load(pool, resolved, { noRetry }).then(
      // The load's call id doubles as the module's id.
      ({ id, names }) => createModuleProxy(pool, id, names, {}, { module: resolved }),
      (err) => {
        cache.delete(resolved)
        throw err
      },
    )
    cache.set(resolved, loading)
  }
  // The cache holds the plain proxy; `noRetry` on the require carries over to its calls.
  return noRetry ? loading.then((proxy) => proxy({ noRetry: true })) : loading
}

/** A pool of the module's own: not cached, and closed with the proxy (or when it is collected). */
function loadIsolated(resolved, poolOptions, noRetry) {
  const pool = new Pool(poolOptions)
  return tracing.load(pool, resolved, { noRetry }).then(
    ({ id, names }) => createModuleProxy(pool, id, names, noRetry ? { noRetry } : {}, { isolated: true, module: resolved }),
    (err) => {
      pool.close({ force: true })
      throw err
    },
  )
}

/**
 * Waits for `start()` unless the token fires first. A load already under way is not aborted: it
 * may be shared through the cache, and a loaded module is useful to the next require.
 */
function cancellable(token, start) {
  return new Promise((resolve, reject) => {
    let done = false
    const stop = onCancel(token, () => {
      if (done) return
      done = true
      reject(cancelError(token))
    })
    submitUnlessCancelled(
      () => done,
      () =>
        start().then(
          (value) => {
            done = true
            stop()
            resolve(value)
          },
          (err) => {
            done = true
            stop()
            reject(err)
          },
        ),
    )
  })
}

/** The file of the code that called `fn`, for resolving relative specifiers against it. */
function callerFile(fn) {
  const savedPrepare = Error.prepareStackTrace
  const savedLimit = Error.stackTraceLimit
  let file
  try {
    Error.prepareStackTrace = (_, frames) => frames
    Error.stackTraceLimit = 1
    const holder = {}
    Error.captureStackTrace(holder, fn)
    file = holder.stack[0]?.getFileName()
  } finally {
    Error.prepareStackTrace = savedPrepare
    Error.stackTraceLimit = savedLimit
  }
  if (typeof file === 'string' && file.startsWith('file:')) return fileURLToPath(file)
  if (typeof file === 'string' && path.isAbsolute(file)) return file
  // The REPL, `node -e` and the like: resolve from the working directory.
  return path.join(process.cwd(), '[eval]')
}

module.exports = { invokeRequire }
