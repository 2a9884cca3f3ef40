'use strict'
// Arguments that V8's structured clone would not refuse but would change on the way: an instance
// of a class with methods or accessors arrives as a plain object of its own fields, so a URL, an
// AbortSignal, URLSearchParams or Headers (state in internal slots) arrive as `{}` and a class
// instance without its methods. They are refused, named as functions are, rather than sent
// changed. A class instance with only fields (no methods) still travels, as its fields.

const { types } = require('node:util')

/**
 * The most objects looked at per call, nearest the top first: a full walk of a large argument
 * costs about as much as V8's serializing it. The common mistake (a URL or a signal passed as an
 * argument, a class instance in a small object) sits near the top.
 */
const BUDGET = 1024

/** `{path, kind}` for the first such value within `value` (found at `path`), or null. */
function findChanged(value, path) {
  const seen = new Set()
  const queue = [value, path]
  try {
    for (let at = 0; at < queue.length && seen.size < BUDGET; at += 2) {
      const found = look(queue[at], queue[at + 1], seen, queue)
      if (found !== null) return found
    }
  } catch {
    // A Proxy's trap or a getter threw: V8's serializer meets it next and says what it is.
  }
  return null
}

/** A finding for `value` itself, else null, with what it holds queued for a later look. */
function look(value, path, seen, queue) {
  if (value === null || typeof value !== 'object' || seen.has(value)) return null
  seen.add(value)
  // V8 refuses a Proxy itself, and its traps are not to be run twice.
  if (types.isProxy(value)) return null
  const proto = Object.getPrototypeOf(value)
  // The common case first, without asking V8 what kind of object this is.
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
    const found = lookByKind(value, proto, path, queue)
    if (found !== undefined) return found
  }
  const array = Array.isArray(value)
  for (const key in value) {
    if (queue.length >= 2 * BUDGET) break
    if (!Object.hasOwn(value, key)) continue
    const member = value[key]
    if (member !== null && typeof member === 'object') queue.push(member, array ? `${path}[${key}]` : `${path}.${key}`)
  }
  return null
}

/**
 * For an object of another class or realm: null when it arrives unchanged (its entries, if a Map
 * or Set, queued), a finding, or undefined when its own fields are to be looked at next.
 */
function lookByKind(value, proto, path, queue) {
  // Checked by kind, not instanceof: values from another realm (a vm context, a jest test file)
  // count the same.
  if (types.isArrayBufferView(value) || types.isAnyArrayBuffer(value) || types.isDate(value)) return null
  if (types.isRegExp(value) || types.isNativeError(value) || types.isBoxedPrimitive(value)) return null
  if (types.isMap(value)) {
    for (const [k, v] of value) queue.push(k, `${path} (a Map key)`, v, `${path}.get(${keyText(k)})`)
    return null
  }
  if (types.isSet(value)) {
    for (const v of value) queue.push(v, `${path} (a Set member)`)
    return null
  }
  if (Array.isArray(value)) return undefined
  let lost = lostByPrototype.get(proto)
  if (lost === undefined) {
    lost = lostMembers(proto)
    lostByPrototype.set(proto, lost)
  }
  if (lost.length === 0) return undefined
  const name = className(proto)
  return { path, kind: `${name === null ? 'a class instance' : `an instance of ${name}`}, whose ${lost.join(', ')} would not arrive` }
}

/** A prototype -> what its instances lose (many instances of one class are sent at once). */
const lostByPrototype = new WeakMap()

/** The methods and accessors from `first` up to Object.prototype (not included), up to 3. */
function lostMembers(first) {
  const lost = []
  for (let proto = first; proto !== null; proto = Object.getPrototypeOf(proto)) {
    // Some realm's Object.prototype: the end of a class's chain.
    if (Object.getPrototypeOf(proto) === null) break
    for (const key of Reflect.ownKeys(proto)) {
      if (key === 'constructor' || key === Symbol.toStringTag) continue
      const descriptor = Object.getOwnPropertyDescriptor(proto, key)
      if (typeof descriptor.value !== 'function' && descriptor.get === undefined && descriptor.set === undefined) continue
      if (lost.length === 3) return [...lost, '...']
      const name = typeof key === 'symbol' ? key.toString() : key
      lost.push(`${typeof descriptor.value === 'function' ? 'method' : 'accessor'} ${name}`)
    }
  }
  return lost
}

function className(proto) {
  try {
    const name = proto.constructor?.name
    return typeof name === 'string' && name !== '' ? name : null
  } catch {
    return null
  }
}

function keyText(key) {
  return key !== null && (typeof key === 'object' || typeof key === 'function') ? '<an object>' : String(key)
}

module.exports = { findChanged }
