'use strict'

const test = require('ava')
const { testWhere, linkFolder, cannotLinkFolders } = require('./helpers/platform')
const { scaled } = require('./helpers/time')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const invoke = require('..')
const pools = require('./helpers/pools')
const { runNode } = require('./helpers/processes')

const freshPool = (t) => pools.freshPool(t, { limit: 1 })

test('an .mjs worker module loads; named and default exports are methods', async (t) => {
  const pool = freshPool(t)
  const mod = await invoke.require('./fixtures/esm-worker.mjs', { pool })
  t.deepEqual(Object.keys(mod).sort(), ['default', 'describe', 'double', 'hasSignal', 'workerId'])
  t.true(await mod.hasSignal(), 'the ESM entry of invoke-parallel/worker shares the call context')
  t.is(await mod.workerId(), 1, 'the ESM entry of invoke-parallel/worker has info()')
  t.is(await mod.double(21), 42)
  t.deepEqual(await mod.describe('x'), { type: 'string', url: true })
  t.is(await mod.default('esm'), 'hello esm')
})

test('a .js file in a "type": "module" package loads, with its object default export unpacked', async (t) => {
  const pool = freshPool(t)
  const mod = await invoke.require('./fixtures/esm-package/worker.js', { pool })
  t.is(await mod.triple(3), 9)
  t.is(await mod.named(), 'named')
})

test('an ES module that throws at load rejects with its error', async (t) => {
  const pool = freshPool(t)
  await t.throwsAsync(invoke.require('./fixtures/esm-package/throws.js', { pool }), {
    instanceOf: RangeError,
    message: 'esm load failure',
  })
})

test('file URLs work as specifiers', async (t) => {
  const pool = freshPool(t)
  const url = new URL(`file://${path.join(__dirname, 'fixtures', 'esm-worker.mjs')}`)
  const byUrl = await invoke.require(url, { pool })
  const byString = await invoke.require(url.href, { pool })
  t.is(byUrl, byString)
  t.is(await byUrl.double(2), 4)
})

testWhere(cannotLinkFolders())('import from an ES module: default and named exports, relative resolution from that module', async (t) => {
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-esm-'))
  t.teardown(() => fs.rmSync(project, { recursive: true, force: true }))
  fs.mkdirSync(path.join(project, 'node_modules'))
  linkFolder(path.join(__dirname, '..'), path.join(project, 'node_modules', 'invoke-parallel'))
  for (const file of ['main.mjs', 'worker.mjs']) {
    fs.copyFileSync(path.join(__dirname, 'fixtures', 'esm-parent', file), path.join(project, file))
  }
  const run = await runNode([path.join(project, 'main.mjs')], { cwd: os.tmpdir() })
  t.is(run.code, 0, run.stderr)
  t.deepEqual(JSON.parse(run.stdout), {
    twice: 42,
    sameProxy: true,
    cancelled: true,
    retryIsError: true,
    globalPool: 'function',
  })
})

test('an ES module with top-level await loads; its awaits finish before any call runs', async (t) => {
  t.timeout(scaled(20000))
  const pool = freshPool(t)
  const mod = await invoke.require('./fixtures/esm-tla.mjs', { pool })
  t.deepEqual(Object.keys(mod).sort(), ['order', 'state'])
  t.is(await mod.state(), 'ready after await')
  t.deepEqual(await mod.order(), ['tla started', 'tla finished'])
})

test('modules loaded after one with top-level await run after its awaits, on every worker', async (t) => {
  t.timeout(scaled(20000))
  // recycleAfter: 1 makes the second call land on a fresh worker, which loads both modules itself.
  const pool = invoke.pool({ limit: 1, recycleAfter: 1 })
  t.teardown(() => pool.close({ force: true }))
  const tla = await invoke.require('./fixtures/esm-tla.mjs', { pool })
  const after = await invoke.require('./fixtures/after-tla.js', { pool })
  const first = await after.seenAtLoad()
  const fresh = await after.seenAtLoad()
  t.deepEqual(first, ['tla started', 'tla finished', 'commonjs'])
  t.deepEqual(fresh, ['tla started', 'tla finished', 'commonjs'])
  t.is(await tla.state(), 'ready after await')
})
