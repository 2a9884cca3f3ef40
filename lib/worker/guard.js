'use strict'
// What a worker started by the portable driver does for itself first: libuv's uv_spawn has no
// step between fork and exec, where the Linux driver makes a worker die with its parent and
// drop the descriptors it should not hold. The parent names itself in INVOKE_PARALLEL_PARENT.

const PARENT_ENV = 'INVOKE_PARALLEL_PARENT'
/** Descriptors below this are the worker's own: stdio and its two channels (fds 3 and 4). */
const FIRST_INHERITED = 5

function guardWorker() {
  const parent = process.env[PARENT_ENV]
  if (parent === undefined) return
  delete process.env[PARENT_ENV]
  const native = require('../binary')
  // Dies with its parent (Linux: PDEATHSIG), and not at all if the parent is already gone.
  if (!native.guardWorker(Number(parent), FIRST_INHERITED)) process.exit(0)
}

module.exports = { guardWorker }
