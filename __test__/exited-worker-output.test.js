'use strict'
// A worker's exit is reported once what it wrote has been read. A process it started may hold
// its output pipes after it exited: what that process writes is waited for while it comes (it
// is the worker's output), under either driver, and one in the worker's process group is ended
// with the group at the leave deadline.
//
// On Windows a worker's Node puts what it starts into a job object of its own, which ends those
// processes with it: only a detached one outlives the worker there.

const test = require('ava')
const invoke = require('..')
const { isAlive, waitFor } = require('./helpers/processes')
const { poolOnDriver, DRIVERS } = require('./helpers/pools')
const { unixTest } = require('./helpers/platform')

for (const driver of DRIVERS) {
  test(`${driver}: a line a worker's own process writes to the worker's output after the worker exited is heard before the exit is reported`, async (t) => {
    const lines = []
    const pool = poolOnDriver(t, driver, { output: (line) => lines.push(line), onError: () => {} })
    const mod = await invoke.require('./fixtures/late-writer', { pool, noRetry: true })
    const writer = await mod.startWriter('late')
    t.teardown(() => isAlive(writer) && process.kill(writer, 'SIGKILL'))
    await t.throwsAsync(mod.exit(), { code: 'ERR_INVOKE_WORKER_DIED' })
    t.deepEqual(lines, ['the worker exits', 'written after the worker exited'])
  })

  unixTest('process groups')(`${driver}: a worker's own process in its group that floods its output after it exited is ended with the group, so the exit is reported`, async (t) => {
    let lines = 0
    const pool = poolOnDriver(t, driver, { output: () => lines++, onError: () => {} })
    const mod = await invoke.require('./fixtures/late-writer', { pool, noRetry: true })
    const writer = await mod.startWriter('flood')
    t.teardown(() => isAlive(writer) && process.kill(writer, 'SIGKILL'))
    await t.throwsAsync(mod.exit(), { code: 'ERR_INVOKE_WORKER_DIED' })
    t.true(lines > 1, 'the flood was heard')
    await waitFor(() => !isAlive(writer), 10000, 'the writer to be ended')
    t.pass()
  })
}
