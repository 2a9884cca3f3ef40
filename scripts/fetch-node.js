'use strict'
// Unpacks the Node versions the tests also run on (module-shapes: TypeScript per Node) from the
// node-linux-<arch> npm packages, into $TOOLCHAINS/node/linux-<arch>-<version>/ (default /work/toolchains; or
// $NODE_TOOLCHAINS), where __test__/helpers/node-binaries.js looks. Without them those tests run
// on the current Node only. Usage: node scripts/fetch-node.js [22 24 26]

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const TOOLCHAINS = process.env.NODE_TOOLCHAINS ?? path.join(process.env.TOOLCHAINS || '/work/toolchains', 'node')
const majors = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['22', '24', '26']
const pkg = `node-linux-${process.arch}`

for (const major of majors) {
  const version = execFileSync('npm', ['view', `${pkg}@${major}`, 'version', '--json'], { encoding: 'utf8' })
  const versions = [].concat(JSON.parse(version))
  const latest = versions.at(-1)
  const dir = path.join(TOOLCHAINS, `linux-${process.arch}-${latest}`)
  if (fs.existsSync(path.join(dir, 'bin', 'node'))) {
    console.log(`${dir}: present`)
    continue
  }
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fetch-node-'))
  try {
    const tarball = execFileSync('npm', ['pack', `${pkg}@${latest}`, '--silent'], { cwd: scratch, encoding: 'utf8' }).trim()
    fs.mkdirSync(dir, { recursive: true })
    execFileSync('tar', ['xzf', path.join(scratch, tarball), '-C', dir, '--strip-components=1'])
    console.log(`${dir}: ${execFileSync(path.join(dir, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim()}`)
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
}
