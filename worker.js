'use strict'
// For worker modules, `require('invoke-parallel/worker')`:
// - `signal()`: the AbortSignal of the call running now. It aborts when the caller cancels the call
//   or its timeout expires. Read it at the start of the method (or anywhere in its async flow);
//   outside a call it is undefined.
// - `set(socket, {keepOpen})`: return a socket to the caller, choosing whether this worker keeps a
//   copy (the same as `invoke.set`).
// - `info()`: `{pid, workerId, poolId}`, who this worker is: `workerId` its slot in the pool (1 to
//   the pool's `limit`), `poolId` which of the parent's pools it is in. Undefined outside a worker.

const { builtin } = require('./lib/builtin')
// Not require('node:async_hooks'): a worker bundled as an ES module has no require (lib/builtin.js).
const { AsyncLocalStorage } = builtin('node:async_hooks')
const { set } = require('./lib/handles')
const { identity } = require('./lib/worker/identity')

// Shared through a global symbol so that every copy of this package in the worker (and the
// worker's own main.js) agrees on one store, and so that modules that never ask pay nothing.
const KEY = Symbol.for('invoke-parallel.callContext')
const calls = (globalThis[KEY] ??= new AsyncLocalStorage())

/** @returns {AbortSignal | undefined} */
function signal() {
  return calls.getStore()
}

/** @returns {{pid: number, workerId: number, poolId: number} | undefined} */
function info() {
  return identity()
}

module.exports = { signal, set, info }
