'use strict'
// How values cross between parent and worker: V8's structured clone (v8.serialize), so Map, Set,
// Date, RegExp, BigInt, typed arrays, Buffers and cycles survive. Small values that JSON carries
// exactly (plain objects and arrays of strings, finite numbers, booleans and null) take JSON
// instead, which is several times cheaper; a decoder tells the two apart by the first byte (V8's
// format starts with 0xFF, JSON text never does). A large string travels as its raw bytes, as the
// whole value or as an argument (V8 takes ~5 times longer to rebuild one). Thrown errors travel as
// plain descriptions and are rebuilt with their native class on the other side.

const v8 = require('node:v8')
const { makeError, makeErrorWithCause, isCodedError } = require('./errors')
const { findChanged } = require('./changed-values')

const NATIVE_ERRORS = new Map(
  [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError, AggregateError].map(
    (ctor) => [ctor.name, ctor],
  ),
)
const NATIVE_PROTOTYPES = new Map([...NATIVE_ERRORS].map(([name, ctor]) => [ctor.prototype, name]))
/**
 * A thrown value travels as a graph of error descriptions (an error's `cause` and `errors` are
 * descriptions too), each error described once however often it is reached, so shared stays
 * shared and a cycle is a cycle. The worker describes at most THROWN_MAX_ERRORS errors nested at
 * most THROWN_MAX_DEPTH deep; past that, an error travels as V8 clones it (class, message,
 * stack, cause; no other fields), and what V8 cannot clone there (a chain too deep for its
 * serializer, a cause that is a function) as one stand-in: a description within the bounds, a
 * value past them (the parent would refuse a description deeper than it rebuilds). The parent refuses a description past those bounds as a
 * broken answer (code ERR_INVOKE_BAD_ANSWER): it can only be forged, and rebuilding it is what
 * would cost the parent.
 */
const THROWN_MAX_DEPTH = 16
const THROWN_MAX_ERRORS = 1000
/** Sent as an error's own fields, not among its other properties. */
const TEXT_PROPERTIES = new Set(['name', 'message', 'stack'])
const V8_FORMAT = 0xff
/** The value is one string; its Latin-1 bytes follow. */
const RAW_STRING = 0xfe
/** A call whose large string arguments come first, raw; then the call, with null in their places. */
const WITH_STRINGS = 0xfd
/** From this length on, a string that fits Latin-1 travels raw. */
const RAW_MIN = 16 * 1024
/** V8 knows a one-byte string has no such character, so testing one is free. */
const BEYOND_LATIN1 = /[^\x00-\xff]/
/** Larger values go through V8 (checking them would cost more than JSON saves). */
const JSON_MAX_NODES = 256
const JSON_MAX_DEPTH = 8
/** Past this many characters of strings, V8's raw copy beats JSON's escaping and re-encoding. */
const JSON_MAX_TEXT = 4096
/**
 * More than `encode` ever writes as JSON: its text escaped (6 bytes a character at most) and its
 * nodes (a number is at most 24 characters, plus punctuation), with room to spare.
 */
const JSON_MAX_BYTES = 2 * (JSON_MAX_TEXT * 6 + JSON_MAX_NODES * 32)

/**
 * Serializes `value`; a value that cannot be cloned becomes a TypeError that says where in
 * `what` (e.g. "result") the offending function or symbol sits. With `text`, JSON comes back as
 * a string, anything else as a Buffer.
 */
function encode(value, what, text = false) {
  if (isRawString(value)) {
    const bytes = Buffer.allocUnsafe(1 + value.length)
    bytes[0] = RAW_STRING
    bytes.write(value, 1, 'latin1')
    return bytes
  }
  return encodeInspecting(value, value, what, fitsJson(value), text)
}

function isRawString(value) {
  return typeof value === 'string' && value.length >= RAW_MIN && !BEYOND_LATIN1.test(value)
}

/**
 * A call's payload: `[method, args]`, with errors located within `args`. JSON comes back as a
 * string (the native side takes it as is), anything else as a Buffer.
 */
