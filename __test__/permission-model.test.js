'use strict'
// Node's permission model (`--permission`, Node 22+): a program not granted `--allow-child-process`
// may not start processes. It must grant `--allow-addons` to load this package, and the addon
// spawns workers from Rust, out of the model's sight: so the pool itself refuses, with Node's code.

const test = require('ava')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { nodeBinaries } = require('./helpers/node-binaries')

const ROOT = path.join(__dirname, '..')
const ECHO = path.join(__dirname, 'fixtures', 'echo.js')

test('without --allow-child-process, a pool refuses to start workers, with a code', async (t) => {
  const binaries = nodeBinaries().filter(({ major }) => major >= 22)
  if (binaries.length === 0) return t.pass('no Node 22+ here')
  for (const { execPath, version, major } of binaries) {
    const source = `
const invoke = require(${JSON.stringify(ROOT)})
invoke.require(${JSON.stringify(ECHO)}).then((echo) => echo.echo('started a worker'))
  .then((said) => console.log(said), (error) => console.log('refused ' + error.code))
  .finally(() => process.permission.has('child') && invoke.globalPool().close())
`
    const stdout = await new Promise((resolve) =>
      execFile(execPath, ['--permission', '--allow-fs-read=*', '--allow-addons', '-e', source], { timeout: 30000 }, (_, out) => resolve(out)),
    )
    t.is(stdout, 'refused ERR_ACCESS_DENIED\n', version)
    // From Node 26 a worker's channel to the parent is a socket, which --allow-net grants.
    const granted = ['--allow-child-process', ...(major >= 26 ? ['--allow-net'] : [])]
    const allowed = await new Promise((resolve) =>
      execFile(execPath, ['--permission', '--allow-fs-read=*', '--allow-addons', ...granted, '-e', source], { timeout: 30000 }, (_, out) => resolve(out)),
    )
    t.is(allowed, 'started a worker\n', `${version} with ${granted.join(' ')}`)
    if (major >= 26) {
      const noNet = await new Promise((resolve) =>
        execFile(execPath, ['--permission', '--allow-fs-read=*', '--allow-addons', '--allow-child-process', '-e', source], { timeout: 30000 }, (_, out) => resolve(out)),
      )
      t.is(noNet, 'refused ERR_ACCESS_DENIED\n', `${version} without --allow-net`)
    }
  }
})
