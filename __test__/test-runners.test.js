'use strict'
// The library under real test runners. jest evaluates this package's JS once per test file (a
// module registry each), vitest once per file or per vm context depending on its pool, node --test
// once per file process: in every case a runner process has one global pool (a worker thread its
// own), its workers are bounded by the pool's size, none outlives the run, and
// `jest --detectOpenHandles` finds nothing open.

const test = require('ava')
const os = require('node:os')
const path = require('node:path')
const { scratchDir } = require('./helpers/pools')
const { isAlive, waitFor } = require('./helpers/processes')
const { exampleProject } = require('./helpers/readme-examples')
const { testWhere, cannotLinkFolders, cannotRun } = require('./helpers/platform')
const { ROOT, IDENTITY, runJest, runVitest, runNodeTest, callingTest, readLog, byRunner, startedWorkers } = require('./helpers/runner-projects')

const FILES = 24
/** jest and vitest load native modules (jest-resolve's unrs-resolver, vitest's rolldown) npm
 * installed for the host it ran on: a musl Node on a glibc host, or Windows, finds none for itself. */
const JEST_RESOLVER = "require(require.resolve('unrs-resolver', { paths: [require.resolve('jest-resolve')] }))"
const VITEST_BUNDLER = "import(require.resolve('rolldown', { paths: [require.resolve('vitest')] })).catch(() => process.exit(1))"
const jestTest = testWhere(cannotRun(process.execPath, ['-e', JEST_RESOLVER], 'jest (its resolver)'))
const vitestTest = testWhere(
  cannotRun(process.execPath, [path.join(ROOT, 'node_modules', '.bin', 'vitest'), '--version'], 'vitest') ??
    cannotRun(process.execPath, ['-e', VITEST_BUNDLER], 'vitest (its bundler, rolldown)'),
)
/** The global pool's size: its default limit. Workers are never recycled here, so every worker that ever ran counts: the peak. */
const LIMIT = os.availableParallelism() + 1

function project(dir, count, extension, options) {
  const log = path.join(dir, 'log.jsonl')
  const files = {}
  for (let i = 0; i < count; i++) files[`calls-${String(i).padStart(2, '0')}.test.${extension}`] = callingTest(log, options)
  return { log, files }
}

/** Each runner process used one pool and at most LIMIT workers. */
function assertOnePoolEach(t, entries) {
  for (const entry of entries) t.like(entry, { mapped: 3, cancelled: 'ERR_INVOKE_CANCELLED' })
  for (const [runner, seen] of byRunner(entries)) {
    t.is(new Set(seen.map((entry) => entry.pool)).size, 1, `runner ${runner}: pools ${seen.map((e) => e.pool)}`)
    t.true(new Set(seen.map((entry) => entry.worker)).size <= LIMIT)
  }
}

/** The workers exit once their runner has: they read the end of their channel. */
function workersGone(entries) {
  return waitFor(() => entries.every((entry) => !isAlive(entry.worker)), 20000, 'the workers to exit after the run')
}

for (const [how, args] of [
  ['--runInBand', ['--runInBand']],
  ['-w 2', ['-w', '2']],
]) {
  jestTest.serial(`jest ${how}: ${FILES} test files share one global pool per jest process`, async (t) => {
    const dir = scratchDir(t, 'jest')
    const { log, files } = project(dir, FILES, 'js')
    const run = await runJest(dir, files, args)
    t.is(run.code, 0, run.stderr)
    const entries = readLog(log)
    t.is(entries.length, FILES)
    assertOnePoolEach(t, entries)
    // Every worker process started, used or not: per jest process, never more than one pool's worth.
    const started = startedWorkers(dir)
    t.true(started.length > 0)
    for (const runner of new Set(started.map((start) => start.ppid))) {
      const count = started.filter((start) => start.ppid === runner).length
      t.log(`jest process ${runner} started ${count} workers (limit ${LIMIT})`)
      t.true(count <= LIMIT)
    }
    await workersGone(started.map((start) => ({ worker: start.pid })))
  })
}

