'use strict'
// A traceparent (a subscriber's or the call option) rides inside the call's encoded arguments.
// "Whatever a subscriber does to the message costs the trace, never the call": arguments that fit
// `maxMessageSize` on their own must not be refused because a traceparent was added to them.

const test = require('ava')
const dc = require('node:diagnostics_channel')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')

const calls = dc.tracingChannel('invoke-parallel:call')
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
const LIMIT = 32 * 1024

/** How a call of echo.echo(argument) ends: its result's length, or the error's code. */
const outcome = (promise) => promise.then((value) => value.length, (error) => error.code ?? error.message)

// Arguments through each encoding: JSON text, V8's format (a Buffer), and a large Latin-1 string
// sent as raw bytes (16 KiB and up); sizes around the limit, where the traceparent's bytes tip them over.
const argument = fc.oneof(
  fc.integer({ min: LIMIT - 80, max: LIMIT + 4 }).map((n) => ({ kind: 'text', make: () => 'x'.repeat(n - 13) })),
  fc.integer({ min: LIMIT - 80, max: LIMIT + 4 }).map((n) => ({ kind: 'buffer', make: () => Buffer.alloc(n - 30, 7) })),
  fc.integer({ min: LIMIT - 80, max: LIMIT + 4 }).map((n) => ({ kind: 'raw', make: () => 'y'.repeat(n - 20) })),
)

test.serial('a traceparent never makes a call too large: what fits untraced runs traced (generated sizes)', async (t) => {
  const pool = freshPool(t, { limit: 1, maxMessageSize: LIMIT })
  const echo = await invoke.require('./fixtures/echo', { pool })
  let subscriberSets = false
  const handlers = {
    start: (message) => {
      if (subscriberSets) message.traceparent = TRACEPARENT
    },
  }
  calls.subscribe(handlers)
  t.teardown(() => calls.unsubscribe(handlers))
  let fitted = 0
  await fc.assert(
    fc.asyncProperty(argument, async ({ make }) => {
      const value = make()
      subscriberSets = false
      const plain = await outcome(echo.echo(value))
      const withOption = await outcome(echo({ traceparent: TRACEPARENT }).echo(value))
      subscriberSets = true
      const bySubscriber = await outcome(echo.echo(value))
      subscriberSets = false
      if (typeof plain === 'number') fitted++
      t.deepEqual([withOption, bySubscriber], [plain, plain])
    }),
    { numRuns: 60 },
  )
  t.true(fitted > 0)
})
