'use strict'
// A job's result, as a host writes it and a parent reads it. A job always completes with one of
// these (an error the function threw is a result, never a failed job that BullMQ would retry):
//   {v: base64}            the value, encoded by the core's codec
//   {e: base64}            a thrown value, encoded by the core's codec (class, code, cause, fields)
//   {x: {kind, message, pid?, exitCode?, signal?}}  the host pool's own Retry, Timeout or Cancel
//   {names: [string]}      a module load's exported function names
//   {q: ms}                no run: the job waited past its queue timeout (ms) before a host took it
//   {c: message}           no result: a caller's cancel aborted the run. Not a call's outcome, so
//                          a keyed call that finds it kept under its key runs again (a new job).
// Hosts are not trusted: the parent checks every reply's shape and size, and a bad one fails
// that call alone.

const codec = require('invoke-parallel/codec')
const { Retry, Timeout, Cancel } = require('invoke-parallel')
const { badReply, tooLarge, queueTimeout } = require('./errors')

const LIBRARY = { retry: Retry, timeout: Timeout, cancel: Cancel }

/** Bytes the base64 text `text` decodes to (without decoding it; its padding is no byte). */
function decodedSize(text) {
  return Buffer.byteLength(text, 'base64')
}

/** Host side: the reply for a returned value (a value over `max` bytes is a RangeError reply instead). */
function valueReply(value, max) {
  let bytes
  try {
    bytes = codec.encode(value, 'result')
  } catch (err) {
    return thrownReply(err)
  }
  if (bytes.length > max) return thrownReply(tooLarge('result', bytes.length, max))
  return { v: bytes.toString('base64') }
}

/** Host side: the reply for a thrown value. */
function thrownReply(thrown, max = Infinity) {
  for (const [kind, Class] of [['timeout', Timeout], ['retry', Retry], ['cancel', Cancel]]) {
    if (thrown instanceof Class) {
      const x = { kind, message: String(thrown.message) }
      if (kind === 'retry') Object.assign(x, { pid: thrown.pid, exitCode: thrown.exitCode, signal: thrown.signal })
      return { x }
    }
  }
  const bytes = codec.encodeThrown(thrown)
  if (bytes.length > max) return thrownReply(tooLarge('thrown error', bytes.length, max))
  return { e: bytes.toString('base64') }
}

/** Host side: the reply to a job that waited past its queue timeout `ms`: it did not run. */
function refusedReply(ms) {
  return { q: ms }
}

/** Host side: the reply of a run that a caller's cancel aborted (whatever it then returned or threw). */
function cancelledReply(reason) {
  return { c: typeof reason === 'string' ? reason : 'cancelled by the caller' }
}

/**
 * Parent side: what a call's reply says, as `{value}`, `{error}`, or `{cancelled}` (a Cancel, for a
 * run a caller's cancel aborted: only its own caller, already answered, expects that). Never throws: a reply of the
 * wrong shape, too large, or that does not decode is an ERR_INVOKE_BAD_REPLY error.
 */
function readReply(reply, max) {
  try {
    return readChecked(reply, max)
  } catch (err) {
    return { error: badReply(`it does not decode (${err?.message ?? err})`) }
  }
}

function readChecked(reply, max) {
  if (reply === null || typeof reply !== 'object' || Array.isArray(reply)) return { error: badReply(`got ${typeof reply}`) }
  const keys = Object.keys(reply)
  if (keys.length !== 1) return { error: badReply(`fields ${JSON.stringify(keys)}`) }
  const [key] = keys
  const body = reply[key]
  if (key === 'v' || key === 'e') {
    if (typeof body !== 'string') return { error: badReply(`${key} is not text`) }
    if (decodedSize(body) > max) return { error: tooLarge(key === 'v' ? 'result' : 'thrown error', decodedSize(body), max) }
    const bytes = Buffer.from(body, 'base64')
    if (bytes.length === 0) return { error: badReply(`${key} is empty`) }
    return key === 'v' ? { value: codec.decode(bytes) } : { error: codec.decodeThrown(bytes) }
  }
  if (key === 'x') return { error: libraryError(body) }
  if (key === 'q') {
    if (typeof body !== 'number' || !(body >= 1)) return { error: badReply('q is not a queue timeout') }
    return { error: queueTimeout(body), refused: true }
  }
  if (key === 'c') {
    if (typeof body !== 'string' || body.length > 4096) return { error: badReply('c is not a reason') }
    return { cancelled: new Cancel(`invoke-parallel-bullmq: the run was cancelled (${body})`) }
  }
  return { error: badReply(`field ${JSON.stringify(key)}`) }
}

function libraryError(x) {
  if (x === null || typeof x !== 'object' || !Object.hasOwn(LIBRARY, x.kind) || typeof x.message !== 'string') {
    throw new TypeError('x is not a Retry, Timeout or Cancel')
  }
  if (x.kind !== 'retry') return new LIBRARY[x.kind](x.message)
  const detail = (v, type) => (typeof v === type ? v : undefined)
  return new Retry(x.message, {
    pid: detail(x.pid, 'number'),
    exitCode: detail(x.exitCode, 'number'),
    signal: detail(x.signal, 'string'),
  })
}

/** Parent side: a load's reply, as `{value}` (the names) or `{error}`. */
function readLoadReply(reply, max) {
  if (reply !== null && typeof reply === 'object' && Array.isArray(reply.names)) {
    const names = reply.names
    if (Object.keys(reply).length === 1 && names.length < 100000 && names.every((n) => typeof n === 'string')) {
      return { value: [...new Set(names)] }
    }
    return { error: badReply('a module load answered with names that are not strings') }
  }
  const read = readReply(reply, max)
  return 'error' in read ? read : { error: badReply('a module load answered with a value') }
}

/**
 * A map chunk's answer, as the host's pool gave it (lib/host.js sends its parts' bytes): one part
 * as it is, several as the async iterable a local pool would give.
 */
function chunkAnswer(parts) {
  // A host is not trusted: anything but a list of byte strings fails the chunk with a code.
  if (!Array.isArray(parts) || parts.length === 0 || !parts.every((part) => part instanceof Uint8Array)) {
    throw badReply('a map chunk was answered with something other than its parts')
  }
  if (parts.length === 1) return parts[0]
  return (async function* () {
    yield* parts
  })()
}

module.exports = { valueReply, thrownReply, cancelledReply, refusedReply, readReply, readLoadReply, chunkAnswer }
