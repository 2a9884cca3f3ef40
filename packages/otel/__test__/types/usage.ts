// Type check of invoke-parallel-otel's declarations as a user writes against them.
import { metrics, trace } from '@opentelemetry/api'
import { instrument, instrumentWorker, type Instrumentation } from 'invoke-parallel-otel'
import invoke = require('invoke-parallel')

const parent: Instrumentation = instrument({ tracerProvider: trace.getTracerProvider(), meterProvider: metrics.getMeterProvider() })
const worker: Instrumentation = instrumentWorker()
parent.disable()
worker.disable()
instrument()

const stats = invoke.pool().stats()
const p99: number = stats.runTime.p99 + stats.waitTime.p50
const utilization: number = stats.utilization
console.log(p99, utilization)

// @ts-expect-error: a tracer provider is not a meter provider
instrument({ meterProvider: trace.getTracerProvider() })