jestTest.serial('jest --detectOpenHandles finds nothing open: closed pools, a closed isolated module, the idle global pool', async (t) => {
  const dir = scratchDir(t, 'jest-handles')
  const use = (what) => `
const invoke = require(${JSON.stringify(ROOT)})
${what}
`
  const files = {
    'own-pool.test.js': use(`
test('a pool of its own, closed', async () => {
  const pool = invoke.pool({ limit: 2 })
  const identity = await invoke.require(${JSON.stringify(IDENTITY)}, { pool })
  await Promise.all([identity.whoAmI(), identity.whoAmI()])
  await pool.close()
})`),
    'isolated.test.js': use(`
test('an isolated module, closed', async () => {
  const identity = await invoke.require(${JSON.stringify(IDENTITY)}, { isolated: true })
  await identity.whoAmI()
  await invoke.close(identity)
})`),
    'global.test.js': use(`
test('the global pool, left idle', async () => {
  const identity = await invoke.require(${JSON.stringify(IDENTITY)})
  await identity.whoAmI()
})`),
  }
  const run = await runJest(dir, files, ['--detectOpenHandles'])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /Tests:\s+3 passed/)
  t.notRegex(run.stderr + run.stdout, /open handle/i)
})

jestTest.serial(`jest --runInBand: ${FILES} test files that each drop a pool and an isolated module without closing them do not pile up workers`, async (t) => {
  if (process.platform !== 'linux') return t.pass('children are counted from /proc')
  const dir = scratchDir(t, 'jest-dropped')
  const log = path.join(dir, 'log.jsonl')
  const source = `
const fs = require('node:fs')
const invoke = require(${JSON.stringify(ROOT)})
/** The jest process's living children (--runInBand: the tests run in it), from /proc. */
function children() {
  let living = 0
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync('/proc/' + entry + '/stat', 'utf8')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(ppid) === process.pid && state !== 'Z') living++
    } catch {}
  }
  return living
}
test('uses a pool and an isolated module, and closes neither', async () => {
  const pool = invoke.pool({ limit: 2, maxPerChild: 1 })
  const own = await invoke.require(${JSON.stringify(IDENTITY)}, { pool })
  await Promise.all([own.whoAmI(), own.whoAmI()])
  const isolated = await invoke.require(${JSON.stringify(IDENTITY)}, { isolated: true, options: { limit: 1 } })
  await isolated.whoAmI()
  fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ children: children() }) + '\\n')
})
`
  const files = {}
  for (let i = 0; i < FILES; i++) files[`drops-${String(i).padStart(2, '0')}.test.js`] = source
  // Each file starts three workers: on a loaded machine that can take longer than jest's 5 s default.
  const run = await runJest(dir, files, ['--runInBand'], { testTimeout: 120000 })
  t.is(run.code, 0, run.stderr)
  const counts = readLog(log).map((entry) => entry.children)
  t.is(counts.length, FILES)
  const peak = Math.max(...counts)
  t.log(`children after each file: ${counts.join(' ')} (without collection: up to ${FILES * 3})`)
  // A few files' worth (3 workers each) at most: see dropped-pools.test.js for why.
  t.true(peak <= 12, `peak ${peak}`)
})

for (const pool of ['forks', 'threads', 'vmForks', 'vmThreads']) {
  vitestTest.serial(`vitest --pool=${pool}: one global pool per process or thread, none left running`, async (t) => {
    const dir = scratchDir(t, `vitest-${pool}`)
    const { log, files } = project(dir, 4, 'cjs')
    const run = await runVitest(dir, files, [`--pool=${pool}`])
    t.is(run.code, 0, run.stdout + run.stderr)
    const entries = readLog(log)
    t.is(entries.length, 4)
    // A worker thread loads its own instance of the addon, so it has a global pool of its own.
    if (pool !== 'threads') assertOnePoolEach(t, entries)
    await workersGone(entries)
  })
}

test.serial('node --test: each file process has its global pool, and exits with it idle', async (t) => {
  const dir = scratchDir(t, 'node-test')
  const { log, files } = project(dir, 4, 'js', { header: "const { test } = require('node:test')" })
  const run = await runNodeTest(dir, files)
  t.is(run.code, 0, run.stdout + run.stderr)
  const entries = readLog(log)
  t.is(entries.length, 4)
  assertOnePoolEach(t, entries)
  await workersGone(entries)
})

testWhere(cannotLinkFolders() ?? cannotRun(process.execPath, ['-e', JEST_RESOLVER], 'jest (its resolver)')).serial("the README's jest example runs as pasted", async (t) => {
  const { dir } = exampleProject(t, 'jest')
  const run = await runJest(dir, {}, ['--detectOpenHandles'])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /Tests:\s+1 passed/)
  t.notRegex(run.stderr + run.stdout, /open handle/i)
})