function encodeCall(method, args, traceparent) {
  try {
    return encodeCallAsIs(method, args, traceparent)
  } catch (err) {
    throw unreadable(err, 'arguments')
  }
}

/**
 * What reading the arguments threw (a getter, a Proxy's trap, a revoked Proxy) as a refusal to
 * send them, with a code, the thrown value as its `cause`: invoke.map then tells an item that
 * cannot be sent from a method that threw, and fails that item alone.
 */
function unreadable(err, what) {
  // The library's own refusals (and Node's, as from a socket that cannot move) are kept as they are.
  if (isCodedError(err)) return err
  let detail = 'reading them threw'
  // What was thrown may itself throw when looked at (a Proxy): it is only named, never trusted.
  try {
    detail = err instanceof Error ? `reading them threw ${err.name}: ${err.message}` : `reading them threw ${typeof err}`
  } catch {}
  return makeErrorWithCause('ERR_INVOKE_UNSERIALIZABLE', err, what, detail)
}

function encodeCallAsIs(method, args, traceparent) {
  let raw = null
  for (let i = 0; i < args.length; i++) if (isRawString(args[i])) (raw ??= []).push(i)
  // A traced call's W3C traceparent travels as a third element (lib/tracing.js).
  const call = traceparent === undefined ? [method, args] : [method, args, traceparent]
  if (raw === null) return encodeInspecting(call, args, 'arguments', argsFitJson(args), true)
  const rest = args.slice()
  let size = 5
  for (const i of raw) {
    size += 8 + args[i].length
    rest[i] = null
  }
  const body = encodeInspecting(traceparent === undefined ? [method, rest] : [method, rest, traceparent], rest, 'arguments', argsFitJson(rest))
  const bytes = Buffer.allocUnsafe(size + body.length)
  bytes[0] = WITH_STRINGS
  bytes.writeUInt32LE(raw.length, 1)
  let at = 5
  for (const i of raw) {
    bytes.writeUInt32LE(i, at)
    bytes.writeUInt32LE(args[i].length, at + 4)
    at += 8 + bytes.write(args[i], at + 8, 'latin1')
  }
  body.copy(bytes, at)
  return bytes
}

/** `value` as JSON when `asJson` (a string with `text`), else V8's format, errors located in `inspected`. */
function encodeInspecting(value, inspected, what, asJson, text = false) {
  if (asJson) {
    const json = JSON.stringify(value)
    return text ? json : Buffer.from(json)
  }
  // What JSON takes arrives unchanged; V8 would carry a class instance without its class.
  if (what === 'arguments') {
    const changed = findChanged(inspected, what)
    if (changed !== null) throw makeError('ERR_INVOKE_UNSERIALIZABLE', what, `${changed.path} is ${changed.kind}`)
  }
  try {
    return v8.serialize(value)
  } catch (err) {
    const where = locateUncloneable(inspected, what)
    const detail = where ? `${where.path} is ${where.kind}` : err.message
    throw makeError('ERR_INVOKE_UNSERIALIZABLE', what, detail)
  }
}

/**
 * The value encoded in `buffer[start, end)`. With `lent`, the bytes are reused afterwards: V8's
 * deserializer makes typed arrays and Buffers views of its input, so it gets a copy.
 */
function decode(buffer, start = 0, end = buffer.length, lent = false) {
  const tag = buffer[start]
  if (tag === RAW_STRING) return buffer.toString('latin1', start + 1, end)
  if (tag === WITH_STRINGS) return decodeWithStrings(buffer, start, end, lent)
  if (tag !== V8_FORMAT) return JSON.parse(buffer.toString('utf8', start, end))
  return deserialize(buffer.subarray(start, end), lent)
}

/**
 * V8's deserializer makes each typed array, Buffer and DataView a view of its input: a small one
 * kept by its receiver held the whole read buffer (64 KiB in a worker) or a piece of Node's 8 KiB
 * Buffer pool. A view is given bytes of its own when its input is more than twice its size, and
 * always when the input is `lent` (reused afterwards); nothing else it makes refers to the input.
 */
class OwnViews extends v8.DefaultDeserializer {
  #lent

