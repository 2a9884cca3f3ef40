'use strict'
// Text with multi-byte characters arrives intact wherever a character falls against the native
// side's buffer sizes: the first read of a call's JSON text takes 511 bytes.

const test = require('ava')
const { scaled } = require('./helpers/time')
const invoke = require('..')

let pool
let mirror

test.before(async () => {
  pool = invoke.pool({ limit: 1 })
  mirror = await invoke.require('./fixtures/mirror', { pool })
})
test.after.always(() => pool.close({ force: true }))

test('the strings of the bug report arrive intact', async (t) => {
  t.is(await mirror.echo('é'.repeat(251)), 'é'.repeat(251))
  t.is(await mirror.len('─'.repeat(168)), 168)
})

test('a call whose JSON text ends near 511 bytes arrives intact, whatever character straddles the end', async (t) => {
  t.timeout(30_000)
  const calls = []
  for (const char of ['é', '─', '😀', '\u0800', '\u{10ffff}']) {
    for (let padding = 0; padding < 8; padding++) {
      for (let count = 100; count <= 520 / Buffer.byteLength(char); count++) {
        const text = 'a'.repeat(padding) + char.repeat(count)
        calls.push(mirror.echo(text).then((back) => back === text || `${padding} + ${count} × ${char}`))
      }
    }
  }
  t.deepEqual((await Promise.all(calls)).filter((ok) => ok !== true), [])
})
