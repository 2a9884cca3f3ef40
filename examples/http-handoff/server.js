'use strict'
// Cluster-style load balancing without `cluster`: the parent accepts TCP connections and hands
// each one to the least-busy worker of an invoke-parallel pool, which answers the HTTP request.
//
//   node examples/http-handoff/server.js            a demo: starts, sends requests, reports, stops
//   node examples/http-handoff/server.js --serve    keeps serving on PORT (default 8080)

const http = require('node:http')
const net = require('node:net')
const invoke = require('../..')

/** Starts the front server on `port` (0: any free port) with `workers` worker processes. */
async function start({ port = 0, workers = 2 } = {}) {
  const pool = invoke.pool({ limit: workers, minimum: workers })
  const handler = await invoke.require('./handler', { pool })
  // pauseOnConnect: the parent never reads from the connections it hands over.
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    handler.serve(socket).catch((error) => {
      // The client is told at once (the connection closes) rather than left waiting.
      socket.destroy()
      console.error('hand-off failed:', error.message)
    })
  })
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    pool,
    async close() {
      await new Promise((resolve) => server.close(resolve))
      await pool.close()
    },
  }
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = ''
      response.on('data', (chunk) => {
        body += chunk
      })
      response.on('end', () => resolve(JSON.parse(body)))
    })
    request.on('error', reject)
  })
}

async function demo() {
  const front = await start()
  console.log(`front server on 127.0.0.1:${front.port}, parent pid ${process.pid}`)
  const started = Date.now()
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => get(front.port, `/item/${i}`)))
  const perWorker = new Map()
  for (const { pid } of answers) perWorker.set(pid, (perWorker.get(pid) ?? 0) + 1)
  console.log(`${answers.length} requests answered in ${Date.now() - started} ms`)
  for (const [pid, count] of perWorker) console.log(`  worker pid ${pid}: ${count} requests`)
  await front.close()
}

if (require.main === module) {
  if (process.argv.includes('--serve')) {
    start({ port: Number(process.env.PORT ?? 8080) }).then((front) =>
      console.log(`serving on http://127.0.0.1:${front.port}/ (Ctrl-C to stop)`),
    )
  } else {
    demo().catch((error) => {
      console.error(error)
      process.exitCode = 1
    })
  }
}

module.exports = { start, get }
