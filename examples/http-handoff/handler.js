'use strict'
// Runs in the workers: an HTTP server that never listens. Connections arrive from the parent, one
// call per connection, and are served as if this process had accepted them itself.

const crypto = require('node:crypto')
const http = require('node:http')

const server = http.createServer((request, response) => {
  // A little CPU work per request, so spreading connections over workers is worth something.
  let digest = request.url
  for (let i = 0; i < 2000; i++) digest = crypto.createHash('sha256').update(digest).digest('hex')
  response.setHeader('content-type', 'application/json')
  response.end(JSON.stringify({ pid: process.pid, url: request.url, digest: digest.slice(0, 12) }))
})

/** Serves one connection; settles when the client has gone, so the pool sees this worker busy. */
exports.serve = (socket) =>
  new Promise((resolve) => {
    socket.on('close', () => resolve(process.pid))
    server.emit('connection', socket)
  })