  constructor(bytes, lent) {
    super(bytes)
    this.#lent = lent
  }

  _readHostObject() {
    const view = super._readHostObject()
    if (!ArrayBuffer.isView(view) || (!this.#lent && view.buffer.byteLength <= 2 * view.byteLength)) return view
    if (Buffer.isBuffer(view)) {
      const own = Buffer.allocUnsafeSlow(view.length)
      view.copy(own)
      return own
    }
    if (view instanceof DataView) return new DataView(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength))
    return view.slice()
  }
}

function deserialize(bytes, lent = false) {
  const deserializer = new OwnViews(bytes, lent)
  deserializer.readHeader()
  return deserializer.readValue()
}

/**
 * A worker's result or stream item: what `decode` reads, except what `encode` never writes: a
 * call's layout, or JSON longer than its budgets allow (a forged JSON of nested brackets takes
 * JSON.parse ~300 ns a byte; V8's format refuses deep nesting at once).
 */
function decodeAnswer(buffer, start = 0, end = buffer.length, lent = false) {
  const tag = buffer[start]
  if (tag === WITH_STRINGS) throw makeError('ERR_INVOKE_BAD_ANSWER', 'the worker answered in the layout of a call')
  if (tag !== V8_FORMAT && tag !== RAW_STRING && end - start > JSON_MAX_BYTES) {
    throw makeError('ERR_INVOKE_BAD_ANSWER', `the worker answered with ${end - start} bytes of JSON, more than it ever sends`)
  }
  return decode(buffer, start, end, lent)
}

/** Whether `decode` leaves nothing that refers to `bytes` (it copies them into strings). */
function decodesToCopy(bytes) {
  const tag = bytes[0]
  return tag !== V8_FORMAT && tag !== WITH_STRINGS
}

/** A call encoded with its large string arguments ahead: `[method, args]` (or `[method, args, traceparent]`). */
function decodeWithStrings(buffer, start, end, lent) {
  const strings = []
  let at = start + 5
  for (let n = buffer.readUInt32LE(start + 1); n > 0; n--) {
    const index = buffer.readUInt32LE(at)
    const length = buffer.readUInt32LE(at + 4)
    strings.push(index, buffer.toString('latin1', at + 8, at + 8 + length))
    at += 8 + length
  }
  const call = decode(buffer, at, end, lent)
  for (let i = 0; i < strings.length; i += 2) call[1][strings[i]] = strings[i + 1]
  return call
}

function fitsJson(value) {
  return jsonExact(value, 0, { nodes: 0, text: 0, seen: new Set() })
}

/** `fitsJson([method, args])`, for `args` an array of our own (its shape needs no check). */
function argsFitJson(args) {
  const budget = { nodes: 0, text: 0, seen: new Set() }
  for (let i = 0; i < args.length; i++) if (!jsonExact(args[i], 1, budget)) return false
  return true
}

/**
 * Whether JSON round-trips `value` exactly: no undefined, -0, NaN, Infinity, holes, class
 * instances, toJSON methods or shared references — and small enough to be worth checking.
 */
function jsonExact(value, depth, budget) {
  if (++budget.nodes > JSON_MAX_NODES) return false
  switch (typeof value) {
    case 'string':
      budget.text += value.length
      return budget.text <= JSON_MAX_TEXT
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0)
    case 'object': {
      if (value === null) return true
      // JSON would copy an object reached twice; V8 keeps it one object.
      if (depth >= JSON_MAX_DEPTH || budget.seen.has(value)) return false
      budget.seen.add(value)
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype) return false
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !jsonExact(value[i], depth + 1, budget)) return false
        }
        return Object.keys(value).length === value.length
      }
      const proto = Object.getPrototypeOf(value)
      if ((proto !== Object.prototype && proto !== null) || 'toJSON' in value) return false
      for (const key in value) {
        budget.text += key.length
        if (budget.text > JSON_MAX_TEXT) return false
        if (!Object.hasOwn(value, key) || !jsonExact(value[key], depth + 1, budget)) return false
      }
      return true
    }
    default:
      return false
  }
}

