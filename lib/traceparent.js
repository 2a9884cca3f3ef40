'use strict'
// W3C trace context's `traceparent`, as far as a call carries it into its worker.

// Version 00's fields; later versions may add fields after these, which are dropped.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/
const ZEROS = /^0+$/

/** The header's first four fields, or undefined for anything that is not a traceparent. */
function validTraceparent(value) {
  if (typeof value !== 'string' || value.length > 512) return undefined
  const m = TRACEPARENT.exec(value)
  if (m === null || m[1] === 'ff' || ZEROS.test(m[2]) || ZEROS.test(m[3])) return undefined
  return `${m[1]}-${m[2]}-${m[3]}-${m[4]}`
}

module.exports = { validTraceparent }
