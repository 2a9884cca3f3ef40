'use strict'
const fs = require('node:fs')
// What bench/drivers.js runs in its workers.

exports.echo = (value) => value
exports.sleep = (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms))
/** Kills its worker the first time it runs with `marker` (a file it makes), else answers. */
exports.dieOnce = (marker) => {
  if (marker && !fs.existsSync(marker)) {
    fs.writeFileSync(marker, '')
    process.kill(process.pid, 'SIGKILL')
  }
  return process.pid
}