/**
 * Where in `value` a function or symbol is, or null; null too when looking fails: a value nested
 * deeper than the stack (V8 refused it for that), or a getter that throws. The caller's error
 * then says what V8 said, with its code.
 */
function locateUncloneable(value, path) {
  try {
    return findUncloneable(value, path, new Set())
  } catch {
    return null
  }
}

function findUncloneable(value, path, seen) {
  if (typeof value === 'function') return { path, kind: `a function (${value.name || 'anonymous'})` }
  if (typeof value === 'symbol') return { path, kind: `a symbol (${value.toString()})` }
  if (value === null || typeof value !== 'object' || seen.has(value)) return null
  seen.add(value)
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const found = findUncloneable(k, `${path} (a Map key)`, seen) || findUncloneable(v, `${path}.get(${keyText(k)})`, seen)
      if (found) return found
    }
    return null
  }
  if (value instanceof Set) {
    for (const v of value) {
      const found = findUncloneable(v, `${path} (a Set member)`, seen)
      if (found) return found
    }
    return null
  }
  for (const key of Object.keys(value)) {
    const found = findUncloneable(value[key], Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen)
    if (found) return found
  }
  return null
}

/** A Map key, as a path shows it: an object key may have no string form at all. */
function keyText(key) {
  return key !== null && (typeof key === 'object' || typeof key === 'function') ? '<an object>' : String(key)
}

/**
 * Worker side: a thrown value as bytes. It never throws, whatever was thrown: a getter that
 * throws, or a part that cannot be cloned, is left out and named in what arrives.
 */
function encodeThrown(thrown) {
  try {
    return v8.serialize(describeThrown(thrown, { described: new Map(), errors: 0, cut: null, deepCut: null }, 0))
  } catch {
    return v8.serialize(unsendable('something'))
  }
}

/** `state`: what was described already (by identity), how many errors, the one stand-in past the bounds. */
function describeThrown(thrown, state, depth) {
  const known = state.described.get(thrown)
  if (known !== undefined) return known
  const within = depth <= THROWN_MAX_DEPTH && state.errors < THROWN_MAX_ERRORS - 1
  if (!isError(thrown) || !within) {
    if (cloneable(thrown)) return remember(state, thrown, { kind: 'value', value: thrown })
    // One description stands for everything past the bounds that V8 cannot clone.
    // Past the depth, the stand-in is a value: the parent rebuilds no description that deep.
    if (!within) return depth > THROWN_MAX_DEPTH ? (state.deepCut ??= leftOutValue()) : (state.cut ??= leftOut())
    if (thrown === null || typeof thrown !== 'object') {
      state.errors++
      return remember(state, thrown, unsendable(kindOf(thrown)))
    }
  }
  state.errors++
  // An Error, or an error-like object that cannot be cloned whole: it arrives as an Error with
  // what can be kept.
  const dropped = []
  const props = {}
  for (const key of ownKeys(thrown, dropped)) {
    if (TEXT_PROPERTIES.has(key) || key === 'cause' || key === 'errors') continue
    const read = readProperty(thrown, key, dropped)
    if (read.ok) defineField(props, key, read.value)
  }
  const description = {
    kind: 'error',
    native: nativeClassOf(thrown),
    name: textProperty(thrown, 'name', dropped) ?? 'Error',
    message: textProperty(thrown, 'message', dropped) ?? '',
    stack: stackOf(thrown, dropped),
    pid: process.pid,
    props,
  }
  // Known before its cause and errors are described: a cycle comes back to it.
  remember(state, thrown, description)
  if (hasProperty(thrown, 'cause')) {
    const read = readProperty(thrown, 'cause', dropped, false)
    if (read.ok) description.cause = describeThrown(read.value, state, depth + 1)
  }
  if (hasProperty(thrown, 'errors')) {
    const read = readProperty(thrown, 'errors', dropped, false)
    if (read.ok && Array.isArray(read.value)) description.errors = describeErrors(read.value, state, depth + 1)
  }
  if (dropped.length > 0) {
    // The message stays as thrown: what was left out is said in droppedProperties alone, unless
    // the message itself could not be read.
    description.dropped = dropped.map((d) => d.key)
    if (dropped.some((d) => d.key === 'message')) {
      description.message = `invoke-parallel: the message could not be read (${dropped.map((d) => d.why).join('; ')})`
    }
  }
  return description
}

