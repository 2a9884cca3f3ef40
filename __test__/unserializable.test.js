'use strict'
// An argument that cannot be cloned is located in the TypeError, whatever surrounds it.

const test = require('ava')
const invoke = require('..')

test('a function under a Map whose key has no string form is located, not a crash of the locating', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const mirror = await invoke.require('./fixtures/mirror', { pool })
  const key = Object.create(null)
  const error = await t.throwsAsync(mirror.echo(new Map([[key, { fn() {} }]])), { instanceOf: TypeError })
  t.is(error.code, 'ERR_INVOKE_UNSERIALIZABLE')
  t.regex(error.message, /arguments\[0\]\.get\(<an object>\)\.fn is a function/)
})
