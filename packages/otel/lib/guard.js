'use strict'
// A subscriber that throws is reported by Node as an uncaught exception: in the parent that is a
// crash, in a worker the end of the worker and every call on it. What a broken or hostile SDK
// throws (a tracer, a span, a meter) must cost the telemetry, never the calls: it goes to
// OpenTelemetry's own diagnostic logger, as the API's promise never to throw asks.

const { diag } = require('@opentelemetry/api')

/** `handler(message)`, with whatever it throws logged instead. */
function guarded(what, handler) {
  return (message) => {
    try {
      handler(message)
    } catch (error) {
      diag.error(`invoke-parallel-otel: ${what} failed`, error)
    }
  }
}

/** Each of `handlers`' functions guarded, named `<prefix> <name>` in what is logged. */
function guardedAll(prefix, handlers) {
  return Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, guarded(`${prefix} ${name}`, handler)]))
}

module.exports = { guarded, guardedAll }
