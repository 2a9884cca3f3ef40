'use strict'
// instrument() and instrumentWorker() given what they cannot use: a clear error with a code, as
// invoke-parallel's own functions give (README, Errors the pool raises), and nothing subscribed.
// Before, options of null threw a destructuring TypeError, a provider without getTracer threw
// "…getTracer is not a function", and a misspelt option was silently ignored.

const test = require('ava')
const dc = require('node:diagnostics_channel')
const { instrument, instrumentWorker } = require('..')

const provider = { tracerProvider: { getTracer: () => ({}) }, meterProvider: { getMeter: () => ({}) } }

for (const [name, fn] of [
  ['instrument', instrument],
  // The worker records no metrics, but takes the parent's options object as it is.
  ['instrumentWorker', instrumentWorker],
]) {
  test(`${name}: options that are not an object, and providers of the wrong type: ERR_INVALID_ARG_TYPE`, (t) => {
    for (const options of [null, 5, 'x', true, () => {}, [], { tracerProvider: 5 }, { tracerProvider: {} }]) {
      const error = t.throws(() => fn(options), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
      t.regex(error.message, new RegExp(`^invoke-parallel-otel: ${name}`))
    }
    t.throws(() => fn({ meterProvider: { getMeter: 1 } }), { code: 'ERR_INVALID_ARG_TYPE' })
    t.false(dc.tracingChannel('invoke-parallel:call').hasSubscribers)
    t.false(dc.tracingChannel('invoke-parallel:worker-call').hasSubscribers)
  })

  test(`${name}: an option it does not know (misspelt): ERR_INVALID_ARG_VALUE`, (t) => {
    for (const key of ['tracerprovider', 'provider', 'meterprovider']) {
      const error = t.throws(() => fn({ [key]: provider.meterProvider }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
      t.true(error.message.includes(key), error.message)
    }
  })

  test(`${name}: no options, or undefined and null providers, mean the global ones`, (t) => {
    for (const options of [undefined, {}, { tracerProvider: undefined }, { tracerProvider: null }]) fn(options).disable()
    t.pass()
  })
}
