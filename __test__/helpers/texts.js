'use strict'
// Strings and Buffers of a chosen size, built the same way by a test and by a worker from a
// small description (so a result's size does not depend on its arguments').

/** One character of each UTF-8 width, Latin-1 ones (the raw path) and lone surrogates among them. */
const CHARS = ['a', '\u0000', 'é', 'ÿ', '\u0100', '─', '€', '\uffff', '😀', '\u{10ffff}', '\ud800', '\udfff']

/**
 * `pad` ASCII letters, then `char` repeated until the text has `length` UTF-16 units
 * (`measure: 'units'`) or UTF-8 bytes (`'bytes'`, lone surrogates counting 3): a multi-byte
 * character then straddles `length` in every possible way as `pad` varies.
 */
function textOf({ length, pad, char, measure }) {
  const width = measure === 'units' ? char.length : Buffer.byteLength(char)
  const head = 'a'.repeat(Math.min(pad, length))
  return head + char.repeat(Math.max(0, Math.floor((length - head.length) / width)))
}

/** `length` bytes of a pattern that depends on `seed`. */
function bufferOf({ length, seed }) {
  const bytes = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) bytes[i] = (seed + i * 131) & 0xff
  return bytes
}

module.exports = { CHARS, textOf, bufferOf }
