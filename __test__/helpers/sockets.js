'use strict'
// The loopback sockets the socket tests hand to workers: a listening server, what a socket
// receives until it closes, and a connected pair whose accepted end is paused for a hand-off.
const net = require('node:net')

function listening(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/** Everything `socket` receives until it closes. */
function collect(socket) {
  return new Promise((resolve, reject) => {
    const chunks = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('close', () => resolve(Buffer.concat(chunks)))
    socket.on('error', reject)
  })
}

/** A connected pair: the parent's accepted end (paused, as a hand-off wants it) and its client. */
async function connectedPair(server, accepted) {
  const client = net.connect(server.address().port, '127.0.0.1')
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject))
  while (accepted.length === 0) await new Promise((resolve) => setImmediate(resolve))
  return { client, socket: accepted.shift() }
}

module.exports = { listening, collect, connectedPair }
