'use strict'
// A bound on a wait for Redis: BullMQ's and ioredis's promises wait for a Redis that does not
// answer (stopped, cut off) for ever.

/** Resolves true once `promise` settles, or false after `ms`. */
function within(promise, ms) {
  let timer
  const late = new Promise((resolve) => (timer = setTimeout(resolve, ms, false)))
  return Promise.race([promise.then(() => true, () => true), late]).finally(() => clearTimeout(timer))
}

module.exports = { within }
