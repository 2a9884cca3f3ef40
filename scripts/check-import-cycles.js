'use strict'
// Fails when the library's own files require each other in a cycle (lazy requires count too):
// a cycle means a module can be handed another's half-built exports.

const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const ENTRIES = ['index.js', 'worker.js', 'lib']

function sources(entry) {
  const full = path.join(ROOT, entry)
  if (!fs.statSync(full).isDirectory()) return [full]
  return fs.readdirSync(full, { withFileTypes: true }).flatMap((d) => sources(path.join(entry, d.name)))
}

/** The project files `file` requires by a relative path. */
function requires(file) {
  const text = fs.readFileSync(file, 'utf8')
  const found = []
  for (const [, specifier] of text.matchAll(/require\(\s*'(\.{1,2}\/[^']*)'\s*\)/g)) {
    let target = path.resolve(path.dirname(file), specifier)
    if (!target.endsWith('.js') && !target.endsWith('.json') && !target.endsWith('.node')) target += '.js'
    if (target.endsWith('.js') && fs.existsSync(target)) found.push(target)
  }
  return found
}

const files = ENTRIES.flatMap(sources).filter((f) => f.endsWith('.js'))
const graph = new Map(files.map((f) => [f, requires(f)]))
const state = new Map()
const cycles = []

function visit(file, trail) {
  state.set(file, 'open')
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 'open') cycles.push([...trail.slice(trail.indexOf(next)), next])
    else if (!state.has(next)) visit(next, [...trail, next])
  }
  state.set(file, 'done')
}

for (const file of files) if (!state.has(file)) visit(file, [file])

if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map((f) => path.relative(ROOT, f)).join(' -> ')}`)
  process.exit(1)
}
console.log(`no import cycles among ${files.length} files`)
