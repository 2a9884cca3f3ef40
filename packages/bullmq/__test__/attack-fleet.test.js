'use strict'
// Breaks found by attack-fleet (issue 23's adapter tried as a fleet user and a hostile peer would):
// each test failed before its fix.

const fc = require('fast-check')
const invoke = require('invoke-parallel')
const { fleetTest, hostedPool } = require('./helpers/fleet')

const { test, redis } = fleetTest(__filename)

const call = (pool, method, args, options = {}) => pool[invoke.callMethod]('jobs.js', method, args, options)

test('a call timeout past 2^53 ms is no deadline, as on a local pool (a host refused it as a bad job)', async (t) => {
  t.timeout(60000)
  const { pool } = await hostedPool(t, redis)
  const timeouts = fc.sample(fc.oneof(fc.double({ min: 2 ** 53 + 2, max: Number.MAX_VALUE, noNaN: true }), fc.constant(Number.MAX_VALUE)), 4)
  // Every such call runs and returns its value (before: ERR_INVOKE_BAD_JOB from the host).
  for (const timeout of timeouts) t.is(await call(pool, 'add', [1, 2], { timeout }), 3, `timeout ${timeout}`)
})

test("a job naming what its module does not export — a function's own length or name included — fails alone with ERR_INVOKE_BAD_JOB", async (t) => {
  t.timeout(90000)
  const { pool } = await hostedPool(t, redis)
  const jobs = require('./fixtures/jobs')
  const notExported = fc.oneof(
    fc.constantFrom('length', 'name', 'prototype', 'caller', 'arguments', 'constructor', '__proto__', 'then', 'toString'),
    fc.string({ minLength: 1, unit: 'grapheme' }).filter((name) => !Object.hasOwn(jobs, name)),
  )
  await fc.assert(
    fc.asyncProperty(notExported, fc.boolean(), async (name, asChunk) => {
      // Through the pool interface, as a parent whose module differs from the host's would call it.
      const method = asChunk ? invoke.mapChunk : name
      const args = asChunk ? [name, [1]] : []
      const error = await call(pool, method, args).catch((e) => e)
      t.is(error.code, 'ERR_INVOKE_BAD_JOB', `${JSON.stringify(name)}: ${error.message}`)
    }),
    { numRuns: 20 },
  )
  // The host goes on.
  t.is(await call(pool, 'add', [1, 2]), 3)
})
