'use strict'
// A host for bench/remote.js: serves the queue with a local pool of `limit` workers. The lock
// settings make a killed host's jobs come back after about a second (the defaults take 30 s).

const { serve } = require('invoke-parallel-bullmq')

const [queue, socket, limit, concurrency] = process.argv.slice(2)
const host = serve({
  queue,
  connection: { path: socket },
  root: __dirname,
  modules: ['./remote-worker.js'],
  pool: { limit: Number(limit), minimum: Number(limit) },
  ...(concurrency ? { concurrency: Number(concurrency) } : {}),
  lockDuration: 1000,
  stalledInterval: 250,
  onError: () => {},
})
host.ready.then(() => process.stdout.write('ready\n'))
process.on('SIGTERM', () => host.close().then(() => process.exit(0)))
