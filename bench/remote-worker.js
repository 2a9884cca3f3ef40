'use strict'
// The remote benchmark's worker module: an echo, and a task that keeps its CPU busy for `ms`.

const fs = require('node:fs')

exports.echo = (value) => value

exports.spin = (ms) => {
  const end = performance.now() + ms
  while (performance.now() < end);
  return process.env.HOST_NAME ?? 'local'
}

/** `spin`, counting each run (a duplicate run after a host is killed shows up here). */
exports.counted = (ms, file) => {
  fs.appendFileSync(file, '.')
  return exports.spin(ms)
}
