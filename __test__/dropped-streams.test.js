'use strict'
// A stream whose caller drops it unread (one item taken by hand, no loop, so no return()) held its
// generator in the worker, its buffered items and, with maxPerChild, its worker's place for as
// long as the pool lived: three such peeks on a one-call worker hung on the second.

const test = require('ava')
const path = require('node:path')
const { runNode } = require('./helpers/processes')

for (const mode of ['untraced', 'traced']) {
  test(`a dropped stream is stopped in its worker and frees its place (${mode})`, async (t) => {
    const run = await runNode(['--expose-gc', path.join(__dirname, 'fixtures', 'dropped-stream.js'), mode], { timeout: 40000 })
    t.false(run.killed, `it hung: ${run.stdout}${run.stderr}`)
    t.is(run.code, 0, run.stderr)
    const states = JSON.parse(run.stdout)
    t.is(states.length, 3)
    for (const state of states) t.true(state.finished, JSON.stringify(states))
  })
}
