'use strict'
// The options of instrument() and instrumentWorker(), checked before anything is subscribed: a
// misspelt provider silently meant the global one, and a wrong one failed deep inside with no code.
// The codes are invoke-parallel's (its README's error table) for the same mistakes.

/** `options` as `{tracerProvider, meterProvider}`, each undefined or what `known` says it must have. */
function checkOptions(name, options, known) {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw optionError('ERR_INVALID_ARG_TYPE', name, 'options must be an object')
  }
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(known, key)) {
      throw optionError('ERR_INVALID_ARG_VALUE', name, `unknown option "${key}" (it takes ${Object.keys(known).join(', ')})`)
    }
  }
  for (const [key, method] of Object.entries(known)) {
    const value = options[key]
    if (value !== undefined && value !== null && typeof value?.[method] !== 'function') {
      throw optionError('ERR_INVALID_ARG_TYPE', name, `${key} must be an OpenTelemetry ${key} (with a ${method} method)`)
    }
  }
  return options
}

function optionError(code, name, detail) {
  const error = new TypeError(`invoke-parallel-otel: ${name}: ${detail}`)
  error.code = code
  return error
}

module.exports = { checkOptions }
