'use strict'
// The worker's side of tracing: a call runs published on the TracingChannel
// `invoke-parallel:worker-call`, with the W3C traceparent its caller's tracer sent along, so an
// instrumentation in the worker can make what the call records a child of the caller's span
// (by binding a store to `start`). Only while someone in this worker listens.

const dc = require('node:diagnostics_channel')

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
      return fn()
    } finally {
      channel.end.publish(message)
    }
  })
}

/** The call's answer leaves the worker: its result, or (`ok` false) its error. */
function finish(message, ok, value) {
  if (ok) {
    message.result = value
  } else {
    message.error = value
    channel.error.publish(message)
  }
  channel.asyncStart.publish(message)
  channel.asyncEnd.publish(message)
}

module.exports = { tracing, runTraced, finish }
