'use strict'
// A worker killed for not stopping a cancelled call within `cancelGrace` died of that call: the
// calls running beside it run again elsewhere without it costing them an attempt (up to 16 such
// deaths per call, as for deaths a worker's report pins on another call).

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { poolOnDriver, scratchDir, DRIVERS } = require('./helpers/pools')
const { waitFor } = require('./helpers/processes')

for (const driver of DRIVERS) {
  test(`[${driver}] a call beside three cancelled calls whose workers are killed for ignoring it still answers`, async (t) => {
    const dir = scratchDir(t, 'cancel-kills')
    const errors = []
    // One worker, every call on it at once.
    const pool = poolOnDriver(t, driver, { dispatch: 'eager', cancelGrace: 100, onError: (e) => errors.push(e) })
    const mod = await invoke.require('./fixtures/cancellable', { pool })
    const log = path.join(dir, 'neighbour')
    // More kills than it has attempts (3): it answers on its fourth run.
    const kills = 3
    const neighbour = mod.hangUntilAttempt(log, kills + 1)
    const killedPids = []
    for (let round = 1; round <= kills; round++) {
      const marker = path.join(dir, `ignored-${round}`)
      const token = invoke.cancelToken()
      const ignored = mod({ cancelToken: token }).markThenIgnoreCancel(marker)
      // The file exists a moment before its pid is in it.
      const pid = () => (fs.existsSync(marker) ? Number(fs.readFileSync(marker, 'utf8')) : 0)
      await waitFor(() => pid() > 0, 10000, `cancelled call ${round} to run`)
      killedPids.push(pid())
      token.resolve()
      await t.throwsAsync(ignored, { instanceOf: invoke.Cancel })
      // Killed (and so leaving) before the next call comes: that one waits for a new worker.
      const reports = () => errors.filter((e) => /did not stop a cancelled call within 100 ms/.test(e.message))
      await waitFor(() => reports().length === round, 10000, `the worker of cancelled call ${round} to be killed`)
    }
    const pids = await neighbour
    t.deepEqual(pids.slice(0, kills), killedPids, 'it ran beside each cancelled call, on the worker killed over it')
    t.is(pids.length, kills + 1)
    t.is(pool.stats().retried, kills)
  })
}
