'use strict'
// A package that can only be imported (its "exports" map has an "import" condition and no
// "require" or "default" one) is refused by `require.resolve` with ERR_PACKAGE_PATH_NOT_EXPORTED,
// though an ES module parent imports it and a worker can import() it. This resolves such a
// specifier as `import` would: the package found where require looks, its exports matched with
// the conditions "node", "import" and "default". Public Node has no resolver for another file's
// imports without a flag (import.meta.resolve takes no parent), hence this small one.

const fs = require('node:fs')
const path = require('node:path')

const CONDITIONS = new Set(['node', 'import', 'default'])

/**
 * The file `specifier` (a bare package specifier) imports as from `fromFile`, whose require
 * (made with createRequire) is `requireFrom`, or undefined when no package exports it for import.
 * As in Node, the package `fromFile` is in comes first when it has that name (a self-reference,
 * how a package's own tests import it), then the node_modules folders.
 */
function resolveAsImport(specifier, requireFrom, fromFile) {
  const match = /^((?:@[^/]+\/)?[^/]+)(\/.*)?$/.exec(specifier)
  if (match === null || specifier.startsWith('.') || path.isAbsolute(specifier)) return undefined
  const [, name, rest = ''] = match
  const own = fromFile === undefined ? undefined : packageScope(path.dirname(fromFile))
  if (own !== undefined && own.manifest.name === name && own.manifest.exports != null) {
    return targetIn(own.dir, own.manifest, rest)
  }
  for (const dir of requireFrom.resolve.paths(specifier) ?? []) {
    const packageDir = path.join(dir, name)
    const manifest = readManifest(packageDir)
    // The first package found is the one `import` would use, whatever it exports.
    if (manifest !== undefined) return targetIn(packageDir, manifest, rest)
  }
  return undefined
}

/** The file `rest` ('' or '/x') of the package in `packageDir` is for import, or undefined. */
function targetIn(packageDir, manifest, rest) {
  const target = exportsTarget(manifest.exports, `.${rest}`)
  if (typeof target !== 'string' || !target.startsWith('./')) return undefined
  // As Node refuses them: a target that leaves the package, or reaches into its node_modules.
  const segments = target.split(/[\\/]/).slice(1)
  if (segments.some((segment) => segment === '..' || segment === '.' || segment === 'node_modules')) return undefined
  return path.join(packageDir, target)
}

/** The nearest package.json at or above `dir` (not past a node_modules folder), as Node finds a file's package scope. */
function packageScope(dir) {
  for (;;) {
    if (path.basename(dir) === 'node_modules') return undefined
    const manifest = readManifest(dir)
    if (manifest !== undefined) return { dir, manifest }
    const parent = path.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

function readManifest(dir) {
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    return manifest !== null && typeof manifest === 'object' ? manifest : undefined
  } catch {
    return undefined
  }
}

/** The target of `subpath` ('.', './x') in an exports field, or undefined. */
function exportsTarget(exports, subpath) {
  if (exports === undefined || exports === null) return undefined
  const isMap = typeof exports === 'object' && !Array.isArray(exports) && Object.keys(exports).some((key) => key.startsWith('.'))
  if (!isMap) return subpath === '.' ? asPath(conditional(exports, undefined)) : undefined
  if (Object.hasOwn(exports, subpath) && !subpath.includes('*')) return asPath(conditional(exports[subpath], undefined))
  // Patterns: the longest key before its "*" wins.
  let best
  for (const key of Object.keys(exports)) {
    const star = key.indexOf('*')
    if (star === -1) continue
    const [before, after] = [key.slice(0, star), key.slice(star + 1)]
    if (!subpath.startsWith(before) || !subpath.endsWith(after) || subpath.length < key.length - 1) continue
    if (best === undefined || before.length > best.before.length) best = { key, before, after }
  }
  if (best === undefined) return undefined
  const star = subpath.slice(best.before.length, subpath.length - best.after.length)
  return asPath(conditional(exports[best.key], star))
}

/** A target found, or undefined for none (null: not exported). */
function asPath(target) {
  return typeof target === 'string' ? target : undefined
}

/**
 * A target: a path, an array of fallbacks, or conditions in their order. As in Node's resolver,
 * undefined means "try the next" and null "not exported" (a condition mapped to null ends the
 * search).
 */
function conditional(target, star) {
  if (typeof target === 'string') return star === undefined ? target : target.replaceAll('*', star)
  if (Array.isArray(target)) {
    for (const each of target) {
      const found = conditional(each, star)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (target === null || typeof target !== 'object') return target === null ? null : undefined
  for (const [condition, value] of Object.entries(target)) {
    if (!CONDITIONS.has(condition)) continue
    const found = conditional(value, star)
    if (found !== undefined) return found
  }
  return undefined
}

module.exports = { resolveAsImport, exportsTarget }
