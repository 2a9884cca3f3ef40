'use strict'

const test = require('ava')
const path = require('node:path')
const invoke = require('..')
const { runNode, waitFor } = require('./helpers/processes')

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
