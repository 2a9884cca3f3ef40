'use strict'
// Writing into a diagnostics_channel message that subscribers have had their hands on.

/**
 * Sets `fields` on `message` as plain data, whatever a subscriber made of it (frozen, accessors
 * that throw); false if it could not. A subscriber's mischief costs the trace, never the call.
 */
function annotate(message, fields) {
  for (const key in fields) {
    const value = fields[key]
    // Plain assignment is the fast path (defineProperty slows the object down for V8).
    try {
      message[key] = value
      if (message[key] === value || (value !== value && message[key] !== message[key])) continue
    } catch {}
    try {
      Object.defineProperty(message, key, { value, writable: true, enumerable: true, configurable: true })
    } catch {
      return false
    }
  }
  return true
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
