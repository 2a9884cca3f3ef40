'use strict'
// A thrown value that cannot be cloned whole arrives as an Error keeping what can be kept, and
// saying what was left out: never silently replaced.

const test = require('ava')
const invoke = require('..')

let pool
let awkward

test.before(async () => {
  pool = invoke.pool({ limit: 1 })
  awkward = await invoke.require('./fixtures/awkward', { pool })
})
test.after.always(() => pool.close({ force: true }))

test('an error-like object with function fields arrives as an Error with its name, message and cloneable fields', async (t) => {
  const error = await t.throwsAsync(awkward.throwErrorLike())
  t.is(error.constructor, Error)
  t.is(error.name, 'HttpError')
  t.is(error.status, 404)
  t.false('retry' in error)
  t.false('nested' in error)
  t.deepEqual(error.droppedProperties, ['retry', 'nested'])
  t.is(error.message, 'not found')
  t.regex(error.stack, /<invoke-parallel worker, pid \d+>/)
})

test('an Error with a function field keeps its class, code and cause; the function is named, not stringified', async (t) => {
  const error = await t.throwsAsync(awkward.throwErrorWithFunction())
  t.is(error.constructor, RangeError)
  t.is(error.code, 'E_RANGE')
  t.false('onRetry' in error)
  t.deepEqual(error.droppedProperties, ['onRetry'])
  t.is(error.message, 'out of range')
  t.is(error.cause.constructor, Error)
  t.is(error.cause.why, 'odd')
  t.deepEqual(error.cause.droppedProperties, ['fix'])
})

test('a thrown symbol arrives as a TypeError that says what was thrown', async (t) => {
  const error = await t.throwsAsync(awkward.throwSymbol(), { instanceOf: TypeError })
  t.is(error.code, 'ERR_INVOKE_UNSERIALIZABLE')
  t.regex(error.message, /threw a symbol \(Symbol\(thrown\)\)/)
})

test("an error field named __proto__ arrives as a field, not as the error's prototype", async (t) => {
  const error = await t.throwsAsync(awkward.throwProtoField())
  t.is(Object.getPrototypeOf(error), TypeError.prototype)
  t.true(Object.hasOwn(error, '__proto__'))
  t.deepEqual(Object.getOwnPropertyDescriptor(error, '__proto__').value, { kept: true })
})
