'use strict'
// Writing into a diagnostics_channel message that subscribers have had their hands on.

/**
 * Sets `fields` on `message` as plain data, whatever a subscriber made of it (frozen, accessors
 * that throw); false if it could not. A subscriber's mischief costs the trace, never the call.
 */
function annotate(message, fields) {
  try {
    for (const key in fields) {
      Object.defineProperty(message, key, { value: fields[key], writable: true, enumerable: true, configurable: true })
    }
    return true
  } catch {
    return false
  }
}

/** `message[key]`, or undefined if reading it throws. */
function read(message, key) {
  try {
    return message[key]
  } catch {
    return undefined
  }
}

module.exports = { annotate, read }