function remember(state, thrown, description) {
  if (thrown !== null && (typeof thrown === 'object' || typeof thrown === 'function')) state.described.set(thrown, description)
  return description
}

/** An `errors` array described index by index: a hole or a getter reads as `errors[i]` does. */
function describeErrors(errors, state, depth) {
  const described = []
  try {
    for (let i = 0; i < errors.length; i++) described.push(describeThrown(errors[i], state, depth))
  } catch {}
  return described
}

const LEFT_OUT = `invoke-parallel: an error past ${THROWN_MAX_ERRORS} errors or ${THROWN_MAX_DEPTH} levels of nesting that V8 cannot clone was left out`

function leftOut() {
  const description = unsendable('something')
  description.message = LEFT_OUT
  return description
}

/** The same as a value V8 clones (a TypeError with that message; its code cannot travel that way). */
function leftOutValue() {
  const error = new TypeError(LEFT_OUT)
  error.stack = `TypeError: ${LEFT_OUT}`
  return { kind: 'value', value: error }
}

/** The description of a thrown function or symbol: nothing of it can cross. */
function unsendable(kind) {
  return {
    kind: 'error',
    native: 'TypeError',
    name: 'TypeError',
    message: `invoke-parallel: the worker threw ${kind}, which cannot be sent between processes`,
    pid: process.pid,
    props: { code: 'ERR_INVOKE_UNSERIALIZABLE' },
  }
}

