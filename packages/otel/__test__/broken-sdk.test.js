'use strict'
// A subscriber that throws is an uncaught exception to Node: in the parent a crash, in a worker
// the end of the worker and its calls. A broken SDK under invoke-parallel-otel (a tracer, span or
// meter that throws) must cost the telemetry, never a call. Before, every call crashed the parent
// or its worker. (ava fails the file on an uncaught exception in this process.)

const test = require('ava')
const fc = require('fast-check')
const path = require('node:path')
const invoke = require('invoke-parallel')
const { instrument } = require('..')
const { brokenProviders } = require('./fixtures/broken-sdk')

const PARTS = ['startSpan', 'spanContext', 'setAttribute', 'setStatus', 'recordException', 'end', 'add', 'record']
const ECHO = path.join(__dirname, '..', '..', '..', '__test__', 'fixtures', 'echo.js')

test.serial('calls settle as without telemetry when any part of the SDK throws, in the parent and in the workers (generated)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.subarray(PARTS, { minLength: 1 }), fc.subarray(PARTS, { minLength: 1 }), async (parentBroken, workerBroken) => {
      const instrumentation = instrument(brokenProviders(parentBroken))
      const errors = []
      const pool = invoke.pool({
        limit: 1,
        env: { ...process.env, BROKEN_SDK: workerBroken.join(',') },
        execArgv: ['--require', path.join(__dirname, 'fixtures', 'broken-sdk.js')],
        onError: (error) => errors.push(error),
      })
      try {
        const echo = await invoke.require(ECHO, { pool })
        t.is(await echo.echo('fine'), 'fine')
        await t.throwsAsync(echo.fail('its own error'), { message: 'its own error' })
        t.is(await echo({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }).add(2, 3), 5)
        t.deepEqual(errors, [], 'no worker died')
      } finally {
        instrumentation.disable()
        await pool.close()
      }
    }),
    { numRuns: 8 },
  )
})
