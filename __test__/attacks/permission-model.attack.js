'use strict'
// Node's permission model (`--permission`, Node 22+): a program not granted `--allow-child-process`
// may not start processes. It must grant `--allow-addons` to load this package, and the addon then
// spawns workers from Rust, which the permission model cannot see: the calls run as if the
// program had been allowed. Found by attack-eco; a decision for the lead (refuse at pool creation
// with a coded error when `process.permission.has('child')` is false, or document that loading the
// addon is the grant). This test asserts the refusal; it fails while workers start anyway.

const test = require('ava')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { nodeBinaries } = require('../helpers/node-binaries')

const ROOT = path.join(__dirname, '..', '..')
const ECHO = path.join(__dirname, '..', 'fixtures', 'echo.js')

test('without --allow-child-process, a pool refuses to start workers, with a code', async (t) => {
  const binaries = nodeBinaries().filter(({ major }) => major >= 22)
  if (binaries.length === 0) return t.pass('no Node 22+ here')
  for (const { execPath, version } of binaries) {
    const source = `
const invoke = require(${JSON.stringify(ROOT)})
invoke.require(${JSON.stringify(ECHO)}).then((echo) => echo.echo('started a worker'))
  .then((said) => console.log(said), (error) => console.log('refused ' + error.code))
  .finally(() => invoke.globalPool().close())
`
    const stdout = await new Promise((resolve) =>
      execFile(execPath, ['--permission', '--allow-fs-read=*', '--allow-addons', '-e', source], { timeout: 30000 }, (_, out) => resolve(out)),
    )
    t.regex(stdout, /^refused ERR_/, `${version}: ${stdout}`)
  }
})
