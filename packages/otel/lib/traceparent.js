'use strict'
// W3C trace context's traceparent header, to and from an OpenTelemetry SpanContext: all that
// crosses into a worker with a call (invoke-parallel checks the format again before sending).

const { trace, ROOT_CONTEXT, TraceFlags } = require('@opentelemetry/api')

const FORMAT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

function format({ traceId, spanId, traceFlags }) {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`
}

/** The remote parent's context, or ROOT_CONTEXT for no (or no valid) traceparent. */
function parentContext(traceparent) {
  const m = typeof traceparent === 'string' ? FORMAT.exec(traceparent) : null
  if (m === null) return ROOT_CONTEXT
  const spanContext = {
    traceId: m[1],
    spanId: m[2],
    traceFlags: Number.parseInt(m[3], 16) & TraceFlags.SAMPLED,
    isRemote: true,
  }
  return trace.setSpanContext(ROOT_CONTEXT, spanContext)
}

module.exports = { format, parentContext }
