'use strict'
// Compares what arrived with what was sent, the way the README promises: a value as
// structuredClone would copy it (plus Buffers, which stay Buffers), a thrown error by class,
// name, message, own properties and cause. Returns where they first differ, or null.

const TYPED_ARRAYS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
]

/** `actual` against `structuredClone(sent)`; `sent` itself says which Uint8Arrays were Buffers. */
function valueDifference(actual, sent) {
  return differ(actual, structuredClone(sent), sent, 'value', new Map(), new Map())
}

function differ(actual, expected, sent, path, seen, seenBack) {
  if (expected === null || (typeof expected !== 'object' && typeof expected !== 'function')) {
    return Object.is(actual, expected) ? null : `${path}: ${show(actual)} instead of ${show(expected)}`
  }
  if (actual === null || typeof actual !== 'object') return `${path}: ${show(actual)} instead of an object`
  // The same object reached twice must arrive as one object, and two as two.
  if (seen.has(expected)) return seen.get(expected) === actual ? null : `${path}: a shared reference was not kept`
  if (seenBack.has(actual)) return `${path}: two objects arrived as one`
  seen.set(expected, actual)
  seenBack.set(actual, expected)
  const wasBuffer = Buffer.isBuffer(sent)
  const proto = wasBuffer ? Buffer.prototype : Object.getPrototypeOf(expected)
  if (Object.getPrototypeOf(actual) !== proto) {
    return `${path}: a ${actual.constructor?.name} instead of a ${wasBuffer ? 'Buffer' : expected.constructor?.name}`
  }
  if (ArrayBuffer.isView(expected)) {
    const same = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
      Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
    )
    return same ? null : `${path}: different bytes`
  }
  if (expected instanceof ArrayBuffer) return Buffer.from(actual).equals(Buffer.from(expected)) ? null : `${path}: different bytes`
  if (expected instanceof Date) return Object.is(actual.getTime(), expected.getTime()) ? null : `${path}: another time`
  if (expected instanceof RegExp) {
    return actual.source === expected.source && actual.flags === expected.flags ? null : `${path}: /${actual.source}/${actual.flags}`
  }
  if (expected instanceof Map || expected instanceof Set) {
    if (actual.size !== expected.size) return `${path}: ${actual.size} entries instead of ${expected.size}`
    const a = [...actual.entries()]
    const e = [...expected.entries()]
    const s = [...sent.entries()]
    for (let i = 0; i < e.length; i++) {
      const found =
        differ(a[i][0], e[i][0], s[i][0], `${path} entry ${i} key`, seen, seenBack) ||
        differ(a[i][1], e[i][1], s[i][1], `${path} entry ${i} value`, seen, seenBack)
      if (found) return found
    }
    return null
  }
  if (expected instanceof Error) {
    for (const key of ['name', 'message']) {
      if (actual[key] !== expected[key]) return `${path}.${key}: ${show(actual[key])} instead of ${show(expected[key])}`
    }
    if ('cause' in expected) {
      const found = differ(actual.cause, expected.cause, sent.cause, `${path}.cause`, seen, seenBack)
      if (found) return found
    }
  }
  // Arrays: the same holes; everything: the same own keys in the same order, the same values.
  const keys = Object.keys(expected)
  const got = Object.keys(actual)
  if (got.join('\0') !== keys.join('\0')) return `${path}: keys ${show(got)} instead of ${show(keys)}`
  if (Array.isArray(expected) && actual.length !== expected.length) return `${path}: length ${actual.length} instead of ${expected.length}`
  for (const key of keys) {
    const found = differ(actual[key], expected[key], sent[key], `${path}[${show(key)}]`, seen, seenBack)
    if (found) return found
  }
  return null
}

/**
 * A thrown error against what the worker threw: the same native class (another class arrives
 * as Error with its name), name, message, own properties (as values) and cause.
 */
function thrownDifference(actual, thrown, path = 'error') {
  if (!(thrown instanceof Error)) return valueDifference(actual, thrown)
  const native = nativeClass(thrown)
  if (actual?.constructor !== native) return `${path}: a ${actual?.constructor?.name} instead of a ${native.name}`
  for (const key of ['name', 'message']) {
    if (actual[key] !== thrown[key]) return `${path}.${key}: ${show(actual[key])} instead of ${show(thrown[key])}`
  }
  if (!/\n {4}at <invoke-parallel worker, pid \d+>$/.test(actual.stack)) return `${path}.stack is not marked as the worker's`
  for (const key of Object.keys(thrown)) {
    if (key === 'cause' || key === 'errors') continue
    const found = valueDifference(actual[key], thrown[key])
    if (found) return `${path}.${key}: ${found}`
  }
  if ('cause' in thrown) {
    const found = thrownDifference(actual.cause, thrown.cause, `${path}.cause`)
    if (found) return found
  }
  if (thrown instanceof AggregateError) {
    if (actual.errors.length !== thrown.errors.length) return `${path}.errors: ${actual.errors.length} errors`
    for (let i = 0; i < thrown.errors.length; i++) {
      const found = thrownDifference(actual.errors[i], thrown.errors[i], `${path}.errors[${i}]`)
      if (found) return found
    }
  }
  return null
}

function nativeClass(error) {
  for (const ctor of [AggregateError, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
    if (error instanceof ctor) return ctor
  }
  return Error
}

/** Short enough for a failure message, even for a string of megabytes. */
function show(value) {
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} (${JSON.stringify(value.slice(0, 20))}…)` : JSON.stringify(value)
  }
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'symbol') return value.toString()
  if (Array.isArray(value) && value.length <= 8) return `[${value.map(show).join(', ')}]`
  if (value !== null && typeof value === 'object') return `a ${value.constructor?.name ?? 'null-prototype object'}`
  return String(value)
}

module.exports = { valueDifference, thrownDifference, show, TYPED_ARRAYS }
