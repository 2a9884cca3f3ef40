'use strict'
// The worker's side: a SERVER span per call, the child of the caller's span (from the traceparent
// that came with the call), active while the method runs, so what the method records is its child.

const dc = require('node:diagnostics_channel')
const { trace, context, SpanKind, SpanStatusCode } = require('@opentelemetry/api')
const { parentContext } = require('./traceparent')
const { NAME, VERSION } = require('./attributes')
const { guardedAll } = require('./guard')
const { checkOptions } = require('./options')

const calls = dc.tracingChannel('invoke-parallel:worker-call')

/**
 * Subscribes to `invoke-parallel:worker-call` in this worker process (call it where the worker
 * sets up OpenTelemetry: in the worker module, or a file given with `execArgv: ['--require', …]`).
 */
function instrumentWorker(options) {
  // A meterProvider is taken (the worker records no metrics) so that both sides can share one options object.
  const { tracerProvider } = checkOptions('instrumentWorker', options, { tracerProvider: 'getTracer', meterProvider: 'getMeter' })
  const tracer = (tracerProvider ?? trace.getTracerProvider()).getTracer(NAME, VERSION)
  const spans = new WeakMap()
  const start = (message) => {
    const parent = parentContext(message.traceparent)
    const span = tracer.startSpan(
      `invoke ${message.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'code.file.path': message.module, 'code.function.name': message.method },
      },
      parent,
    )
    spans.set(message, span)
    // The method runs inside `context.with`, whatever the context manager (OpenTelemetry's API
    // has no store to bind), around any wrap another tracer set.
    const active = trace.setSpan(parent, span)
    const inner = message.wrap
    message.wrap = typeof inner === 'function' ? (run) => context.with(active, () => inner(run)) : (run) => context.with(active, run)
  }
  // A tracer that throws in `start` leaves the call untraced (no wrap is set), never failed.
  const handlers = guardedAll('worker call', {
    start,
    asyncEnd(message) {
      const span = spans.get(message)
      if (span === undefined) return
      spans.delete(message)
      if ('error' in message) {
        if (message.error instanceof Error) span.recordException(message.error)
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(message.error?.message) })
      }
      span.end()
    },
  })
  calls.subscribe(handlers)
  return {
    disable() {
      calls.unsubscribe(handlers)
    },
  }
}

module.exports = { instrumentWorker }
