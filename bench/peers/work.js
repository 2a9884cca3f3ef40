'use strict'
// The work every contender runs, in its workers. Every function takes exactly one argument
// (piscina and tinypool pass one), returns its result or a promise of it, and is identical for
// all libraries: the per-library files in ./workers only adapt the calling convention.

/** Hands back what it gets (latency, throughput, payload and startup workloads). */
function echo(value) {
  return value
}

/**
 * CPU-bound busy work: `n` rounds of a xorshift32 step. The result depends on every round, so
 * nothing can be skipped; run.js picks `n` so that one call takes about 10 ms on this machine.
 */
function spin(n) {
  let x = 0x9e3779b9 | 0
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
  }
  return x >>> 0
}

/** I/O-shaped work: waits `ms` milliseconds on a timer, then resolves to `ms`. */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(ms), ms))
}

module.exports = { echo, spin, sleep }
