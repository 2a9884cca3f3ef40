'use strict'
// An AbortSignal given to calls keeps no 'abort' listener once the last call watching it settled,
// whether the calls resolved, rejected, timed out or were made in any mix over one signal.

const test = require('ava')
const fc = require('fast-check')
const { getEventListeners } = require('node:events')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')

const listeners = (signal) => getEventListeners(signal, 'abort').length

test('a signal per call: no listener is left once each call settled', async (t) => {
  const pool = freshPool(t, { limit: 2 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const signals = Array.from({ length: 200 }, () => new AbortController().signal)
  await Promise.allSettled(
    signals.map((signal, i) =>
      i % 2 ? echo({ cancelToken: signal }).add(i, 1) : echo({ cancelToken: signal }).fail('no'),
    ),
  )
  t.deepEqual(
    signals.map(listeners).filter((n) => n !== 0),
    [],
  )
})

test('calls sharing one signal: its listener goes when the last of them settles, not before', async (t) => {
  t.timeout(60000)
  const pool = freshPool(t, { limit: 2 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom('add', 'fail', 'addAsync', 'timeout'), { minLength: 1, maxLength: 30 }),
      async (kinds) => {
        const signal = new AbortController().signal
        const calls = kinds.map((kind, i) => {
          const bound = echo({ cancelToken: signal, ...(kind === 'timeout' ? { timeout: 1 } : {}) })
          if (kind === 'timeout') return bound.sleep(60000)
          return kind === 'fail' ? bound.fail('no') : bound[kind](i, 1)
        })
        let lastSettled = false
        const last = echo({ cancelToken: signal })
          .sleep(0)
          .finally(() => {
            lastSettled = true
          })
        await Promise.allSettled(calls)
        // Still watched while a call is, whichever settles last.
        const watched = listeners(signal) === (lastSettled ? 0 : 1)
        await last
        return watched && listeners(signal) === 0
      },
    ),
    { numRuns: 30 },
  )
  t.pass()
})

test('a load watched through a signal leaves no listener either', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const signal = new AbortController().signal
  await invoke.require('./fixtures/echo', { pool, cancelToken: signal })
  await invoke.require('./fixtures/throws-at-load', { pool, cancelToken: signal }).catch(() => {})
  t.is(listeners(signal), 0)
})
