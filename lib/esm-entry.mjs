// What the ES module entries (index.mjs, worker.mjs) load: the CommonJS entry beside them, through
// createRequire rather than `import`, so that a runtime whose ESM loader cannot see CommonJS
// exports (Deno reads a .js file as an ES module) still reaches lib/runtime.js's clear error.
//
// A bundler (esbuild --bundle --format=esm) copies the ES entry into the bundle but cannot follow
// createRequire, so there `entryUrl` is the bundle's and the CommonJS entry is not beside it: the
// package is then required as the bundle's own code would require it, from the node_modules around
// the bundle (as if it had been marked external), and when it is not there, loading fails at once
// with ERR_INVOKE_BUNDLED, saying what to mark external, instead of a MODULE_NOT_FOUND or a file of
// the same name beside the bundle that is not ours.

import { createRequire } from 'node:module'
import { existsSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const NAME = 'invoke-parallel'

/** `entryUrl`: the ES entry's import.meta.url; `entry`: 'index' or 'worker'; `specifier`: its public name. */
export function loadCommonJs(entryUrl, entry, specifier) {
  const require = createRequire(entryUrl)
  if (isOwnEntry(entryUrl, entry)) return require(`./${entry}.js`)
  try {
    return require(specifier)
  } catch (err) {
    if (err?.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(`'${specifier}'`)) throw err
    const error = new Error(
      `${NAME} was bundled into an ES module, which cannot carry its CommonJS files, and ${specifier} is not ` +
        'installed where the bundle can require it. Mark it external (esbuild --external:' +
        `${NAME}, webpack externals, rollup external) and ship node_modules/${NAME} with the bundle.`,
      { cause: err },
    )
    error.code = 'ERR_INVOKE_BUNDLED'
    throw error
  }
}

/** Whether `entryUrl` is this package's own `<entry>.mjs`, not a bundle that copied it. */
function isOwnEntry(entryUrl, entry) {
  if (!entryUrl.startsWith('file:')) return false
  const file = fileURLToPath(entryUrl)
  if (basename(file) !== `${entry}.mjs` || !existsSync(join(dirname(file), `${entry}.js`))) return false
  try {
    return JSON.parse(readFileSync(join(dirname(file), 'package.json'), 'utf8')).name === NAME
  } catch {
    return false
  }
}
