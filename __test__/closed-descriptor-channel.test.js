'use strict'
// A worker holds two channels to the parent: frames on fd 3, descriptors on fd 4. One that closes
// fd 4 itself can no longer be handed a socket: the parent's write fails. The call carrying it
// must not wait forever, nor hold the worker's room: the worker takes no new call, is stopped
// after the leave grace, and its calls fail over to another worker.

const test = require('ava')
const net = require('node:net')
const invoke = require('..')
const { poolOnDriver, DRIVERS } = require('./helpers/pools')
const { testWhere, cannotPassSockets } = require('./helpers/platform')

const socketTest = testWhere(cannotPassSockets())

/** Connects, writes `message`, and resolves with everything heard until the connection closed. */
function exchange(port, message) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(message))
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk
    })
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
  })
}

for (const driver of DRIVERS) {
  socketTest(`${driver}: a worker that closed its descriptor channel gets no more calls; a socket for it fails over to another worker`, async (t) => {
    const errors = []
    const pool = poolOnDriver(t, driver, { limit: 1, onError: (error) => errors.push(error) })
    const mod = await invoke.require('./fixtures/sockets', { pool })
    const closer = await mod.closeDescriptorChannel()
    const served = []
    const server = net.createServer({ pauseOnConnect: true }, (socket) => served.push(mod.reply(socket, 'worker')))
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => server.close())
    for (const message of ['first', 'second']) {
      const [prefix, echoed, pid] = (await exchange(server.address().port, message)).split(':')
      t.deepEqual([prefix, echoed], ['worker', message])
      t.not(Number(pid), closer, 'served by another worker')
    }
    t.is((await Promise.all(served)).length, 2)
    t.true(errors.some((error) => error.message.includes(`pid ${closer}`)), 'the stopped worker is reported')
  })
}
