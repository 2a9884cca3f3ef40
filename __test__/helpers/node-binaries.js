'use strict'
// Other Node versions to run a fixture under: NODE_BINARIES (paths, ':'-separated), else the
// toolchains `node scripts/fetch-node.js` unpacks from the node-linux-<arch> npm packages under
// $TOOLCHAINS/node/linux-<arch>-<version>/ (default /work/toolchains; or $NODE_TOOLCHAINS). Tests run on those present
// and say which.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const TOOLCHAINS = process.env.NODE_TOOLCHAINS ?? path.join(process.env.TOOLCHAINS || '/work/toolchains', 'node')

function candidates() {
  if (process.env.NODE_BINARIES) return process.env.NODE_BINARIES.split(':').filter(Boolean)
  let names = []
  try {
    names = fs.readdirSync(TOOLCHAINS)
  } catch {}
  const arch = `linux-${process.arch}-`
  return names.filter((name) => name.startsWith(arch)).map((name) => path.join(TOOLCHAINS, name, 'bin', 'node'))
}

/** [{execPath, version: 'v24.1.0', major: 24}] for every binary that runs here. */
function nodeBinaries() {
  const found = []
  for (const execPath of candidates()) {
    try {
      const version = execFileSync(execPath, ['--version'], { encoding: 'utf8' }).trim()
      found.push({ execPath, version, major: Number(version.slice(1).split('.')[0]) })
    } catch {}
  }
  return found
}

module.exports = { nodeBinaries }
