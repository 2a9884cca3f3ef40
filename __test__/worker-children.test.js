'use strict'
// What becomes of the processes a worker starts when the worker exits by itself, per OS (README,
// "What differs per OS"): on Unix they keep running (the worker's process group is signalled only
// when a worker must be ended); on Windows the worker's Node started them in its job object,
// which ends them with it, unless they were started detached.

const test = require('ava')
const invoke = require('..')
const { isAlive, waitFor } = require('./helpers/processes')
const { freshPool } = require('./helpers/pools')

const onWindows = process.platform === 'win32'

test(`a process a worker started ${onWindows ? 'ends' : 'keeps running'} when the worker exits by itself; a detached one keeps running`, async (t) => {
  const pool = freshPool(t, { limit: 1, onError: () => {} })
  const mod = await invoke.require('./fixtures/starts-child', { pool, noRetry: true })
  const [attached, detached] = [await mod.start(false), await mod.start(true)]
  t.teardown(() => [attached, detached].filter(isAlive).forEach((pid) => process.kill(pid, 'SIGKILL')))
  await t.throwsAsync(mod.exit(), { code: 'ERR_INVOKE_WORKER_DIED' })
  if (onWindows) await waitFor(() => !isAlive(attached), 10000, 'the job object to end the attached process')
  else t.true(isAlive(attached))
  t.true(isAlive(detached))
})
