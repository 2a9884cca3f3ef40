'use strict'
// Errors made by another copy of this package, given this copy's classes. Under jest each test
// file evaluates this package in a vm context of its own, with its own TypeError, but they share
// one global pool (./global-pool.js): the copy that made it builds every error it raises, and a
// worker's rebuilt errors, with the classes of its own file. Another file's
// `expect(call).rejects.toThrow(TypeError)` then failed ("Expected constructor: TypeError,
// Received constructor: TypeError"). What crosses from a pool this copy did not make goes
// through `ownRealm` first.

const { Cancel, Timeout, Retry } = require('./errors')

const NATIVE = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError]
/** class name -> this copy's prototype, for the natives and the library's own classes (by their code). */
const OWN = new Map(NATIVE.map((ctor) => [ctor.name, { prototype: ctor.prototype }]))
for (const [ctor, code] of [
  [Cancel, 'ERR_INVOKE_CANCELLED'],
  [Timeout, 'ERR_INVOKE_TIMEOUT'],
  [Retry, 'ERR_INVOKE_WORKER_DIED'],
]) {
  OWN.set(ctor.name, { prototype: ctor.prototype, code })
}
const NATIVE_SOURCE = /\{\s*\[native code\]\s*\}$/

/**
 * `value` itself, an error of another realm's native class (or another copy's Cancel, Timeout or
 * Retry) moved onto this copy's; its `cause` and `errors` too. Anything else is left as it is.
 */
function ownRealm(value, seen = new Set()) {
  if (value === null || typeof value !== 'object' || seen.has(value)) return value
  seen.add(value)
  // An adapter may reject with anything (a frozen error, a revoked Proxy): that stays as it is.
  try {
    const own = twinOf(value)
    if (own === undefined) return value
    if (own !== Object.getPrototypeOf(value) && Object.isExtensible(value)) Object.setPrototypeOf(value, own)
    const cause = Object.getOwnPropertyDescriptor(value, 'cause')
    if (cause !== undefined && 'value' in cause) ownRealm(cause.value, seen)
    const errors = Object.getOwnPropertyDescriptor(value, 'errors')
    if (errors !== undefined && Array.isArray(errors.value)) for (const error of errors.value) ownRealm(error, seen)
  } catch {}
  return value
}

/** This copy's prototype for `error`'s class, or undefined when it is no class of ours or a realm's. */
function twinOf(error) {
  if (Object.prototype.toString.call(error) !== '[object Error]') return undefined
  const prototype = Object.getPrototypeOf(error)
  const ctor = prototype === null ? undefined : Object.getOwnPropertyDescriptor(prototype, 'constructor')?.value
  if (typeof ctor !== 'function') return undefined
  const own = OWN.get(Object.getOwnPropertyDescriptor(ctor, 'name')?.value)
  if (own === undefined || own.prototype === prototype) return own?.prototype
  const isNative = own.code === undefined && NATIVE_SOURCE.test(Function.prototype.toString.call(ctor))
  const isOurs = own.code !== undefined && Object.getOwnPropertyDescriptor(error, 'code')?.value === own.code
  return isNative || isOurs ? own.prototype : undefined
}

module.exports = { ownRealm }
