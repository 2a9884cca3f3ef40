'use strict'
// Modules are named by their path relative to `root`, in POSIX form ("lib/hash.js"), so that a
// parent and a host with the same code in different folders (or machines) agree on the name.

const path = require('node:path')
const { createRequire } = require('node:module')

/** The name of `resolvedPath` under `root`, or null when it lies outside. */
function moduleName(root, resolvedPath) {
  const relative = path.relative(root, resolvedPath)
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return null
  return relative.split(path.sep).join('/')
}

/** The allowlist entry `specifier` resolved as `require` would from `root`: {name, file}. */
function resolveAllowed(root, specifier) {
  const file = createRequire(path.join(root, '[host]')).resolve(specifier)
  const name = moduleName(root, file)
  if (name === null) throw new RangeError(`serve: module ${specifier} lies outside root (${root})`)
  return { name, file }
}

module.exports = { moduleName, resolveAllowed }
