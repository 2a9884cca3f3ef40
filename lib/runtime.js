'use strict'
// Whether the pool can run in the runtime that loaded us. The addon drives its worker processes
// through the libuv of the Node that loaded it: Bun exports libuv's names but aborts the process
// when most of them are called, Deno lacks some, and a single executable application's executable
// runs the application, not a worker. Each is refused with a code instead of crashed.

const NEEDS_NODE = 'invoke-parallel needs Node.js (22 or later): it runs its workers on the libuv of the Node that loads it.'

/** Why this runtime cannot run a pool, or null for a Node that can (as far as names tell). */
function foreignRuntime() {
  const versions = process.versions
  if (versions.bun) return `invoke-parallel does not run in Bun ${versions.bun}. ${NEEDS_NODE}`
  if (versions.deno || globalThis.Deno) {
    const version = versions.deno ?? globalThis.Deno?.version?.deno ?? ''
    return `invoke-parallel does not run in Deno ${version}. ${NEEDS_NODE}`
  }
  if (isSea()) {
    return (
      `invoke-parallel cannot start workers in a Node.js single executable application (node:sea, ` +
      `Node ${process.version}): its executable runs the application, not Node, so a worker cannot be ` +
      `started from it. Run the application's script with node instead.`
    )
  }
  return null
}

function isSea() {
  try {
    return require('node:sea').isSea()
  } catch {
    return false // no node:sea (Node < 20.12): not one
  }
}

function unsupportedRuntime(message) {
  const error = new Error(message)
  error.code = 'ERR_INVOKE_UNSUPPORTED_RUNTIME'
  return error
}

/**
 * Throws ERR_INVOKE_UNSUPPORTED_RUNTIME if the addon lacks a libuv function in this process: it
 * only looked them up, so nothing was called.
 */
function checkAddon(addon) {
  const missing = addon.missingLibuv()
  if (missing.length === 0) return addon
  const host = `${process.release?.name ?? 'this runtime'} ${process.version ?? ''}`.trim()
  throw unsupportedRuntime(`invoke-parallel cannot run in ${host}: it lacks libuv's ${missing.join(', ')}. ${NEEDS_NODE}`)
}

/** The addon `loadAddon` loads, once the runtime is known to be a Node that can run it. */
function checkRuntime(loadAddon) {
  const foreign = foreignRuntime()
  if (foreign) throw unsupportedRuntime(foreign)
  return checkAddon(loadAddon())
}

module.exports = { checkRuntime, checkAddon }
