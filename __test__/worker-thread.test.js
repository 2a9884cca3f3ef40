'use strict'
// A pool belongs to the JS environment that made it: when a worker thread ends, its pool's
// processes end, and its event loop closes cleanly (a libuv handle left open there aborts Node).

const path = require('node:path')
const { Worker } = require('node:worker_threads')
const test = require('ava')
const fs = require('node:fs')
const { isAlive, waitFor } = require('./helpers/processes')
const { DRIVERS } = require('./helpers/pools')
const { linuxTest } = require('./helpers/platform')

const THREAD = path.join(__dirname, 'fixtures', 'pool-in-thread.js')

function runThread(hang, env = process.env) {
  return new Promise((resolve, reject) => {
    const thread = new Worker(THREAD, { workerData: { hang }, env })
    let said = null
    thread.on('message', (message) => {
      said = message
      // Terminated while its call to sleep(60 s) is still running.
      if (hang) thread.terminate()
    })
    thread.on('error', reject)
    thread.on('exit', (code) => resolve({ code, said }))
  })
}

for (const hang of [false, true]) {
  test(`a worker thread that ${hang ? 'is terminated mid-call' : 'ends'} with its pool open takes the pool's processes with it`, async (t) => {
    const { code, said } = await runThread(hang)
    t.is(said?.sum, 5)
    t.is(code, hang ? 1 : 0)
    t.true(said.pids.length >= 1)
    await waitFor(() => said.pids.every((pid) => !isAlive(pid)), 5000, 'the thread pool processes to exit')
    t.pass()
  })
}

/** Whether `pid` is a child of this process, exited and not reaped (a zombie) or not. */
function isOurChild(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid
  } catch {
    return false
  }
}

for (const driver of DRIVERS) {
  linuxTest('it reads /proc')(`${driver}: the processes of a pool whose worker thread was terminated are reaped, not left as zombies`, async (t) => {
    const { said } = await runThread(true, { ...process.env, INVOKE_PARALLEL_DRIVER: driver })
    await waitFor(() => said.pids.every((pid) => !isOurChild(pid)), 5000, 'the thread pool processes to be reaped')
    t.pass()
  })
}
