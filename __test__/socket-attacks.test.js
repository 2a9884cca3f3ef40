'use strict'
// Attacks on the socket transfer: hostile workers that answer with what is not a connection or
// forge Windows records naming the parent's own handles, and callers that pass more sockets than a
// frame carries or sockets that cannot travel on their OS. Each call settles with a coded error and
// the parent keeps what it holds.
const test = require('ava')
const net = require('node:net')
const invoke = require('..')
const { watchedPool, scratchDir } = require('./helpers/pools')
const { scaled } = require('./helpers/time')
const { listening, collect, connectedPair } = require('./helpers/sockets')
const { windowsTest, localSocketPath } = require('./helpers/platform')

test('a worker that answers with a listening socket as a "socket": that call rejects with ERR_INVOKE_BAD_HANDLE, the parent lives', async (t) => {
  // One call a worker: a liar's own call never ends there.
  const { pool } = watchedPool(t, { limit: 1, maxPerChild: 1 })
  const mod = await invoke.require('./fixtures/hostile-frames', { pool, noRetry: true })
  // Windows failed the first read of a socket made on it at once, an 'error' event nobody could
  // have heard yet: the parent died. Unix handed the caller a "socket" that fails once a client connects.
  const error = await mod.listeningAsSocket().then((handle) => {
    handle.destroy()
    return new Error(`it resolved with a ${handle.constructor.name}`)
  }, (error) => error)
  t.is(error.code, 'ERR_INVOKE_BAD_HANDLE', error.stack)
  t.is(typeof (await mod.pid()), 'number')
})

test('a call carries at most MAX_HANDLES sockets and servers: one more rejects with ERR_INVALID_ARG_VALUE and the caller keeps them all', async (t) => {
  const { MAX_HANDLES } = require('../lib/protocol')
  const { pool } = watchedPool(t, { limit: 1 })
  const mod = await invoke.require('./fixtures/socket-mixes', { pool })
  const servers = await Promise.all(Array.from({ length: MAX_HANDLES + 1 }, () => listening(net.createServer())))
  t.teardown(() => servers.forEach((server) => server.close()))
  // Before, the driver refused it with napi's GenericFailure as the code.
  const error = await t.throwsAsync(mod.serve(...servers, 'plain'))
  t.is(error.code, 'ERR_INVALID_ARG_VALUE', error.stack)
  t.true(servers.every((server) => server.listening))
  t.deepEqual(await mod.serve(...servers.slice(0, MAX_HANDLES), 'plain'), ['plain'])
})

/** Whether the parent still has `server` (it accepts) and `socket` (its client hears it). */
async function stillHeld(t, server, accepted, { client, socket }) {
  const heard = collect(client)
  socket.end('still mine')
  t.is(String(await heard), 'still mine')
  const again = await connectedPair(server, accepted)
  again.client.destroy()
  again.socket.destroy()
}

windowsTest('only a Windows record names a handle in its receiver').serial(
  "a worker that forges records naming the parent's own handles (its server, a connection, its output, libuv's): each refused, never taken or closed",
  async (t) => {
    t.timeout(scaled(120000))
    const { pool } = watchedPool(t, { limit: 1, maxPerChild: 1 })
    const mod = await invoke.require('./fixtures/hostile-frames', { pool, noRetry: true })
    const echo = await listening(net.createServer((socket) => socket.pipe(socket)))
    const accepted = []
    const mine = await listening(net.createServer({ pauseOnConnect: true }, (socket) => accepted.push(socket)))
    t.teardown(() => {
      echo.close()
      mine.close()
    })
    const { findSocket } = require('../lib/native').processWide
    const pair = await connectedPair(mine, accepted)
    const { socket } = pair
    const server = findSocket('127.0.0.1', mine.address().port)
    const connection = findSocket(socket.localAddress, socket.localPort, socket.remoteAddress, socket.remotePort)
    t.true(server > 0 && connection > 0)
    // Before, a record naming the parent's own server came back as a second net.Server on it:
    // closing that closed the parent's.
    for (const [kind, value] of [['server', server], ['socket', connection], ['socket', server]]) {
      const error = await t.throwsAsync(mod.forgeRecords(echo.address().port, [value], kind))
      t.is(typeof error?.code, 'string', `${kind} naming ${value}: ${error?.stack}`)
    }
    // Every other small handle value, 64 to a message: before, one named a handle that closing
    // (as "no stream socket") stopped the parent's event loop, another its output.
    for (let from = 4; from < 2048; from += 4 * 64) {
      const values = Array.from({ length: 64 }, (_, i) => from + 4 * i)
      const error = await t.throwsAsync(mod.forgeRecords(echo.address().port, values, 'socket'))
      t.is(typeof error?.code, 'string', `records naming ${from} to ${values.at(-1)}: ${error?.stack}`)
    }
    console.log('the parent can still write its output')
    await stillHeld(t, mine, accepted, pair)
    t.is(typeof (await mod.pid()), 'number')
  },
)

windowsTest('a named pipe moves elsewhere (a Unix socket travels like a TCP one)')('a named pipe\'s server or socket, to a worker or back, rejects that call with ERR_INVOKE_HANDLES_UNSUPPORTED; the sender keeps it', async (t) => {
  const { pool } = watchedPool(t, { limit: 1 })
  const mod = await invoke.require('./fixtures/socket-mixes', { pool })
  const path = localSocketPath(scratchDir(t, 'pipe'))
  const accepted = []
  const server = await new Promise((resolve) => {
    const made = net.createServer((socket) => accepted.push(socket)).listen(path, () => resolve(made))
  })
  t.teardown(() => server.close())
  const client = net.connect(path)
  await new Promise((resolve) => client.once('connect', resolve))
  while (accepted.length === 0) await new Promise((resolve) => setImmediate(resolve))
  // Before, each was refused as "not listening" or "not connected yet" (ERR_INVALID_ARG_VALUE).
  for (const handle of [server, accepted[0], client]) {
    const error = await t.throwsAsync(mod.serve(handle))
    t.is(error.code, 'ERR_INVOKE_HANDLES_UNSUPPORTED', error.stack)
  }
  t.true(server.listening && !accepted[0].destroyed && !client.destroyed)
  const error = await t.throwsAsync(mod.listenAt(`${path}-worker`))
  t.is(error.code, 'ERR_INVOKE_HANDLES_UNSUPPORTED', error.stack)
  client.destroy()
  accepted[0].destroy()
})

test('a socket kept with keepOpen and sent back by the worker: both copies the parent then holds can travel again', async (t) => {
  const { pool } = watchedPool(t, { limit: 1 })
  const mod = await invoke.require('./fixtures/socket-mixes', { pool })
  const accepted = []
  const server = await listening(net.createServer({ pauseOnConnect: true }, (socket) => accepted.push(socket)))
  t.teardown(() => server.close())
  const { client, socket } = await connectedPair(server, accepted)
  const ended = collect(client)
  const back = await mod({ keepOpen: true }).passBack(socket)
  t.true(back instanceof net.Socket && !socket.destroyed)
  // Windows finds a socket by its addresses, and two handles of the parent now have the same ones:
  // before, this was refused with ERR_INVALID_ARG_VALUE ("more than one socket ...").
  t.is(await mod.drop(socket), 1)
  t.is(await mod.drop(back), 1)
  // Every copy is closed (the parent's as they were sent, the worker's by drop): the client hears the end.
  t.is((await ended).length, 0)
})
