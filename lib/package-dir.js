'use strict'
// Where this package's own files are at run time: the worker program (lib/worker/main.js) and the
// addon are started and loaded by path, not bundled. Unbundled, that is this folder's parent. A
// bundler (esbuild --bundle, ...) copies this JS into the bundle, where `__dirname` is the
// bundle's folder: the package is then looked up as the bundle's own code would require it, from
// the bundle's location, and when it is not there, loading fails at once with a code that says
// what to do instead of every worker failing to start.

const fs = require('node:fs')
const path = require('node:path')
const { makeError } = require('./errors')

// A bundler inlines this manifest: it names the package the bundle was built with.
const { name: NAME, version: VERSION } = require('../package.json')

/** The version of the invoke-parallel installed in `dir`, or null when it is not one. */
function installedVersion(dir) {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    if (manifest.name !== NAME || !fs.existsSync(path.join(dir, 'lib', 'worker', 'main.js'))) return null
    return manifest.version
  } catch {
    return null
  }
}

function findPackageDir() {
  // An ES module bundle has no __dirname.
  const own = typeof __dirname === 'string' ? path.join(__dirname, '..') : null
  if (own !== null && installedVersion(own) === VERSION) return own
  let found = null
  try {
    found = path.dirname(require.resolve(`${NAME}/package.json`))
  } catch {}
  const version = found === null ? null : installedVersion(found)
  if (version === VERSION) return found
  throw makeError(
    'ERR_INVOKE_BUNDLED',
    `${NAME} was bundled, and its files (the worker program lib/worker/main.js and the native addon) ` +
      (version === null
        ? 'are not installed where the bundle can require them. '
        : `are those of ${NAME} ${version}, not ${VERSION} as in the bundle. `) +
      `Mark it external (esbuild --external:${NAME}, webpack externals, rollup external) and ship ` +
      `node_modules/${NAME} with the bundle, or install ${NAME}@${VERSION} next to it.`,
  )
}

module.exports = { packageDir: findPackageDir() }
