'use strict'
// Builds an error from a plain description, `{type, message, props, errors, cause?}` where
// `cause` is `{error: spec}` or `{value}`: the worker builds it from the copy it is sent, the
// test from the original, and the two must arrive alike.

function buildError(spec) {
  const options = spec.cause === undefined ? undefined : { cause: 'error' in spec.cause ? buildError(spec.cause.error) : spec.cause.value }
  const error =
    spec.type === 'AggregateError'
      ? new AggregateError(spec.errors.map(buildError), spec.message, options)
      : new globalThis[spec.type](spec.message, options)
  return Object.assign(error, spec.props)
}

module.exports = { buildError }
