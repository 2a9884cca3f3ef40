'use strict'
// Module shapes users already have: `module.exports = fn`, a package that can only be imported,
// TypeScript on the Node versions that strip types.

const test = require('ava')
const path = require('node:path')
const { execFile } = require('node:child_process')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')
const { runNode } = require('./helpers/processes')
const { exampleProject } = require('./helpers/readme-examples')
const { testWhere, cannotLinkFolders } = require('./helpers/platform')

test('module.exports = fn: the function is the method `default`, its own functions methods too', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const add = await invoke.require('./fixtures/exports-function', { pool })
  t.deepEqual(Object.keys(add).sort(), ['default', 'twice'])
  t.is(await add.default(2, 3), 5)
  t.is(await add.twice(21), 42)
  t.is(await add({ noRetry: true }).default(1, 1), 2)
})

test('module.exports = fn with its own `apply` and `call`: default runs the function, by call and by invoke.map', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const add = await invoke.require('./fixtures/exports-function-own-call', { pool })
  t.is(await add.default(2, 3), 5)
  t.is(await add.apply(), 'the export named apply')
  t.is(await add.call(), 'the export named call')
  const mapped = []
  for await (const sum of invoke.map(add.default, [1, 2, 3])) mapped.push(sum)
  t.deepEqual(mapped, [1, 2, 3])
})

test('module.exports = new Service(): its prototype methods (inherited too) are methods, run with the instance as this', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const service = await invoke.require('./fixtures/exports-instance', { pool })
  t.deepEqual(Object.keys(service).sort(), ['add', 'describe'])
  t.is(await service.add(5), 15)
  t.is(await service.describe(), 'service at 10')
})

test('module.exports = class: its static methods, inherited ones too, are methods', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const squares = await invoke.require('./fixtures/exports-class', { pool })
  t.deepEqual(Object.keys(squares).sort(), ['area', 'default', 'square'])
  t.is(await squares.square(3), 9)
  await t.throwsAsync(squares.default(), { instanceOf: TypeError, message: /cannot be invoked without 'new'/ })
})

test('an export behind a getter that throws (a lazy optional dependency) is no method; the module loads', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const lazy = await invoke.require('./fixtures/exports-lazy-getter', { pool })
  t.deepEqual(Object.keys(lazy), ['plain'])
  t.is(await lazy.plain(), 'plain')
})

test('an ES module export reassigned after load: the call runs the binding as it is now, as import does', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const live = await invoke.require('./fixtures/live-binding.mjs', { pool })
  t.is(await live.handler(), 'first')
  t.is(await live.swap(), 'swapped')
  t.is(await live.handler(), 'second')
  const mapped = []
  for await (const said of invoke.map(live.handler, [1])) mapped.push(said)
  t.deepEqual(mapped, ['second'])
})

test('a package whose exports map only has `import` loads, as its main entry and through a pattern', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const main = await invoke.require('import-only', { pool })
  t.is(await main.whoami(), 'import-only')
  const text = await invoke.require('import-only/tools/text', { pool })
  t.is(await text.upper('shout'), 'SHOUT')
  // What the package does not export stays refused, with require's error.
  await t.throwsAsync(invoke.require('import-only/lib/index.mjs', { pool }), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
  await t.throwsAsync(invoke.require('import-only/tools/missing', { pool }), { code: 'MODULE_NOT_FOUND' })
})

test('an import-only package required by its own name from inside it (self-reference) resolves as import would', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  // The requiring file is inside the package (its nearest package.json is the package's).
  const { requireOwn } = require('./fixtures/self-referencing/lib/requires-itself.cjs')
  const main = await requireOwn('self-referencing', { pool })
  t.is(await main.whoami(), 'self-referencing')
  const tools = await requireOwn('self-referencing/tools', { pool })
  t.is(await tools.upper('own'), 'OWN')
  await t.throwsAsync(requireOwn('self-referencing/missing', { pool }), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
})

const SHAPES_PARENT = path.join(__dirname, 'fixtures', 'shapes-parent.js')

function runParent(execPath) {
  return new Promise((resolve, reject) => {
    execFile(execPath, [SHAPES_PARENT], { timeout: 60000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${execPath}: ${error.message}\n${stderr}`))
      else resolve({ outcome: JSON.parse(stdout), stderr })
    })
  })
}

/** Whether a Node version strips types without a flag: 22.18 and later 22s, 23.6 and up. */
function stripsTypes(version) {
  const [major, minor] = version.slice(1).split('.').map(Number)
  return major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)
}

test('on every Node found: TypeScript workers where types are stripped (a SyntaxError before), import-only packages, one-function modules', async (t) => {
  const binaries = [{ execPath: process.execPath, version: process.version }, ...require('./helpers/node-binaries').nodeBinaries()]
  for (const { execPath, version } of binaries) {
    const { outcome, stderr } = await runParent(execPath)
    t.deepEqual(outcome.importOnly, { ok: 'import-only' }, version)
    t.deepEqual(outcome.oneFunction, { ok: 5 }, version)
    if (stripsTypes(version)) {
      t.deepEqual(outcome.ts, { ok: 3 }, version)
      t.deepEqual(outcome.cts, { ok: 7 }, version)
      // An enum needs --experimental-transform-types, which the parent's flags would pass on.
      t.is(outcome.enum.code, 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX', version)
      t.notRegex(stderr, /ExperimentalWarning/, version)
    } else {
      for (const load of [outcome.ts, outcome.cts, outcome.enum]) t.is(load.error, 'SyntaxError', version)
    }
  }
  t.log(`ran on ${binaries.map((b) => b.version).join(', ')}`)
})

testWhere(cannotLinkFolders())("the README's one-function module example runs as pasted", async (t) => {
  const { dir } = exampleProject(t, 'shapes')
  const run = await runNode([path.join(dir, 'main.mjs')])
  t.is(run.code, 0, run.stderr)
  t.is(run.stdout, '307200\n')
})

test('an exports field of any shape resolves to a path inside the package or to nothing, never throws', (t) => {
  const fc = require('fast-check')
  const { exportsTarget } = require('../lib/resolve-import')
  const subpath = fc.oneof(fc.constant('.'), fc.string().map((s) => `./${s}`))
  const key = fc.oneof(subpath, fc.constantFrom('import', 'require', 'node', 'default', 'types', './*', './a/*.js'))
  const exportsField = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constant(null),
      fc.string().map((s) => `./${s}`),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      fc.jsonValue(),
    ),
  })).value
  fc.assert(
    fc.property(exportsField, subpath, (exports, wanted) => {
      const target = exportsTarget(exports, wanted)
      return target === undefined || typeof target === 'string'
    }),
  )
  t.is(exportsTarget({ '.': { require: './a.cjs', import: './b.mjs' } }, '.'), './b.mjs')
  t.is(exportsTarget({ './x/*': { import: ['./lib/*.mjs'] } }, './x/y/z'), './lib/y/z.mjs')
  t.is(exportsTarget({ './*': './all/*.js', './x/*': './x/*.js' }, './x/y'), './x/y.js')
  t.is(exportsTarget({ import: null, default: './d.js' }, '.'), undefined)
})
