import type { MeterProvider, TracerProvider } from '@opentelemetry/api'

export interface Instrumentation {
  /** Unsubscribes from invoke-parallel's channels. */
  disable(): void
}

/**
 * In the parent: a CLIENT span per method call (its parent the caller's active span; its context
 * sent to the worker), a span per module load, and the metrics `invoke_parallel.call.duration`,
 * `invoke_parallel.call.queue_wait` (histograms, seconds), `invoke_parallel.call.retries`,
 * `invoke_parallel.worker.starts` and `invoke_parallel.worker.deaths` (counters), and gauges of
 * each open pool's workers, queued and running calls and utilization. Without
 * providers, OpenTelemetry's global ones.
 */
export function instrument(options?: { tracerProvider?: TracerProvider; meterProvider?: MeterProvider }): Instrumentation

/**
 * In a worker: a SERVER span per call, the child of the caller's span, active while the method
 * runs (what the method records is its child).
 */
export function instrumentWorker(options?: {
  tracerProvider?: TracerProvider
  /** Taken and unused (the worker records no metrics): both functions can share one options object. */
  meterProvider?: MeterProvider
}): Instrumentation
