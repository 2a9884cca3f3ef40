'use strict'
// A module loaded into a worker again, after its file or a file it requires was saved. The parent
// sends a module that it has already loaded again when another copy of the package asks for it:
// jest --watch's next run in the same process (and jest.resetModules) evaluates the package
// afresh, and it finds the process's global pool, whose workers still had the old version in
// require's cache. Before such a load, if a CommonJS module's file changed since it was evaluated,
// the modules evaluated by loads are dropped from that cache, so the load evaluates what is on
// disk now. Files under node_modules are not watched (nor by jest), and
// neither are addons (a `.node` file cannot be loaded twice) or ES modules (import() keeps its own
// cache).

const fs = require('node:fs')
const path = require('node:path')

const NODE_MODULES = `${path.sep}node_modules${path.sep}`
/**
 * filename -> its modification time and size when it was evaluated. Compared for equality, not
 * against a clock: the kernel stamps files from a coarse clock, a few ms behind Date.now().
 */
const evaluated = new Map()

/**
 * Call before requiring `filename`: if it was evaluated already and any module noted since has
 * changed, drops them all, as jest's next run starts from none: a module that did not change but
 * requires one that did must run again too, to get the new one.
 */
function forgetChanged(filename) {
  if (require.cache[filename] === undefined) return
  for (const [file, stamp] of evaluated) {
    if (stampOf(file) === stamp) continue
    for (const noted of evaluated.keys()) delete require.cache[noted]
    evaluated.clear()
    return
  }
}

/** Call after a load: notes the modules it evaluated. */
function noteEvaluated() {
  for (const file of Object.keys(require.cache)) {
    if (evaluated.has(file) || file.includes(NODE_MODULES) || file.endsWith('.node')) continue
    evaluated.set(file, stampOf(file))
  }
}

/** A file's modification time and size, or null if it cannot be read. */
function stampOf(file) {
  try {
    const { mtimeMs, size } = fs.statSync(file)
    return `${mtimeMs}:${size}`
  } catch {
    return null
  }
}

module.exports = { forgetChanged, noteEvaluated }
