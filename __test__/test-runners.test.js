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
/** jest and vitest load native modules (jest-resolve's unrs-resolver, rollup) npm installed for the host it ran on. */
const JEST_RESOLVER = "require(require.resolve('unrs-resolver', { paths: [require.resolve('jest-resolve')] }))"
const jestTest = testWhere(cannotRun(process.execPath, ['-e', JEST_RESOLVER], 'jest (its resolver)'))
const vitestTest = testWhere(cannotRun(process.execPath, [path.join(ROOT, 'node_modules', '.bin', 'vitest'), '--version'], 'vitest'))
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
