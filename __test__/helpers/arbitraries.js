'use strict'
// Generated values of every kind the README says cross between processes.

const fc = require('fast-check')
const { TYPED_ARRAYS } = require('./same-value')

const NATIVE_ERRORS = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError']

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit))
/** Text drawn from all of Unicode, with lone surrogates and the characters JSON escapes. */
const text = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: codeUnit },
    { weight: 1, arbitrary: fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', 'é', '😀', '\ud800', '\udfff') },
  ),
  maxLength: 40,
})

const REGEXP_SOURCES = ['', 'a+b', '^\\d{2,}$', '(?<word>\\w+)\\s\\k<word>', '[é😀]', '\\/path\\/', '.*?']
const regexp = fc
  .tuple(fc.constantFrom(...REGEXP_SOURCES), fc.subarray(['d', 'g', 'i', 'm', 's', 'u', 'y']))
  .map(([source, flags]) => new RegExp(source, flags.join('')))

const bytes = fc.uint8Array({ maxLength: 64 })
const typedArray = fc.oneof(
  ...TYPED_ARRAYS.map((Ctor) =>
    fc
      .uint8Array({ maxLength: 8 * 8 })
      .map((raw) => new Ctor(raw.buffer, 0, Math.floor(raw.length / Ctor.BYTES_PER_ELEMENT))),
  ),
)

class Point {
  constructor(x) {
    this.x = x
  }
}

const leaf = fc.oneof(
  text,
  fc.double(),
  fc.constantFrom(-0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER + 2),
  fc.integer(),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date({ noInvalidDate: false }),
  regexp,
  typedArray,
  bytes.map((b) => Buffer.from(b)),
  bytes.map((b) => b.buffer),
  fc.tuple(fc.constantFrom(...NATIVE_ERRORS), text).map(([type, message]) => new globalThis[type](message)),
)

/** Values nested in every container: arrays (sparse too), objects, Maps, Sets, shared and cyclic references. */
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('container')),
  container: fc.oneof(
    fc.array(tie('value'), { maxLength: 6 }),
    fc.sparseArray(tie('value'), { maxLength: 12, maxNumElements: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 6 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 4 }).map((members) => new Set(members)),
    tie('value').map((shared) => [shared, { again: shared }]),
    tie('value').map((inner) => {
      const cyclic = { inner }
      cyclic.self = cyclic
      return cyclic
    }),
    tie('value').map((inner) => {
      const cyclic = new Map([['inner', inner]])
      cyclic.set(cyclic, [cyclic])
      return cyclic
    }),
    tie('value').map((x) => new Point(x)),
    fc.tuple(text, tie('value')).map(([message, cause]) => new Error(message, { cause })),
  ),
}))

/** Property names an error can carry as its own fields. */
const errorKey = text.filter((key) => !['name', 'message', 'stack', 'cause', 'errors', '__proto__', 'droppedProperties'].includes(key))

/** What `throwError` in fixtures/mirror.js builds an error from (helpers/error-spec.js), `levels` of causes deep. */
function errorSpecOf(levels) {
  const inner = levels === 0 ? null : errorSpecOf(levels - 1)
  return fc.record(
    {
      type: fc.constantFrom(...NATIVE_ERRORS, 'AggregateError'),
      message: text,
      props: fc
        .tuple(fc.dictionary(errorKey, value, { maxKeys: 3, noNullPrototype: true }), fc.option(fc.oneof(text, fc.integer())))
        .map(([props, code]) => (code === null ? props : { ...props, code })),
      cause: inner === null ? value.map((v) => ({ value: v })) : fc.oneof(value.map((v) => ({ value: v })), inner.map((error) => ({ error }))),
      errors: inner === null ? fc.constant([]) : fc.array(inner, { maxLength: 2 }),
    },
    { requiredKeys: ['type', 'message', 'props', 'errors'] },
  )
}
const errorSpec = errorSpecOf(2)

/** Text mixing scripts of every UTF-8 length: real documents, not just random code points. */
const mixedText = fc.string({
  unit: fc.oneof(fc.constantFrom('a', 'Z', ' ', 'é', 'ж', '─', '中', '😀', 'ÿ', '"', '\\', '\n'), text.filter((t) => t.length === 1)),
  maxLength: 80,
})

/** Values JSON carries exactly (so they take the JSON path): objects, arrays, text, finite numbers, booleans, null. */
const { jsonValue } = fc.letrec((tie) => ({
  jsonValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    mixedText,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('jsonValue'), { maxLength: 8 }),
    fc.dictionary(mixedText, tie('jsonValue'), { maxKeys: 6 }),
  ),
}))

module.exports = { text, value, jsonValue, errorSpec, NATIVE_ERRORS }
