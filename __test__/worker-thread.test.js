'use strict'
// A pool belongs to the JS environment that made it: when a worker thread ends, its pool's
// processes end, and its event loop closes cleanly (a libuv handle left open there aborts Node).

const path = require('node:path')
const { Worker } = require('node:worker_threads')
const test = require('ava')
const { isAlive, waitFor } = require('./helpers/processes')

const THREAD = path.join(__dirname, 'fixtures', 'pool-in-thread.js')

function runThread(hang) {
  return new Promise((resolve, reject) => {
    const thread = new Worker(THREAD, { workerData: { hang } })
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
