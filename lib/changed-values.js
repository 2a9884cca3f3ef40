'use strict'
// Arguments that V8's structured clone would not refuse but would change on the way: an instance
// of a class with methods or accessors arrives as a plain object of its own fields, so a URL, an
// AbortSignal, URLSearchParams or Headers (state in internal slots) arrive as `{}` and a class
// instance without its methods. They are refused, named as functions are, rather than sent
// changed. A class instance with only fields (no methods) still travels, as its fields.

const { types } = require('node:util')

/**
 * The most objects looked at per call, nearest the top first, so that a large argument does not
 * pay for a walk of all of it. The common mistake (a URL or a signal passed as an argument, a
 * class instance in a small object) sits near the top. The budget also ends a walk around a cycle.
 */
const BUDGET = 1024

/** What an object's prototype says of it: see `kindOf`. */
const OPAQUE = 0
const MAP = 1
const SET = 2
const FIELDS = 3

/** A prototype -> its kind, or the members its instances lose (many instances of one class are sent at once). */
const kinds = new WeakMap()
const SET_MEMBER = { text: ' (a Set member)' }

/**
 * `{path, kind}` for the first such value within `value` (found at `path`), or null. The walk
 * queues `[value, parent, key]` triples; a path is spelled out only for what is found.
 */
function findChanged(value, path) {
  const queue = [value, -1, path]
  try {
    for (let at = 0; at < queue.length && at < 3 * BUDGET; at += 3) {
      const lost = look(queue[at], at, queue)
      if (lost !== null) return { path: pathOf(queue, at), kind: describe(queue[at], lost) }
    }
  } catch {
    // A Proxy's trap or a getter threw: V8's serializer meets it next and says what it is.
  }
  return null
}

/** What `value` loses (a non-empty array), else null with what it holds queued. */
function look(value, at, queue) {
  if (value === null || typeof value !== 'object') return null
  const proto = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === Array.prototype || proto === null) return queueFields(value, at, queue)
  // V8 refuses a Proxy itself, and its traps are not to be run twice.
  if (types.isProxy(value)) return null
  const kind = kindOf(value, proto)
  if (kind === OPAQUE) return null
  if (kind === MAP) {
    for (const [k, v] of value) queue.push(k, at, { text: ' (a Map key)' }, v, at, { text: `.get(${keyText(k)})` })
    return null
  }
  if (kind === SET) {
    for (const v of value) queue.push(v, at, SET_MEMBER)
    return null
  }
  return kind === FIELDS ? queueFields(value, at, queue) : kind
}

function queueFields(value, at, queue) {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && queue.length < 3 * BUDGET; i++) {
      const member = value[i]
      if (member !== null && typeof member === 'object') queue.push(member, at, i)
    }
    return null
  }
  const keys = Object.keys(value)
  for (let i = 0; i < keys.length && queue.length < 3 * BUDGET; i++) {
    const member = value[keys[i]]
    if (member !== null && typeof member === 'object') queue.push(member, at, keys[i])
  }
  return null
}

/**
 * OPAQUE (V8 keeps it whole: a typed array, a Date, an Error, ...), MAP, SET, FIELDS (arrives as
 * its own fields: another realm's plain object or array, a class without methods), or the methods
 * and accessors it would lose. Checked by kind, not instanceof, so that values from another realm
 * (a vm context, a jest test file) count the same; remembered per prototype.
 */
function kindOf(value, proto) {
  let kind = kinds.get(proto)
  if (kind !== undefined) return kind
  if (types.isArrayBufferView(value) || types.isAnyArrayBuffer(value) || types.isDate(value)) kind = OPAQUE
  else if (types.isRegExp(value) || types.isNativeError(value) || types.isBoxedPrimitive(value)) kind = OPAQUE
  else if (types.isMap(value)) kind = MAP
  else if (types.isSet(value)) kind = SET
  else if (Array.isArray(value)) kind = FIELDS
  else {
    const lost = lostMembers(proto)
    kind = lost.length === 0 ? FIELDS : lost
  }
  kinds.set(proto, kind)
  return kind
}

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

function describe(value, lost) {
  let name = null
  try {
    name = Object.getPrototypeOf(value).constructor?.name
  } catch {}
  const what = typeof name === 'string' && name !== '' ? `an instance of ${name}` : 'a class instance'
  return `${what}, whose ${lost.join(', ')} would not arrive`
}

/**
 * The path of the value queued at `at`: its parent's path, then its own step (an array index, a
 * field's name, or a Map's or Set's step written out). The top's step is the path it was given.
 */
function pathOf(queue, at) {
  const steps = []
  for (let i = at; i !== -1; i = queue[i + 1]) steps.push(queue[i + 1] === -1 ? queue[i + 2] : stepText(queue[i + 2]))
  return steps.reverse().join('')
}

function stepText(step) {
  if (typeof step === 'number') return `[${step}]`
  return typeof step === 'string' ? `.${step}` : step.text
}

function keyText(key) {
  return key !== null && (typeof key === 'object' || typeof key === 'function') ? '<an object>' : String(key)
}

module.exports = { findChanged }
