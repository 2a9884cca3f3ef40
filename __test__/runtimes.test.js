'use strict'
// Runtimes that are not Node get a clear error, never a crash: Bun and Deno (the real ones, from
// their npm packages) and a Node single executable application, in which a worker cannot start.

const test = require('ava')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { currentTarget } = require('../lib/platform')
const { testWhere, cannotRun } = require('./helpers/platform')

const root = path.join(__dirname, '..')
const fixtures = path.join(__dirname, 'fixtures', 'runtimes')
const bin = (name) => path.join(root, 'node_modules', '.bin', name)
// This platform's build (a clone may hold builds for others beside it).
const addon = path.join(root, `invoke-parallel.${currentTarget().key}.node`)

/** Runs `file` with `command`; what it printed as JSON, the process having exited by itself. */
async function run(t, command, args) {
  const env = { ...process.env, INVOKE_PARALLEL_DIR: root, INVOKE_PARALLEL_ADDON: addon, NO_COLOR: '1' }
  const result = await new Promise((resolve) => {
    execFile(command, args, { env, timeout: 60000 }, (error, stdout, stderr) => resolve({ error, stdout, stderr }))
  })
  t.falsy(result.error, `${command} exited with ${result.error?.code ?? result.error?.signal}: ${result.stderr}`)
  return JSON.parse(result.stdout.trim().split('\n').pop())
}

function assertRefused(t, seen, name) {
  t.is(seen.code, 'ERR_INVOKE_UNSUPPORTED_RUNTIME', JSON.stringify(seen))
  t.true(seen.message.includes(name), seen.message)
}

testWhere(cannotRun(bin('bun')))('Bun gets ERR_INVOKE_UNSUPPORTED_RUNTIME naming it, not an abort', async (t) => {
  const seen = await run(t, bin('bun'), [path.join(fixtures, 'require-package.cjs')])
  assertRefused(t, seen, 'Bun 1.')
})

testWhere(cannotRun(bin('deno')))('Deno gets ERR_INVOKE_UNSUPPORTED_RUNTIME naming it, not an abort', async (t) => {
  const seen = await run(t, bin('deno'), ['run', '-A', path.join(fixtures, 'require-package.cjs')])
  assertRefused(t, seen, 'Deno 2.')
})

for (const [name, command, args, says] of [
  ['Bun', 'bun', [], 'Bun 1.'],
  ['Deno', 'deno', ['run', '-A'], 'Deno 2.'],
]) {
  testWhere(cannotRun(bin(command)))(`${name} importing the ES module entry gets ERR_INVOKE_UNSUPPORTED_RUNTIME too`, async (t) => {
    const seen = await run(t, bin(command), [...args, path.join(fixtures, 'import-package.mjs')])
    assertRefused(t, seen, says)
  })
}

// Deno from npm is a glibc program: it cannot load the musl build a musl Node uses.
const denoLoadsAddon = currentTarget().key.endsWith('-musl') ? `deno from npm is a glibc program; the addon here is ${currentTarget().key}` : null

testWhere(cannotRun(bin('deno')) ?? denoLoadsAddon)('a host lacking libuv functions is named with them, and the addon refuses a pool instead of aborting', async (t) => {
  // Deno lacks some of libuv's functions: past the check of its name, the addon's own check holds.
  const seen = await run(t, bin('deno'), ['run', '-A', path.join(fixtures, 'load-addon.cjs')])
  t.true(seen.missing.length > 0 && seen.missing.every((name) => name.startsWith('uv_')), JSON.stringify(seen))
  assertRefused(t, seen.check, seen.missing[0])
  t.true(seen.pool.includes(`lacks libuv's ${seen.missing[0]}`), seen.pool)
})

test('Node itself lacks none of the libuv functions', (t) => {
  t.deepEqual(require(addon).missingLibuv(), [])
})

testWhere(cannotRun(bin('postject'), ['--help']))('a single executable application gets ERR_INVOKE_UNSUPPORTED_RUNTIME: its executable cannot be a worker', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-sea-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const config = path.join(dir, 'sea-config.json')
  const blob = path.join(dir, 'sea.blob')
  const app = path.join(dir, 'app')
  const main = path.join(fixtures, 'require-package.cjs')
  fs.writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true }))
  await exec(process.execPath, ['--experimental-sea-config', config])
  fs.copyFileSync(process.execPath, app)
  await exec(bin('postject'), [app, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'])
  const seen = await run(t, app, [])
  assertRefused(t, seen, 'single executable application')
})

function exec(command, args) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 60000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${stderr}`)) : resolve(stdout),
    )
  })
}
