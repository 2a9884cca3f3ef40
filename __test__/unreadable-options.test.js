'use strict'
// Options that throw when read (a getter, a Proxy's trap) are bad options: every entry point
// refuses them as it refuses others, with ERR_INVALID_ARG_VALUE whose `cause` is what was thrown,
// and keeps its own promise about how it fails (invoke.pool and proxy(options) throw,
// invoke.require and close() reject, never throw). Found by attack: the raw error escaped, and
// pool.close() threw synchronously.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')

const NAMES = ['limit', 'pool', 'noRetry', 'timeout', 'force', 'cancelToken', 'chunk', 'isolated', 'priority', 'onError']

/** Options whose `name` (or, as a Proxy, every key) throws `thrown` when read. */
function unreadable(kind, name, thrown) {
  if (kind === 'getter') return Object.defineProperty({}, name, { enumerable: true, get: () => { throw thrown } })
  if (kind === 'ownKeys') return new Proxy({}, { ownKeys: () => { throw thrown } })
  return new Proxy({ [name]: 1 }, { get: () => { throw thrown } })
}

test('options that throw when read are refused with ERR_INVALID_ARG_VALUE at every entry point (generated options)', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const entries = {
    'invoke.pool': (options) => invoke.pool(options),
    'invoke.require': (options) => invoke.require('./fixtures/echo', options),
    'proxy(options)': (options) => echo(options),
    // A pool of its own: options read without their trap (a getter on another name) close it.
    'pool.close': (options) => freshPool(t, { minimum: 0 }).close(options),
    'invoke.map': (options) => invoke.map(echo.echo, [1], options),
  }
  const rejects = new Set(['invoke.require', 'pool.close'])
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...Object.keys(entries)), fc.constantFrom('getter', 'ownKeys', 'get'), fc.constantFrom(...NAMES), async (entry, kind, name) => {
      const thrown = new Error(`read ${name}`)
      let error
      if (rejects.has(entry)) {
        let promise
        t.notThrows(() => {
          promise = entries[entry](unreadable(kind, name, thrown))
        }, entry)
        error = await promise.then(() => null, (e) => e)
      } else {
        try {
          const made = entries[entry](unreadable(kind, name, thrown))
          // A pool made of options that happened to be read without their trap: not ours to judge.
          if (entry === 'invoke.pool') await made.close({ force: true })
        } catch (e) {
          error = e
        }
      }
      if (error === undefined || error === null) return
      t.is(error.code, error.cause === thrown ? 'ERR_INVALID_ARG_VALUE' : error.code, `${entry} ${kind} ${name}`)
      if (error.cause !== thrown && !/unknown option/.test(error.message)) t.fail(`${entry} ${kind} ${name}: ${error.stack}`)
      if (!(error instanceof TypeError)) t.fail(`${entry} ${kind} ${name}: not a TypeError: ${error}`)
    }),
    { numRuns: 150 },
  )
  t.is(await echo.echo('after'), 'after')
})
