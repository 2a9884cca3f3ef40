'use strict'
// The README's code blocks marked `<!-- example: folder/file -->`, written out as a project that
// has invoke-parallel installed (a link to this checkout), so that a test runs them as pasted.

const fs = require('node:fs')
const path = require('node:path')
const { scratchDir } = require('./pools')
const { linkFolder } = require('./platform')

const ROOT = path.join(__dirname, '..', '..')

/** {file: text} for the README's examples in `folder`. */
function readmeExamples(folder) {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const files = {}
  for (const [, name, code] of readme.matchAll(/<!-- example: (\S+) -->\n```\w*\n([\s\S]*?)```/g)) {
    if (name.startsWith(`${folder}/`)) files[name.slice(folder.length + 1)] = code
  }
  return files
}

/** A scratch project holding the examples of `folder`, with `packages` of this checkout's node_modules linked in. */
function exampleProject(t, folder, packages = []) {
  const dir = scratchDir(t, `readme-${folder}`)
  const files = readmeExamples(folder)
  if (Object.keys(files).length === 0) throw new Error(`the README has no examples in ${folder}/`)
  for (const [name, code] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), code)
  fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true })
  linkFolder(ROOT, path.join(dir, 'node_modules', 'invoke-parallel'))
  for (const name of packages) {
    linkFolder(path.join(ROOT, 'node_modules', name), path.join(dir, 'node_modules', name))
    const bin = path.join(ROOT, 'node_modules', '.bin', name)
    if (fs.existsSync(bin)) fs.symlinkSync(fs.realpathSync(bin), path.join(dir, 'node_modules', '.bin', name))
  }
  return { dir, files }
}

module.exports = { readmeExamples, exampleProject }
