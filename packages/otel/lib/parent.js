'use strict'
// The parent's side: a CLIENT span per call (the caller's active span its parent, its context sent
// to the worker as a traceparent), a span per module load, and the pool's metrics.

const dc = require('node:diagnostics_channel')
const { performance } = require('node:perf_hooks')
const { trace, metrics, context, SpanKind, SpanStatusCode } = require('@opentelemetry/api')
const { format, parentContext } = require('./traceparent')
const { NAME, VERSION, poolId, callAttributes } = require('./attributes')
const { guarded, guardedAll } = require('./guard')
const { checkOptions } = require('./options')

const calls = dc.tracingChannel('invoke-parallel:call')
const loads = dc.tracingChannel('invoke-parallel:load')

/**
 * Subscribes to invoke-parallel's channels in this process. Returns `{ disable() }`. Without
 * providers, the global ones (`trace.getTracerProvider()`, `metrics.getMeterProvider()`).
 */
function instrument(options) {
  const { tracerProvider, meterProvider } = checkOptions('instrument', options, { tracerProvider: 'getTracer', meterProvider: 'getMeter' })
  const tracer = (tracerProvider ?? trace.getTracerProvider()).getTracer(NAME, VERSION)
  const meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(NAME, VERSION)
  const duration = meter.createHistogram('invoke_parallel.call.duration', {
    description: 'Time from a method call until it settled, as its caller saw it',
    unit: 's',
  })
  const queueWait = meter.createHistogram('invoke_parallel.call.queue_wait', {
    description: 'Time a call waited in the pool before the worker that answered it got it',
    unit: 's',
  })
  const retries = meter.createCounter('invoke_parallel.call.retries', {
    description: 'Times calls were sent again because their worker died',
  })
  const starts = meter.createCounter('invoke_parallel.worker.starts', { description: 'Worker processes started' })
  const deaths = meter.createCounter('invoke_parallel.worker.deaths', {
    description: 'Worker processes that exited without the pool asking them to',
  })

  /** message -> { span, started } */
  const open = new WeakMap()

  // Each pool seen (by its workers or calls) is observed through its stats() while it lives.
  const pools = new Set()
  const seen = new WeakSet()
  const observe = (pool) => {
    if (pool === null || typeof pool !== 'object' || typeof pool.stats !== 'function' || seen.has(pool)) return
    seen.add(pool)
    pools.add(new WeakRef(pool))
  }
  const gauges = {
    workers: meter.createObservableGauge('invoke_parallel.pool.workers', { description: 'Worker processes alive' }),
    queued: meter.createObservableGauge('invoke_parallel.pool.queued', {
      description: 'Calls waiting beyond what the workers take',
    }),
    running: meter.createObservableGauge('invoke_parallel.pool.running', { description: 'Calls on a worker' }),
    utilization: meter.createObservableGauge('invoke_parallel.pool.utilization', {
      description: 'Worker busy time over what the pool could have had since it started, 0 to 1',
    }),
  }
  const observeStats = (result) => {
    for (const ref of pools) {
      const pool = ref.deref()
      if (pool === undefined || pool.closed === true) {
        pools.delete(ref)
        continue
      }
      let stats
      try {
        stats = pool.stats()
      } catch {
        continue
      }
      const attributes = { 'invoke_parallel.pool.id': poolId(pool) }
      for (const name of ['workers', 'queued', 'running', 'utilization']) {
        if (typeof stats?.[name] === 'number') result.observe(gauges[name], stats[name], attributes)
      }
    }
  }
  meter.addBatchObservableCallback(observeStats, Object.values(gauges))

  const callHandlers = guardedAll('call', {
    start(message) {
      observe(message.pool)
      // A call that brings its caller's traceparent (an adapter's host relaying a remote call)
      // continues that trace; any other, the one active where it was made.
      const parent = message.traceparent === undefined ? context.active() : parentContext(message.traceparent)
      const span = tracer.startSpan(`invoke ${message.method}`, { kind: SpanKind.CLIENT, attributes: callAttributes(message) }, parent)
      open.set(message, { span, started: performance.now() })
      if (span.spanContext().traceId !== '00000000000000000000000000000000') {
        message.traceparent = format(span.spanContext())
      }
    },
    // A call that threw before it had a promise (an adapter's bug) ends here.
    end(message) {
      if ('error' in message && message.outcome === undefined) endCall(message)
    },
    asyncEnd: endCall,
  })

  function endCall(message) {
    const entry = open.get(message)
    if (entry === undefined) return
    open.delete(message)
    const { span, started } = entry
    const outcome = message.outcome ?? (message.error === undefined ? 'resolved' : 'rejected')
    const attributes = { ...callAttributes(message), 'invoke_parallel.outcome': outcome }
    span.setAttribute('invoke_parallel.outcome', outcome)
    if (message.workerPid !== undefined) span.setAttribute('invoke_parallel.worker.pid', message.workerPid)
    if (message.attempt !== undefined) span.setAttribute('invoke_parallel.attempt', message.attempt)
    if (message.waitMs !== undefined) {
      span.setAttribute('invoke_parallel.queue_wait_ms', message.waitMs)
      queueWait.record(message.waitMs / 1000, attributes)
    }
    if (message.attempt > 1) retries.add(message.attempt - 1, attributes)
    if (outcome !== 'resolved') {
      if (message.error instanceof Error) span.recordException(message.error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(message.error?.message ?? outcome) })
    }
    duration.record((performance.now() - started) / 1000, attributes)
    span.end()
  }

  const loadHandlers = guardedAll('load', {
    start(message) {
      const span = tracer.startSpan(
        'invoke-parallel load',
        { attributes: { 'code.file.path': message.module, 'invoke_parallel.pool.id': poolId(message.pool) } },
        context.active(),
      )
      open.set(message, { span })
    },
    // A load that threw before it had a promise ends here; the rest after they settle.
    end(message) {
      if ('error' in message) endLoad(message)
    },
    asyncEnd: endLoad,
  })

  function endLoad(message) {
    const entry = open.get(message)
    if (entry === undefined) return
    open.delete(message)
    if (message.error !== undefined) {
      if (message.error instanceof Error) entry.span.recordException(message.error)
      entry.span.setStatus({ code: SpanStatusCode.ERROR, message: String(message.error?.message) })
    }
    entry.span.end()
  }

  const onSpawn = guarded('worker-spawn', (message) => {
    observe(message.pool)
    starts.add(1, { 'invoke_parallel.pool.id': poolId(message.pool) })
  })
  const onExit = guarded('worker-exit', (message) => {
    if (!message.expected) deaths.add(1, { 'invoke_parallel.pool.id': poolId(message.pool) })
  })

  calls.subscribe(callHandlers)
  loads.subscribe(loadHandlers)
  dc.subscribe('invoke-parallel:worker-spawn', onSpawn)
  dc.subscribe('invoke-parallel:worker-exit', onExit)
  return {
    disable() {
      meter.removeBatchObservableCallback(observeStats, Object.values(gauges))
      pools.clear()
      calls.unsubscribe(callHandlers)
      loads.unsubscribe(loadHandlers)
      dc.unsubscribe('invoke-parallel:worker-spawn', onSpawn)
      dc.unsubscribe('invoke-parallel:worker-exit', onExit)
    },
  }
}

module.exports = { instrument }
