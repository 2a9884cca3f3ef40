'use strict'

const test = require('ava')
const path = require('node:path')
const invoke = require('..')
const { runNode, waitFor } = require('./helpers/processes')
const { freshPool } = require('./helpers/pools')

test("output: a function hears each line of every worker's stdout and stderr, with the pid", async (t) => {
  const lines = []
  const pool = invoke.pool({ limit: 1, output: (line, source) => lines.push({ line, ...source }) })
  t.teardown(() => pool.close({ force: true }))
  const echo = await invoke.require('./fixtures/echo', { pool })
  const pid = await echo.pid()
  await echo.log('first\nsecond')
  await waitFor(() => lines.length === 4, 10000, 'four lines')
  const sorted = (stream) => lines.filter((l) => l.stream === stream).map((l) => l.line)
  t.deepEqual(sorted('stdout'), ['first', 'second'])
  t.deepEqual(sorted('stderr'), ['first', 'second (stderr)'])
  t.true(lines.every((l) => l.pid === pid))
})

test("output: 'prefix' marks each line with the worker's pid", async (t) => {
  const run = await runNode([path.join(__dirname, 'fixtures', 'output-parent.js')])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /^\[worker (\d+)\] two\n\[worker \1\] lines\n$/)
  t.regex(run.stderr, /^\[worker (\d+)\] two\n\[worker \1\] lines \(stderr\)\n$/)
})

test('a bad output option is a TypeError', (t) => {
  t.throws(() => invoke.pool({ output: 'pipe' }), { instanceOf: TypeError, message: /output/ })
})

for (const detached of [false, true]) {
  const where = detached ? 'in a process group of its own' : "in the worker's process group"
  test(`a worker's own process ${where} holding its captured output pipes open delays its replacement by seconds only`, async (t) => {
    // One worker, retired after each call: the next call needs the first worker's exit reported,
    // which waits for its output to end, and the holder sleeps longer than the test may run.
    const pool = freshPool(t, { limit: 1, minimum: 0, recycleAfter: 1, output: () => {} })
    const mod = await invoke.require('./fixtures/pipe-holder', { pool })
    const { holder, worker } = await mod.startHolder(detached)
    t.teardown(() => {
      try {
        process.kill(holder, 'SIGKILL')
      } catch {}
    })
    t.not(await mod.pid(), worker)
  })
}
