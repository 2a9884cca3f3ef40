'use strict'
// The examples `npm run example` and `npm run example:stream` run, end to end.

const test = require('ava')
const path = require('node:path')
const { runNode } = require('./helpers/processes')

const root = path.join(__dirname, '..')

test('the test-runner example runs its sample and reports the totals', async (t) => {
  const run = await runNode([path.join(root, 'examples', 'test-runner', 'run.js')], { cwd: root, timeout: 60000 })
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /14 tests run: 11 passed, 3 failed/)
  t.regex(run.stdout, /\d distinct worker processes?: \d+/)
})

test('the stream example aggregates every record and stops early on break', async (t) => {
  const run = await runNode([path.join(root, 'examples', 'stream', 'run.js'), '2000'], { cwd: root, timeout: 60000 })
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /^2000 records streamed from a worker/m)
  t.regex(run.stdout, /first three sales over 990: ids \d+, \d+, \d+/)
})
