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
const { resolveAsImport } = require('./resolve-import')
const { makeError } = require('./errors')
const { isCancelled, onCancel, submitUnlessCancelled, cancelError } = require('./cancel')
const { ownRealm } = require('./realm')

/** Never throws: every failure, the resolver's included, is a rejected promise. */
function invokeRequire(specifier, options) {
  try {
    const o = requireOptions(options)
    const from = callerFile(invokeRequire)
    const resolved = resolve(createRequire(from), toSpecifier(specifier), from)
    if (o.cancelToken !== undefined && isCancelled(o.cancelToken)) return Promise.reject(cancelError(o.cancelToken))
    const start = o.isolated
      ? () => loadIsolated(resolved, o.poolOptions, o.noRetry)
      : () => loadShared(o.pool ?? globalPool(), resolved, o.noRetry)
    return o.cancelToken === undefined ? start() : cancellable(o.cancelToken, start)
  } catch (err) {
    return Promise.reject(err)
  }
}

/** As `require` resolves it, or as `import` does for a package that can only be imported. */
function resolve(requireFrom, specifier, fromFile) {
  try {
    return requireFrom.resolve(specifier)
  } catch (err) {
    if (err?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw err
    const imported = resolveAsImport(specifier, requireFrom, fromFile)
    if (imported === undefined) throw err
    return imported
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
    // The load's call id doubles as the module's id. A load that fails however it fails (an
    // adapter's answer that is not one included) is forgotten: the next require tries again.
    loading = loadFrom(pool, resolved, noRetry)
      .then(({ id, names }) => createModuleProxy(pool, id, names, {}, { module: resolved }))
      .catch((err) => {
        if (cache.get(resolved) === loading) cache.delete(resolved)
        throw err
      })
    cache.set(resolved, loading)
  }
  // The cache holds the plain proxy; `noRetry` on the require carries over to its calls.
  return noRetry ? loading.then((proxy) => proxy({ noRetry: true })) : loading
}

/**
 * `pool[loadModule]`'s answer, `{id, names}`, checked: a pool may be any adapter, and what it
 * answers becomes a proxy. One that throws, answers no promise, or answers something else
 * rejects (ERR_INVALID_RETURN_VALUE for an answer that is not `{id, names: [text, ...]}`).
 */
function loadFrom(pool, resolved, noRetry) {
  let loading
  try {
    loading = Promise.resolve(tracing.load(pool, resolved, { noRetry }))
  } catch (err) {
    return Promise.reject(err)
  }
  return loading.then((answer) => {
    const names = answer?.names
    const dense = Array.isArray(names) && names.length <= MAX_NAMES && Object.keys(names).length === names.length
    if (answer?.id === undefined || !dense || !names.every((name) => typeof name === 'string')) {
      throw makeError('ERR_INVALID_RETURN_VALUE', 'pool[invoke.loadModule]', 'it must answer {id, names}, names a list of text')
    }
    return answer
  }, (err) => {
    // Made by the copy of this package that made the pool: this copy's classes (./realm.js).
    throw ownRealm(err)
  })
}

/** More exported names than any module has: a list past it is not one (a forged length). */
const MAX_NAMES = 1 << 20

/** A pool of the module's own: not cached, and closed with the proxy (or when it is collected). */
function loadIsolated(resolved, poolOptions, noRetry) {
  const pool = new Pool(poolOptions)
  return loadFrom(pool, resolved, noRetry).then(
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
  // Under --frozen-intrinsics, Error's properties cannot be set: read the stack's text instead.
  const file = Object.isFrozen(Error) ? fileInStackText(fn) : fileInFrames(fn)
  if (typeof file === 'string' && file.startsWith('file:')) return fileURLToPath(file)
  if (typeof file === 'string' && path.isAbsolute(file)) return file
  // The REPL, `node -e` and the like: resolve from the working directory.
  return path.join(process.cwd(), '[eval]')
}

function fileInFrames(fn) {
  const savedPrepare = Error.prepareStackTrace
  const savedLimit = Error.stackTraceLimit
  try {
    Error.prepareStackTrace = (_, frames) => frames
    Error.stackTraceLimit = 1
    const holder = {}
    Error.captureStackTrace(holder, fn)
    return holder.stack[0]?.getFileName()
  } finally {
    Error.prepareStackTrace = savedPrepare
    Error.stackTraceLimit = savedLimit
  }
}

/** The file of the first frame of the stack text: `at name (file:line:col)` or `at file:line:col`. */
function fileInStackText(fn) {
  const holder = {}
  Error.captureStackTrace(holder, fn)
  const frame = /\n\s+at (?:.*\((.+)\)|(.+))/.exec(holder.stack)
  return (frame?.[1] ?? frame?.[2])?.replace(/:\d+:\d+$/, '')
}

module.exports = { invokeRequire }
