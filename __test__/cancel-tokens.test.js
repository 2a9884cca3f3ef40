'use strict'
// Cancel tokens shared by many calls, and tokens that are not what they seem: memory stays flat,
// and a call always returns a promise that settles.

const test = require('ava')
const { scaled } = require('./helpers/time')
const fc = require('fast-check')
const path = require('node:path')
const invoke = require('..')
const { runNode } = require('./helpers/processes')

for (const kind of ['cancelToken', 'promise', 'signal']) {
  test(`calls sharing one ${kind} that never fires leave nothing behind once settled`, async (t) => {
    t.timeout(scaled(120000))
    const script = path.join(__dirname, 'fixtures', 'shared-token-memory.js')
    const run = await runNode(['--expose-gc', script, kind, '20000'], { timeout: 110000 })
    t.is(run.code, 0, run.stderr)
    t.notRegex(run.stderr, /MaxListenersExceeded/, 'one listener per token, however many calls share it')
    const { bytesPerCall } = JSON.parse(run.stdout)
    t.log(`${kind}: ${bytesPerCall.toFixed(1)} bytes retained per settled call`)
    // A reaction or listener kept per call retained ~960 bytes each.
    t.true(bytesPerCall < 100, `${bytesPerCall} bytes per call`)
  })
}

test('one token shared by many queued calls cancels them all; once fired it cancels new calls at once', async (t) => {
  t.timeout(scaled(30000))
  const pool = invoke.pool({ limit: 1, maxPerChild: 1 })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const token = invoke.cancelToken()
  const bound = echo({ cancelToken: token })
  const done = await Promise.all(Array.from({ length: 20 }, (_, i) => bound.add(i, 1)))
  t.deepEqual(done, Array.from({ length: 20 }, (_, i) => i + 1), 'settled calls are unaffected')
  const queued = Array.from({ length: 50 }, () => bound.sleep(5000))
  token.resolve()
  const outcomes = await Promise.allSettled(queued)
  t.true(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof invoke.Cancel))
  await t.throwsAsync(bound.add(1, 1), { instanceOf: invoke.Cancel })
  t.is(await echo.add(2, 2), 4)
})

/** A property value of an odd token: plain values, functions that misbehave, getters that throw. */
function oddValue() {
  const boom = (what) => () => {
    throw new Error(`${what} threw`)
  }
  return fc.oneof(
    fc.constantFrom(undefined, null, true, false, 0, 'yes', {}),
    fc.constantFrom(
      { value: (resolve) => resolve() },
      { value: (resolve) => queueMicrotask(resolve) },
      { value: (resolve) => setImmediate(resolve) },
      { value: (resolve) => { resolve(); resolve() } },
      { value: (_, reject) => reject(new Error('rejected')) },
      { value: () => {} },
      { value: (_, listener) => listener?.() },
      { value: boom('a method') },
      { value: () => { throw 'a string' } },
    ).map((d) => d.value),
    fc.integer({ min: 0, max: 3 }).map((reads) => ({ getterThrowsAfter: reads })),
  )
}

/**
 * What an odd token is made of: `then`, `aborted`, `addEventListener`, `removeEventListener` and
 * `reason` drawn from oddValue(), maybe behind a Proxy whose traps throw after a few uses. The
 * token itself is built in the test (makeToken), so fast-check's own look at it does not count.
 */
function oddToken() {
  const keys = ['then', 'aborted', 'addEventListener', 'removeEventListener', 'reason']
  return fc.record({
    props: fc.record(Object.fromEntries(keys.map((k) => [k, oddValue()])), { requiredKeys: [] }),
    proxyThrowsAfter: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
  })
}

function makeToken({ props, proxyThrowsAfter }) {
  const token = {}
  for (const [key, value] of Object.entries(props)) {
    if (value !== null && typeof value === 'object' && 'getterThrowsAfter' in value) {
      let reads = 0
      Object.defineProperty(token, key, {
        enumerable: true,
        get() {
          if (reads++ >= value.getterThrowsAfter) throw new TypeError(`${key} getter threw`)
          return key === 'aborted' ? false : (resolve) => resolve?.()
        },
      })
    } else {
      token[key] = value
    }
  }
  if (proxyThrowsAfter === undefined) return token
  let uses = 0
  const trap = (name) => (...args) => {
    if (uses++ >= proxyThrowsAfter) throw new Error(`proxy ${name} trap threw`)
    return Reflect[name](...args)
  }
  return new Proxy(token, { get: trap('get'), has: trap('has'), getPrototypeOf: trap('getPrototypeOf') })
}

test('a call with any token, however odd, returns a promise that settles; binding refuses only with a TypeError', async (t) => {
  t.timeout(scaled(120000))
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const seen = { refusedAtBinding: 0, resolved: 0, rejected: 0 }
  await fc.assert(
    fc.asyncProperty(oddToken(), async (description) => {
      const token = makeToken(description)
      let bound
      try {
        bound = echo({ cancelToken: token })
      } catch (error) {
        t.true(error instanceof TypeError, `binding threw ${error}`)
        seen.refusedAtBinding++
        return
      }
      let call
      try {
        call = bound.add(1, 2)
      } catch (error) {
        t.fail(`the call threw synchronously: ${error}`)
        return
      }
      t.true(call instanceof Promise)
      const outcome = await call.then(
        (value) => ({ value }),
        (error) => ({ error }),
      )
      seen['value' in outcome ? 'resolved' : 'rejected']++
      if ('value' in outcome) t.is(outcome.value, 3)
      else t.true(outcome.error instanceof TypeError || outcome.error instanceof invoke.Cancel, String(outcome.error))
    }),
    { numRuns: 300 },
  )
  t.log(seen)
  t.is(await echo.add(2, 2), 4, 'the pool is unharmed')
})

test('a call with a token made just before close() runs, as any call made before it does', async (t) => {
  t.timeout(scaled(30000))
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const call = echo({ cancelToken: invoke.cancelToken() }).add(1, 2)
  const closed = pool.close()
  t.is(await call, 3)
  await closed
  await t.throwsAsync(echo({ cancelToken: invoke.cancelToken() }).add(1, 2), { code: 'ERR_INVOKE_POOL_CLOSED' })
})