jestTest.serial("jest --runInBand: every test file gets errors of its own realm's classes, whichever file made the shared pool", async (t) => {
  const dir = scratchDir(t, 'jest-realms')
  const throws = path.join(__dirname, 'fixtures', 'throws-native.js')
  const syntaxError = path.join(__dirname, 'fixtures', 'syntax-error.js')
  const source = `
const invoke = require(${JSON.stringify(ROOT)})
test('errors are instances of the classes of this file', async () => {
  const w = await invoke.require(${JSON.stringify(throws)})
  await expect(w.throwNative('TypeError')).rejects.toThrow(TypeError)
  const error = await w.throwNative('RangeError').catch((err) => err)
  expect(error).toBeInstanceOf(RangeError)
  expect(error).toBeInstanceOf(Error)
  expect(error.cause).toBeInstanceOf(RangeError)
  await expect(w.echo(() => {})).rejects.toThrow(TypeError)
  const token = invoke.cancelToken()
  token.resolve()
  await expect(w({ cancelToken: token }).echo(1)).rejects.toBeInstanceOf(invoke.Cancel)
  await expect(invoke.require(${JSON.stringify(syntaxError)})).rejects.toThrow(SyntaxError)
  const mapped = async () => { for await (const _ of invoke.map(w.throwNative, ['URIError'])); }
  await expect(mapped()).rejects.toThrow(URIError)
  const streams = await invoke.require(${JSON.stringify(path.join(__dirname, 'fixtures', 'streams.js'))})
  const read = async () => { for await (const _ of await streams.failAfter(1)); }
  await expect(read()).rejects.toThrow(RangeError)
}, 120000)
`
  const files = { 'a.test.js': source, 'b.test.js': source, 'c.test.js': source }
  const run = await runJest(dir, files, ['--runInBand'])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /Tests:\s+3 passed/)
})

jestTest.serial('jest.resetModules / isolateModules: invoke.map and invoke.close take what another copy of the package made', async (t) => {
  const dir = scratchDir(t, 'jest-reset-modules')
  const source = `
let invoke
beforeEach(() => {
  jest.resetModules()
  invoke = require(${JSON.stringify(ROOT)})
})
test('a proxy from an isolated copy maps through this copy', async () => {
  let other
  jest.isolateModules(() => { other = require(${JSON.stringify(ROOT)}) })
  const identity = await other.require(${JSON.stringify(IDENTITY)})
  const pids = []
  for await (const answer of invoke.map(identity.whoAmI, [1, 2, 3])) pids.push(answer.pid)
  expect(pids).toHaveLength(3)
}, 120000)
test('an isolated module loaded through another copy closes through this one', async () => {
  let other
  jest.isolateModules(() => { other = require(${JSON.stringify(ROOT)}) })
  const isolated = await other.require(${JSON.stringify(IDENTITY)}, { isolated: true })
  await isolated.whoAmI()
  await invoke.close(isolated)
  await expect(isolated.whoAmI()).rejects.toHaveProperty('code', 'ERR_INVOKE_POOL_CLOSED')
}, 120000)
`
  const run = await runJest(dir, { 'reset.test.js': source }, ['--runInBand'])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /Tests:\s+2 passed/)
})

jestTest.serial('jest: a worker module (and a file it requires) edited between runs in one jest process runs its new code', async (t) => {
  // jest --watch runs again in the same process (in band) with the package evaluated afresh, which
  // finds the process's global pool and its workers, who had the old version in their require cache.
  const dir = scratchDir(t, 'jest-edited')
  const source = `
const fs = require('node:fs')
const path = require('node:path')
const write = (name, text) => fs.writeFileSync(path.join(__dirname, name), text)
test('the next run sees the saved files', async () => {
  write('helper.js', "exports.word = 'old'\\n")
  write('changing.js', "const { word } = require('./helper')\\nexports.version = () => 'v1 ' + word\\n")
  write('unchanged.js', "const { word } = require('./helper')\\nexports.word = () => word\\n")
  let invoke = require(${JSON.stringify(ROOT)})
  expect(await (await invoke.require('./changing')).version()).toBe('v1 old')
  expect(await (await invoke.require('./unchanged')).word()).toBe('old')
  write('helper.js', "exports.word = 'new'\\n")
  write('changing.js', "const { word } = require('./helper')\\nexports.version = () => 'v2 ' + word\\nexports.added = () => 'added'\\n")
  jest.resetModules()
  invoke = require(${JSON.stringify(ROOT)})
  const second = await invoke.require('./changing')
  expect(Object.keys(second).sort()).toEqual(['added', 'version'])
  expect(await second.version()).toBe('v2 new')
  // A module that did not change, but requires one that did, runs again too.
  expect(await (await invoke.require('./unchanged')).word()).toBe('new')
}, 120000)
`
  const run = await runJest(dir, { 'edited.test.js': source }, ['--runInBand'])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /Tests:\s+1 passed/)
})

