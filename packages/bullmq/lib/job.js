'use strict'
// A call's job, as a parent writes it and a host reads it. Its data:
//   {m, f, a, n, t, q}  m: the module's name; f: the function's; a: the argument list, encoded by
//                     the core's codec, in base64; n: noRetry; t: the timeout in ms, or null;
//                     q: the queue timeout in ms (absent: none); r: the delay before a run after
//                     a host died, in ms, doubled for each later one (absent: none); b: the
//                     host deaths already waited for (written by the host that delayed it);
//                     y: [attempts, delay], the caller's retry policy for thrown errors (absent:
//                     one attempt); c: the runs that threw so far (written by the host); tp: the
//                     caller's W3C traceparent (one that is not text costs the trace, not the call).
// Anyone who can write to the queue's Redis can add a job: a host checks every field, and the
// counts and sizes of what it decodes, before it uses any, and answers a bad job with
// ERR_INVOKE_BAD_JOB (a reply like any other: the job is not retried).

const crypto = require('node:crypto')
const codec = require('invoke-parallel/codec')
const { badJob, tooLarge } = require('./errors')

const FIELDS = new Set(['m', 'f', 'a', 'n', 't', 'q', 'r', 'b', 'y', 'c', 'tp'])
/** BullMQ's priorities are 1 (first) to 2^21-1; 0 would put a job before every prioritized one. */
const PRIORITY_LIMIT = 2 ** 21 - 1
const MIDDLE = 2 ** 20
/** Most runs a retry policy may ask (remotePool's retry.attempts). */
const MAX_ATTEMPTS = 1000
/** Longest module or function name a job may carry. */
const MAX_NAME = 4096

/** Parent side: the data of a call's job. `bytes` is the encoded argument list. */
function callData(module, method, bytes, { noRetry, timeout, queueTimeout, rerunDelay, retry, traceparent }) {
  const data = { m: module, f: method, a: bytes.toString('base64'), n: noRetry, t: timeout }
  if (queueTimeout !== Infinity) data.q = queueTimeout
  if (rerunDelay > 0) data.r = rerunDelay
  if (retry.attempts > 1) data.y = [retry.attempts, retry.delay]
  if (traceparent !== undefined) data.tp = traceparent
  return data
}

/**
 * The job id of a keyed call: a digest, because BullMQ refuses some ids (all digits, a colon) and
 * names and keys may hold anything. The parent's own ids (its tag and a count) never look so.
 */
function keyedJobId(module, method, key) {
  return `key-${crypto.createHash('sha256').update(JSON.stringify([module, method, key])).digest('hex')}`
}

/** BullMQ's priority for invoke-parallel's (higher first; BullMQ's lower first): 0 is the middle, fractions round. */
function queuePriority(priority) {
  // A pool called through the interface directly may get anything: no number is the default.
  const p = typeof priority === 'number' && Number.isFinite(priority) ? Math.round(priority) : 0
  return Math.min(Math.max(MIDDLE - p, 1), PRIORITY_LIMIT)
}

/**
 * Host side: what a call's job asks, as `{module, method, args, noRetry, timeout}`; throws
 * ERR_INVOKE_BAD_JOB for data that a parent does not write, and ERR_INVOKE_MESSAGE_TOO_LARGE for
 * arguments over `max` bytes.
 */
function readCall(data, max) {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw badJob('its data is not an object')
  for (const key of Object.keys(data)) if (!FIELDS.has(key)) throw badJob(`unknown field ${JSON.stringify(key)}`)
  const { m, f, a, n, t, q, r, b, y, c, tp } = data
  name(m, 'module')
  name(f, 'function')
  if (n !== undefined && typeof n !== 'boolean') throw badJob('noRetry is not a boolean')
  if (t !== undefined && t !== null && !(typeof t === 'number' && t >= 0 && t <= Number.MAX_SAFE_INTEGER)) {
    throw badJob('the timeout is not a number of milliseconds')
  }
  if (q !== undefined && !(typeof q === 'number' && q >= 1)) throw badJob('the queue timeout is not a number of milliseconds')
  if (r !== undefined && !(Number.isInteger(r) && r >= 0 && r < 2 ** 31)) throw badJob('the rerun delay is not a number of milliseconds')
  if (b !== undefined && !(Number.isInteger(b) && b >= 0)) throw badJob('the host deaths waited for are not a count')
  const policy = (v, i) => Number.isInteger(v) && v >= 0 && v <= (i === 0 ? MAX_ATTEMPTS : 2 ** 31 - 1)
  if (y !== undefined && !(Array.isArray(y) && y.length === 2 && y.every(policy))) {
    throw badJob('the retry policy is not [attempts, delay]')
  }
  if (c !== undefined && !(Number.isInteger(c) && c >= 0)) throw badJob('the runs that threw are not a count')
  const args = argumentList(a, max)
  const size = Buffer.byteLength(a, 'base64')
  const queueTimeout = q ?? Infinity
  return {
    module: m, method: f, args, size, noRetry: n === true, timeout: typeof t === 'number' ? t : undefined, queueTimeout,
    rerunDelay: r ?? 0, waitedFor: b ?? 0, attempts: y?.[0] ?? 1, retryDelay: y?.[1] ?? 0, threw: c ?? 0,
    traceparent: typeof tp === 'string' && tp.length <= MAX_NAME ? tp : undefined,
  }
}

/** Host side: the export a map chunk's arguments `[name, items]` name, once they are checked. */
function readChunk(args, size) {
  const [name, items] = args
  if (args.length !== 2 || typeof name !== 'string') throw badJob('a map chunk carries no function name')
  denseList(items, size, "a map chunk's items")
  return name
}

function name(value, what) {
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME) throw badJob(`the ${what} name is not a name`)
}

/**
 * The decoded argument list. An array a parent encodes has no holes, and each element takes at
 * least a byte: a longer one was forged (a sparse array of length 2^32-1 takes 15 bytes, and a
 * host that spread it into a call would run out of memory).
 */
function argumentList(text, max) {
  if (typeof text !== 'string') throw badJob('the arguments are not text')
  const size = Buffer.byteLength(text, 'base64')
  if (size > max) throw tooLarge('arguments', size, max)
  let args
  try {
    args = codec.decode(Buffer.from(text, 'base64'))
  } catch (err) {
    throw badJob(`the arguments do not decode (${err?.message ?? err})`)
  }
  denseList(args, size, 'the argument list')
  return args
}

/** Throws unless `list` is an array without holes of at most `size` elements. */
function denseList(list, size, what) {
  if (!Array.isArray(list)) throw badJob(`${what} is not an array`)
  if (list.length > size) throw badJob(`${what} has ${list.length} elements in ${size} bytes`)
  for (let i = 0; i < list.length; i++) if (!(i in list)) throw badJob(`${what} has holes`)
}

module.exports = { callData, queuePriority, keyedJobId, readCall, readChunk }
