'use strict'
// A remote call in one OpenTelemetry trace with invoke-parallel-otel and the real SDK: the call's
// span is the child of the caller's, carries the call's wait in the queue and its runs, and its
// context is what the host's worker runs under.

const path = require('node:path')
const { trace } = require('@opentelemetry/api')
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node')
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
const invoke = require('invoke-parallel')
const { instrument } = require('invoke-parallel-otel')
const { remotePool } = require('invoke-parallel-bullmq')
const { fleetTest, fixtures } = require('./helpers/fleet')

const { test, redis, fleet } = fleetTest(__filename, { host: { options: { modules: ['./values.js', './traced.js'] } } })
const { queue } = fleet
const spans = new InMemorySpanExporter()
let instrumentation

test.before(() => {
  new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }).register()
  instrumentation = instrument()
})

test.after.always(() => {
  instrumentation?.disable()
})

test('the call span is the caller’s child, says how long the job waited and how often it ran, and the host’s worker continues it', async (t) => {
  const pool = remotePool({ queue, connection: redis.connection, root: fixtures })
  t.teardown(() => pool.close({ force: true }))
  const traced = await invoke.require(path.join(fixtures, 'traced.js'), { pool })
  spans.reset()
  const tracer = trace.getTracer('fleet test')
  const seen = await tracer.startActiveSpan('request', async (request) => {
    try {
      return await traced.context()
    } finally {
      request.end()
    }
  })
  const finished = spans.getFinishedSpans()
  const request = finished.find((s) => s.name === 'request')
  const call = finished.find((s) => s.name === 'invoke context')
  t.is(call.parentSpanContext.spanId, request.spanContext().spanId)
  t.is(typeof call.attributes['invoke_parallel.queue_wait_ms'], 'number')
  t.is(call.attributes['invoke_parallel.attempt'], 1)
  // The worker on the host ran under the call span's context: one trace across Redis.
  t.is(seen.split('-')[1], call.spanContext().traceId)
  t.is(seen.split('-')[2], call.spanContext().spanId)
})