jestTest.serial('jest: an environment without setImmediate (as jest-environment-jsdom has none) maps a streamed source', async (t) => {
  const dir = scratchDir(t, 'jest-no-immediate')
  // jest-environment-jsdom deletes setImmediate and clearImmediate from the test's globals; this
  // environment does only that, over jest's node environment.
  const environment = `
const NodeEnvironment = require(${JSON.stringify(require.resolve('jest-environment-node', { paths: [require.resolve('jest')] }))}).TestEnvironment
module.exports = class WithoutImmediate extends NodeEnvironment {
  constructor(...args) {
    super(...args)
    delete this.global.setImmediate
    delete this.global.clearImmediate
  }
}
`
  const source = `
const invoke = require(${JSON.stringify(ROOT)})
test('map over an async source', async () => {
  expect(typeof setImmediate).toBe('undefined')
  const identity = await invoke.require(${JSON.stringify(IDENTITY)})
  async function* numbers() { yield 1; yield 2; yield 3 }
  let mapped = 0
  for await (const answer of invoke.map(identity.whoAmI, numbers())) mapped += answer.pid > 0 ? 1 : 0
  expect(mapped).toBe(3)
}, 120000)
`
  const run = await runJest(dir, { 'environment.js': environment, 'no-immediate.test.js': source }, ['--runInBand'], {
    testEnvironment: path.join(dir, 'environment.js'),
  })
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /Tests:\s+1 passed/)
})

jestTest.serial("jest: a worker crash is reported on the console of the test file running, not one whose tests are over", async (t) => {
  const dir = scratchDir(t, 'jest-crash')
  const dies = path.join(__dirname, 'fixtures', 'dies-once.js')
  const crashing = (name) => `
const path = require('node:path')
const invoke = require(${JSON.stringify(ROOT)})
test('${name}: a worker of the shared pool dies under a call', async () => {
  const dies = await invoke.require(${JSON.stringify(dies)})
  const marker = path.join(${JSON.stringify(dir)}, '${name}.marker')
  await expect(dies({ noRetry: true }).exitOnce(marker)).rejects.toHaveProperty('code', 'ERR_INVOKE_WORKER_DIED')
})
`
  // Whichever file runs second shares the pool the first one made.
  const run = await runJest(dir, { 'first.test.js': crashing('first'), 'second.test.js': crashing('second') }, ['--runInBand'])
  t.is(run.code, 0, run.stderr)
  t.notRegex(run.stderr, /Cannot log after tests are done/)
  t.is(run.stderr.match(/exited with code 3 unexpectedly/g)?.length, 2, run.stderr)
})

jestTest.serial("jest's fake timers, on from the start, do not hold up calls, cancel tokens, map or the pool's letting go", async (t) => {
  const dir = scratchDir(t, 'jest-fake-timers')
  const cancellable = path.join(__dirname, 'fixtures', 'cancellable.js')
  const source = `
const invoke = require(${JSON.stringify(ROOT)})
test('under fake timers', async () => {
  const identity = await invoke.require(${JSON.stringify(IDENTITY)})
  const token = invoke.cancelToken()
  expect((await identity({ cancelToken: token }).whoAmI()).pid).toBeGreaterThan(0)
  let mapped = 0
  for await (const answer of invoke.map(identity.whoAmI, [1, 2, 3])) mapped += answer.pid > 0 ? 1 : 0
  expect(mapped).toBe(3)
  const waits = await invoke.require(${JSON.stringify(cancellable)})
  const stop = invoke.cancelToken()
  const call = waits({ cancelToken: stop }).untilAborted(${JSON.stringify(path.join(dir, 'proof'))})
  stop.resolve()
  await expect(call).rejects.toHaveProperty('code', 'ERR_INVOKE_CANCELLED')
})
`
  const run = await runJest(dir, { 'fake.test.js': source }, ['--detectOpenHandles'], { fakeTimers: { enableGlobally: true } })
  t.is(run.code, 0, run.stderr)
  t.regex(run.stderr, /Tests:\s+1 passed/)
  t.notRegex(run.stderr + run.stdout, /open handle/i)
})
