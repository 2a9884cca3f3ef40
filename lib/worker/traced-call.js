'use strict'
// The worker's side of tracing: a call runs published on the TracingChannel
// `invoke-parallel:worker-call`, with the W3C traceparent its caller's tracer sent along, so an
// instrumentation in the worker can make what the call records a child of the caller's span: by
// binding an AsyncLocalStorage to `start`, or (a tracer whose context is not a store it can bind,
// such as OpenTelemetry's API) by setting `message.wrap` in its `start` subscriber. Only while
// someone in this worker listens.

const dc = require('node:diagnostics_channel')
const { annotate, read } = require('../annotate')

const channel = dc.tracingChannel('invoke-parallel:worker-call')

/** Whether calls are published: when not, they run as they would without this file. */
function tracing() {
  return channel.hasSubscribers
}

/**
 * Runs `fn`, the call's function, inside `start`'s stores; start and end are published around its
 * synchronous part. What it throws is left to the caller, which ends the call with `finish`.
 */
function runTraced(message, fn) {
  return channel.start.runStores(message, () => {
    try {
      const wrap = read(message, 'wrap')
      return typeof wrap === 'function' ? wrapped(wrap, fn) : fn()
    } finally {
      channel.end.publish(message)
    }
  })
}

/**
 * `fn` run by a subscriber's `wrap(run)`, exactly once whatever the wrap does: a wrap that does
 * not run it before it returns costs the context, not the call (`fn` runs without it then); a
 * second or late `run()` runs nothing and returns the first result; what the wrap throws is the
 * call's error, as if the method had thrown it.
 */
function wrapped(wrap, fn) {
  let ran = false
  let value
  const run = () => {
    if (!ran) {
      ran = true
      value = fn()
    }
    return value
  }
  wrap(run)
  return run()
}

/** The call's answer leaves the worker: its result, or (`ok` false) its error. */
function finish(message, ok, value) {
  if (ok) {
    annotate(message, { result: value })
  } else {
    annotate(message, { error: value })
    channel.error.publish(message)
  }
  channel.asyncStart.publish(message)
  channel.asyncEnd.publish(message)
}

module.exports = { tracing, runTraced, finish }
