'use strict'
// For worker modules, `require('invoke-parallel/worker')`:
// - `signal()`: the AbortSignal of the call running now. It aborts when the caller cancels the call
//   or its timeout expires. Read it at the start of the method (or anywhere in its async flow);
//   outside a call it is undefined.
// - `set(socket, {keepOpen})`: return a socket to the caller, choosing whether this worker keeps a
//   copy (the same as `invoke.set`).

const { AsyncLocalStorage } = require('node:async_hooks')
const { set } = require('./lib/handles')

// Shared through a global symbol so that every copy of this package in the worker (and the
// worker's own main.js) agrees on one store, and so that modules that never ask pay nothing.
const KEY = Symbol.for('invoke-parallel.callContext')
const calls = (globalThis[KEY] ??= new AsyncLocalStorage())

/** @returns {AbortSignal | undefined} */
function signal() {
  return calls.getStore()
}

module.exports = { signal, set }
