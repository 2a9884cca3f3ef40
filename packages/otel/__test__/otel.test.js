'use strict'
// invoke-parallel-otel against the real OpenTelemetry SDK (in-memory exporters) and real workers:
// the caller's span is the parent of the call's span, which is the parent of the worker's span
// across the process boundary, which is the parent of what the worker's code records.

const test = require('ava')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { trace, SpanKind, SpanStatusCode } = require('@opentelemetry/api')
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node')
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
const { MeterProvider, InMemoryMetricExporter, PeriodicExportingMetricReader, AggregationTemporality } = require('@opentelemetry/sdk-metrics')
const invoke = require('invoke-parallel')
const { instrument } = require('..')

const spans = new InMemorySpanExporter()
const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
tracerProvider.register()
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 })
const meterProvider = new MeterProvider({ readers: [reader] })
const instrumentation = instrument({ meterProvider })
test.after.always(() => {
  instrumentation.disable()
  return meterProvider.shutdown()
})

const tracer = trace.getTracer('otel test')

/** The metric points recorded so far, by metric name. */
async function metricPoints() {
  await reader.forceFlush()
  const all = metricExporter.getMetrics().at(-1)?.scopeMetrics.flatMap((s) => s.metrics) ?? []
  return Object.fromEntries(all.map((m) => [m.descriptor.name, m.dataPoints]))
}

const total = (points = [], where = () => true) =>
  points.filter((p) => where(p.attributes)).reduce((n, p) => n + (typeof p.value === 'number' ? p.value : p.value.count), 0)

test.serial('a worker span is the child of the parent span across the process boundary', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const worker = await invoke.require('./fixtures/otel-worker', { pool })
  spans.reset()
  const result = await tracer.startActiveSpan('request', async (request) => {
    try {
      return await worker.work(21)
    } finally {
      request.end()
    }
  })
  t.is(result, 42)
  const parent = spans.getFinishedSpans()
  const request = parent.find((s) => s.name === 'request')
  const call = parent.find((s) => s.name === 'invoke work')
  t.is(call.kind, SpanKind.CLIENT)
  t.is(call.parentSpanContext.spanId, request.spanContext().spanId)
  t.is(call.spanContext().traceId, request.spanContext().traceId)
  t.like(call.attributes, { 'code.function.name': 'work', 'invoke_parallel.outcome': 'resolved', 'invoke_parallel.attempt': 1 })
  const inWorker = await worker.spans()
  const served = inWorker.find((s) => s.name === 'invoke work')
  const inner = inWorker.find((s) => s.name === 'inner work')
  t.is(served.kind, SpanKind.SERVER)
  t.is(served.traceId, call.spanContext().traceId)
  t.is(served.parentSpanId, call.spanContext().spanId, 'the worker span is the call span’s child')
  t.is(inner.parentSpanId, served.spanId, 'what the method records is the worker span’s child')
  t.true(Number.isInteger(call.attributes['invoke_parallel.worker.pid']) && call.attributes['invoke_parallel.worker.pid'] > 0)
})

test.serial('a failed call is an error span on both sides', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const worker = await invoke.require('./fixtures/otel-worker', { pool })
  spans.reset()
  await t.throwsAsync(worker.fail(), { message: 'failed on purpose' })
  const call = spans.getFinishedSpans().find((s) => s.name === 'invoke fail')
  t.is(call.status.code, SpanStatusCode.ERROR)
  t.is(call.attributes['invoke_parallel.outcome'], 'rejected')
  const served = (await worker.spans()).find((s) => s.name === 'invoke fail')
  t.is(served.status, SpanStatusCode.ERROR)
  t.is(served.parentSpanId, call.spanContext().spanId)
})

test.serial('metrics: call durations and queue waits, worker starts, deaths and retries', async (t) => {
  const pool = invoke.pool({ limit: 1, onError: () => {} })
  t.teardown(() => pool.close({ force: true }))
  const mine = (attributes) => attributes['invoke_parallel.pool.id'] !== undefined
  const before = await metricPoints()
  const worker = await invoke.require('./fixtures/otel-worker', { pool })
  await Promise.all([worker.work(1), worker.work(2), worker.work(3)])
  await t.throwsAsync(worker({ noRetry: true }).exit())
  const dies = await invoke.require('../../../__test__/fixtures/dies-once', { pool })
  const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'otel-')), 'marker')
  await dies.exitOnce(marker)
  const after = await metricPoints()
  const grew = (name, where = mine) => total(after[name], where) - total(before[name], where)
  t.is(grew('invoke_parallel.call.duration', (a) => a['code.function.name'] === 'work'), 3)
  t.is(grew('invoke_parallel.call.queue_wait', (a) => a['code.function.name'] === 'work'), 3)
  t.is(grew('invoke_parallel.call.duration', (a) => a['invoke_parallel.outcome'] === 'failed'), 1)
  t.is(grew('invoke_parallel.worker.deaths'), 2, 'the exit() and the exitOnce() worker')
  t.is(grew('invoke_parallel.call.retries'), 1, 'exitOnce was sent again once')
  t.true(grew('invoke_parallel.worker.starts') >= 3)
})

test.serial('gauges: each pool’s workers, queued and running calls and utilization while it is open', async (t) => {
  const pool = invoke.pool({ limit: 1, maxPerChild: 1 })
  t.teardown(() => pool.close({ force: true }))
  const worker = await invoke.require('./fixtures/otel-worker', { pool })
  spans.reset()
  const pid = await worker.pid()
  const poolId = spans.getFinishedSpans().find((s) => s.name === 'invoke pid').attributes['invoke_parallel.pool.id']
  const blocked = worker.block()
  const waiting = worker.work(2)
  // The first call holds the only worker until it is released; the second waits behind it.
  while (pool.stats().queued !== 1) await new Promise((resolve) => setImmediate(resolve))
  const points = await metricPoints()
  const mine = (name) => points[name]?.find((p) => p.attributes['invoke_parallel.pool.id'] === poolId)?.value
  t.is(mine('invoke_parallel.pool.workers'), 1)
  t.is(mine('invoke_parallel.pool.queued'), 1)
  t.is(mine('invoke_parallel.pool.running'), 1)
  const utilization = mine('invoke_parallel.pool.utilization')
  t.true(utilization > 0 && utilization <= 1, String(utilization))
  process.kill(pid, 'SIGUSR2')
  await Promise.all([blocked, waiting])
})