function kindOf(value) {
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`
  if (typeof value === 'symbol') return `a symbol (${String(value)})`
  return `a ${typeof value}`
}

function isError(value) {
  try {
    return value instanceof Error
  } catch {
    return false
  }
}

function hasProperty(object, key) {
  try {
    return key in object
  } catch {
    return false
  }
}

function ownKeys(object, dropped) {
  try {
    return Object.keys(object)
  } catch {
    dropped.push({ key: '*', why: 'its properties could not be listed' })
    return []
  }
}

/** `object[key]` if it can be read (and, with `clone`, cloned); else why not goes in `dropped`. */
function readProperty(object, key, dropped, clone = true) {
  let value
  try {
    value = object[key]
  } catch {
    dropped.push({ key, why: `reading ${key} threw` })
    return { ok: false }
  }
  if (clone && !cloneable(value)) {
    const where = locateUncloneable(value, key)
    dropped.push({ key, why: where ? `${where.path} is ${where.kind}` : `${key} cannot be cloned` })
    return { ok: false }
  }
  return { ok: true, value }
}

function stackOf(object, dropped) {
  const read = readProperty(object, 'stack', dropped, false)
  return read.ok && typeof read.value === 'string' ? read.value : undefined
}

/** A name or message as text; undefined when absent or unreadable. */
function textProperty(object, key, dropped) {
  const read = readProperty(object, key, dropped, false)
  if (!read.ok || read.value === undefined) return undefined
  if (typeof read.value === 'string') return read.value
  try {
    return String(read.value)
  } catch {
    dropped.push({ key, why: `${key} could not be made a string` })
    return undefined
  }
}

function nativeClassOf(error) {
  try {
    for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
      const name = NATIVE_PROTOTYPES.get(proto)
      if (name) return name
    }
  } catch {}
  return 'Error'
}

function cloneable(value) {
  try {
    v8.serialize(value)
    return true
  } catch {
    return false
  }
}

function defineField(object, key, value) {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true })
}

/** Parent side: the bytes of a thrown value, rebuilt; a description no worker makes throws ERR_INVOKE_BAD_ANSWER. */
function decodeThrown(buffer) {
  return reviveThrown(deserialize(buffer), { revived: new Map(), errors: 0, parts: new Set() }, 0)
}

/**
 * `description` rebuilt, each description once (by identity, in the order the worker described
 * them, so the depth at which one is first met is the worker's), within the worker's bounds.
 * Nothing here converts a received object to text: a sparse array's toString alone can take
 * minutes.
 */
function reviveThrown(description, state, depth) {
  if (description === null || typeof description !== 'object') throw badThrown('a description that is not an object')
  if (description.kind === 'value') return description.value
  if (description.kind !== 'error') throw badThrown('a description of no known kind')
  const known = state.revived.get(description)
  if (known !== undefined) return known
  if (depth > THROWN_MAX_DEPTH) throw badThrown(`errors nested deeper than ${THROWN_MAX_DEPTH}`)
  if (++state.errors > THROWN_MAX_ERRORS) throw badThrown(`more than ${THROWN_MAX_ERRORS} errors`)
  const name = textField(description, 'name') ?? 'Error'
  const message = textField(description, 'message') ?? ''
  const Native = NATIVE_ERRORS.get(textField(description, 'native')) || Error
  const error = Native === AggregateError ? new AggregateError([], message) : new Native(message)
  state.revived.set(description, error)
  if (error.name !== name) Object.defineProperty(error, 'name', { value: name, writable: true, configurable: true })
  const { props } = description
  if (props !== undefined) {
    if (props === null || typeof props !== 'object') throw badThrown('fields that are not an object')
    onlyPart(state, props)
    // Defined, not assigned: a field named __proto__ is a field, not the error's prototype.
    for (const key of Object.keys(props)) defineField(error, key, props[key])
  }
  if (description.dropped !== undefined) error.droppedProperties = textList(onlyPart(state, description.dropped))
  if ('cause' in description) {
    const cause = reviveThrown(description.cause, state, depth + 1)
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true })
  }
  if ('errors' in description) {
    const list = description.errors
    if (!isDenseArray(list)) throw badThrown('errors that are not a dense array')
    onlyPart(state, list)
    const errors = []
    for (let i = 0; i < list.length; i++) errors.push(reviveThrown(list[i], state, depth + 1))
    // An AggregateError's own `errors` is not enumerable; another error's was a field.
    Object.defineProperty(error, 'errors', { value: errors, writable: true, configurable: true, enumerable: Native !== AggregateError })
  }
  // The stack is the worker's (a thrown object without one gets its first line), marked so
  // nobody goes looking for those frames in the parent.
  const stack = textField(description, 'stack') || `${name}: ${message}`
  const pid = Number.isSafeInteger(description.pid) ? description.pid : '?'
  error.stack = `${stack}\n    at <invoke-parallel worker, pid ${pid}>`
  return error
}

/**
 * `part` (an error's fields, its dropped names, its errors list), which must be that error's
 * own: the worker makes each anew, and one shared by many errors would be walked once per error,
 * a cost its bytes do not show.
 */
function onlyPart(state, part) {
  if (state.parts.has(part)) throw badThrown('fields or a list shared by two errors')
  state.parts.add(part)
  return part
}

function badThrown(what) {
  return makeError('ERR_INVOKE_BAD_ANSWER', `the worker's thrown value could not be read: it has ${what}`)
}

/** A description's text field: a string, or undefined if absent; anything else is a forgery. */
function textField(description, key) {
  const value = description[key]
  if (value === undefined || typeof value === 'string') return value
  throw badThrown(`a ${key} that is not text`)
}

function textList(list) {
  if (!isDenseArray(list) || !list.every((item) => typeof item === 'string')) throw badThrown('dropped fields that are not names')
  return list
}

/**
 * Whether `value` is an array with every index up to its length present. Checked by counting
 * keys (V8 lists only the present ones of a sparse array), never by walking the length: a
 * received sparse array can claim 2^32 - 1 elements in 15 bytes.
 */
function isDenseArray(value) {
  return Array.isArray(value) && Object.keys(value).length === value.length
}

module.exports = {
  encode,
  encodeCall,
  unreadable,
  decode,
  decodeAnswer,
  decodesToCopy,
  encodeThrown,
  decodeThrown,
  isDenseArray,
  THROWN_MAX_DEPTH,
  THROWN_MAX_ERRORS,
}
