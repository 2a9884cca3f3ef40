'use strict'
// What the pool publishes through node:diagnostics_channel, for tracing tools (APM agents,
// OpenTelemetry): a TracingChannel around each method call and each module load, and plain
// channels for worker processes starting and exiting. Nothing is built for a channel nobody
// listens to: the call path checks `hasSubscribers` first.

const dc = require('node:diagnostics_channel')
const { callMethod, loadModule } = require('./pool-interface')
const { validTraceparent } = require('./traceparent')
const { annotate, read } = require('./annotate')

const callChannel = dc.tracingChannel('invoke-parallel:call')
const loadChannel = dc.tracingChannel('invoke-parallel:load')
const spawnChannel = dc.channel('invoke-parallel:worker-spawn')
const exitChannel = dc.channel('invoke-parallel:worker-exit')

/**
 * Calls `method` of a module through `pool` (any pool: invoke.pool() or an adapter), published
 * on `invoke-parallel:call`. The pool fills in what it learns of where the call ran.
 */
function tracedCall(pool, moduleId, module, method, args, options) {
  const message = {
    module,
    method,
    pool,
    arguments: args,
    // The caller's own (the `traceparent` call option), until a subscriber sets its span's.
    traceparent: options.traceparent,
    workerPid: undefined,
    attempt: undefined,
    waitMs: undefined,
    runMs: undefined,
    outcome: undefined,
  }
  return traced(
    callChannel,
    message,
    () =>
      annotate(message, { traceparent: readTraceparent(message) })
        ? pool[callMethod](moduleId, method, args, options, message)
        : pool[callMethod](moduleId, method, args, options),
    (ok, thrown) => read(message, 'outcome') ?? (ok ? 'resolved' : outcomeOf(thrown)),
  )
}

/**
 * `run()`'s promise, published on `channel` as TracingChannel.tracePromise would, but by hand, so
 * that nothing a subscriber does to the message (freezing it, accessors that throw) can reject or
 * throw from the call: that costs the trace, never the call. `outcome(ok, thrown)`, if given, is
 * the message's `outcome` once it settles.
 */
function traced(channel, message, run, outcome) {
  const { start, end, asyncStart, asyncEnd, error } = channel
  return start.runStores(message, () => {
    let promise
    try {
      // A pool whose method returns a value rather than a promise still traces as one.
      promise = Promise.resolve(run())
    } catch (thrown) {
      annotate(message, { error: thrown })
      error.publish(message)
      throw thrown
    } finally {
      end.publish(message)
    }
    return promise.then(
      (value) => {
        annotate(message, outcome === undefined ? { result: value } : { outcome: outcome(true), result: value })
        asyncStart.publish(message)
        asyncEnd.publish(message)
        return value
      },
      (thrown) => {
        annotate(message, outcome === undefined ? { error: thrown } : { outcome: outcome(false, thrown), error: thrown })
        error.publish(message)
        asyncStart.publish(message)
        asyncEnd.publish(message)
        throw thrown
      },
    )
  })
}

/** What a subscriber left in `message.traceparent`, if it is one. */
function readTraceparent(message) {
  return validTraceparent(read(message, 'traceparent'))
}

/**
 * How a call that rejected ended: `rejected` (its function threw), `cancelled`, or `failed` (the
 * pool could not complete it: a timeout, its worker died, a full queue, a closed pool).
 */
function outcomeOf(error) {
  const code = error?.code
  if (code === 'ERR_INVOKE_CANCELLED' || code === 'ABORT_ERR' || error?.name === 'AbortError') return 'cancelled'
  return typeof code === 'string' && code.startsWith('ERR_INVOKE_') ? 'failed' : 'rejected'
}

/** `pool[loadModule]`, published on `invoke-parallel:load` when someone listens. */
function load(pool, resolved, options) {
  if (!loadChannel.hasSubscribers) return pool[loadModule](resolved, options)
  return traced(loadChannel, { module: resolved, pool }, () => pool[loadModule](resolved, options))
}

function workerSpawned(pool, pid, workerId) {
  if (spawnChannel.hasSubscribers) spawnChannel.publish({ pool, pid, workerId })
}

function workerExited(pool, pid, { slot, exitCode, signal, expected }) {
  if (exitChannel.hasSubscribers) exitChannel.publish({ pool, pid, workerId: slot, exitCode, signal, expected })
}

module.exports = { callChannel, tracedCall, load, workerSpawned, workerExited }
