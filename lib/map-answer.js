'use strict'
// The parent's reading of a chunk call's answer (lib/worker/chunk.js writes it): bytes, or for
// outcomes too large for one message, a streamed result of several such answers. Whatever a
// worker sends, reading it costs what its bytes do: no length is walked before it is checked
// against the chunk's, and no received object is made text.

const wire = require('./wire')
const { makeError } = require('./errors')

/**
 * The outcomes of a chunk of `size` items, from the chunk call's `answer`: `{values, reasons,
 * busy, fill}`, `reasons` null or index -> error, `fill` the largest part of the message limit
 * its items or results took. Rejects with ERR_INVOKE_BAD_ANSWER for what no worker sends, or
 * with what ended a streamed answer (a cancel, a dead worker).
 */
async function readAnswer(answer, size) {
  if (answer instanceof Uint8Array) return reading(() => outcomesOf([decodePart(answer)], answer.length, size))
  if (answer === null || typeof answer !== 'object' || typeof answer[Symbol.asyncIterator] !== 'function') {
    throw bad('it is not bytes')
  }
  const parts = []
  let items = 0
  let bytes = 0
  for await (const part of answer) {
    reading(() => {
      if (!(part instanceof Uint8Array)) throw bad('a part of it is not bytes')
      const decoded = decodePart(part)
      items += decoded[1].length
      if (decoded[1].length === 0 || items > size) throw bad('its parts do not add up to the chunk it was sent')
      bytes += part.length
      parts.push(decoded)
    })
  }
  return reading(() => outcomesOf(parts, bytes, size))
}

/** `read()`, its failures to decode made ERR_INVOKE_BAD_ANSWER. */
function reading(read) {
  try {
    return read()
  } catch (error) {
    if (error?.code === 'ERR_INVOKE_BAD_ANSWER' && error.message.includes('map chunk')) throw error
    const why = typeof error?.message === 'string' ? error.message.replace(/^invoke-parallel: /, '') : 'it does not decode'
    throw bad(why)
  }
}

/** One answer or part: `[busy, values, failures, argumentBytes, maxMessageSize]`. */
function decodePart(bytes) {
  const part = wire.decodeAnswer(bytes)
  if (!Array.isArray(part) || part.length !== 5) throw bad('it is not a chunk answer')
  const [busy, values, failures, argumentBytes, limit] = part
  if (![busy, argumentBytes, limit].every((n) => typeof n === 'number' && n >= 0 && Number.isFinite(n))) {
    throw bad('its measurements are not numbers')
  }
  if (!Array.isArray(values)) throw bad('its values are not a list')
  if (failures !== null && !Array.isArray(failures)) throw bad('its failures are not a list')
  return part
}

function outcomesOf(parts, answerBytes, size) {
  /** Each failure's bytes are its own: bytes shared by many failures would be decoded once each. */
  const thrownBytes = new Set()
  let values = null
  let reasons = null
  let busy = 0
  let at = 0
  for (const [partBusy, partValues, failures] of parts) {
    const count = partValues.length
    if (at + count > size) throw bad('it has more values than the chunk has items')
    if (parts.length === 1) values = partValues
    else {
      values ??= []
      for (let i = 0; i < count; i++) values.push(partValues[i])
    }
    if (failures !== null) {
      // Checked against the part's items before it is walked: a list claiming 2^32 - 1 entries is refused at once.
      if (failures.length > count) throw bad('it has more failures than items')
      for (let i = 0; i < failures.length; i++) {
        const failure = failures[i]
        if (!Array.isArray(failure) || failure.length !== 2) throw bad('a failure is not an [index, error] pair')
        const [index, thrown] = failure
        if (!Number.isInteger(index) || index < 0 || index >= count) throw bad('a failure names no item')
        if (!(thrown instanceof Uint8Array)) throw bad("a failure's error is not bytes")
        if (thrownBytes.has(thrown)) throw bad("two failures share one error's bytes")
        thrownBytes.add(thrown)
        reasons ??= new Map()
        if (reasons.has(at + index)) throw bad('an item failed twice')
        reasons.set(at + index, wire.decodeThrown(thrown))
      }
    }
    busy += partBusy
    at += count
  }
  if (at !== size) throw bad('it does not match the chunk it was sent')
  const [, , , argumentBytes, limit] = parts[parts.length - 1] ?? [0, [], null, 0, 0]
  const fill = limit > 0 ? Math.max(argumentBytes, answerBytes) / limit : 0
  return { values, reasons, busy, fill }
}

/** A worker's answer to a map chunk that no worker of this library sends. */
function bad(why) {
  return makeError('ERR_INVOKE_BAD_ANSWER', `the worker's answer to a map chunk could not be read: ${why}`)
}

module.exports = { readAnswer }
