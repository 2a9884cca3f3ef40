'use strict'

const test = require('ava')
const fs = require('node:fs')
const net = require('node:net')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')
const { testWhere, unixTest, cannotPassSockets } = require('./helpers/platform')

/** Every test here passes sockets: where they cannot travel, each skips saying so. */
const socketTest = testWhere(cannotPassSockets())

/** A real server on 127.0.0.1 whose connections go to `onConnection`. */
async function listen(t, onConnection, options = {}) {
  const server = net.createServer(options, onConnection)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  return server
}

/** Connects, optionally writes, and collects everything until the connection has closed. */
function client(port, message) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => message !== undefined && socket.write(message))
    let text = ''
    socket.on('data', (chunk) => {
      text += chunk
    })
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
  })
}

async function setup(t, options = { limit: 1 }) {
  const pool = freshPool(t, options)
  return invoke.require('./fixtures/sockets', { pool })
}

socketTest('a server-side socket passed to a worker is live there; the client hears the worker', async (t) => {
  const mod = await setup(t)
  const calls = []
  const server = await listen(t, (socket) => calls.push(mod.reply(socket, 'worker')), { pauseOnConnect: true })
  const heard = await client(server.address().port, 'ping')
  const [prefix, echoed, pid] = heard.split(':')
  t.is(prefix, 'worker')
  t.is(echoed, 'ping')
  t.deepEqual(await Promise.all(calls), [Number(pid)])
  t.not(Number(pid), process.pid)
})

socketTest('bytes the parent already read before the hand-off are not lost', async (t) => {
  const mod = await setup(t)
  let handOff
  const handedOff = new Promise((resolve) => {
    handOff = resolve
  })
  // No pauseOnConnect: the parent reads the first bytes itself before handing the socket over.
  const server = await listen(t, (socket) => {
    socket.once('readable', () => handOff(mod.reply(socket, 'late')))
  })
  const heard = client(server.address().port, 'early bytes')
  await handedOff
  t.regex(await heard, /^late:early bytes:\d+$/)
})

socketTest('by default the parent copy is closed; keepOpen: true keeps it usable', async (t) => {
  const mod = await setup(t)
  const accepted = []
  const server = await listen(t, (socket) => accepted.push(socket), { pauseOnConnect: true })
  const port = server.address().port
  const next = () =>
    new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1')
      const wait = () => (accepted.length > 0 ? resolve([c, accepted.shift()]) : setImmediate(wait))
      wait()
    })

  const [c1, s1] = await next()
  await mod.writeOnly(s1, 'from worker')
  t.true(s1.destroyed, 'closed in the parent once sent')
  t.is(String(await new Promise((resolve) => c1.once('data', resolve))), 'from worker')
  c1.destroy()

  const [c2, s2] = await next()
  await mod({ keepOpen: true }).writeOnly(s2, 'worker first;')
  t.false(s2.destroyed)
  s2.end('then the parent')
  let text = ''
  c2.on('data', (chunk) => {
    text += chunk
  })
  await new Promise((resolve) => c2.on('end', resolve))
  t.is(text, 'worker first;then the parent')
})

socketTest('keepOpen as an array keeps just the sockets it names', async (t) => {
  const mod = await setup(t)
  const accepted = []
  const server = await listen(t, (socket) => accepted.push(socket), { pauseOnConnect: true })
  const port = server.address().port
  const clients = [client(port), client(port)]
  while (accepted.length < 2) await new Promise((resolve) => setImmediate(resolve))
  const [a, b] = accepted
  const plain = await mod({ keepOpen: [b] }).greetAll(a, 1, b, 'two')
  t.deepEqual(plain, [1, 'two'])
  t.true(a.destroyed)
  t.false(b.destroyed)
  b.destroy()
  const texts = await Promise.all(clients)
  t.true(texts.every((text) => /^hi from \d+$/.test(text)), String(texts))
})

socketTest('a listening net.Server can be handed to a worker', async (t) => {
  const mod = await setup(t)
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  const accepting = mod.acceptOne(server)
  t.false(server.listening, 'the parent stopped listening on its copy')
  const heard = await client(port)
  const pid = await accepting
  t.is(heard, `served by ${pid}`)
})

socketTest('a worker can return a socket, plainly or through invoke.set', async (t) => {
  const mod = await setup(t)
  const server = await listen(t, (socket) => socket.pipe(socket))
  for (const keepOpen of [undefined, false, true]) {
    const socket = await mod.connect(server.address().port, keepOpen)
    t.true(socket instanceof net.Socket)
    socket.write(`echo ${keepOpen}`)
    t.is(String(await new Promise((resolve) => socket.once('data', resolve))), `echo ${keepOpen}`)
    socket.destroy()
  }
})

socketTest('a socket that cannot travel rejects that call with a clear error; the pool is undisturbed', async (t) => {
  const mod = await setup(t)
  const unconnected = new net.Socket()
  await t.throwsAsync(mod.reply(unconnected, 'x'), { instanceOf: TypeError, message: /not connected/ })
  const destroyed = new net.Socket()
  destroyed.destroy()
  await t.throwsAsync(mod.reply(destroyed, 'x'), { instanceOf: TypeError, message: /destroyed/ })
  await t.throwsAsync(mod.acceptOne(net.createServer()), { instanceOf: TypeError, message: /listening/ })
  t.throws(() => mod({ keepOpen: 'yes' }), { instanceOf: TypeError, message: /keepOpen/ })
  t.is(typeof (await mod.fdCount()), 'number')
})

// Serial: the parent's descriptor count must not see other tests' sockets come and go.
unixTest('counts descriptors in /proc/self/fd').serial('1,000 hand-offs in a row leak no descriptor in the parent or the worker', async (t) => {
  const mod = await setup(t)
  const pending = []
  const server = await listen(t, (socket) => pending.push(mod.close(socket)), { pauseOnConnect: true })
  const port = server.address().port
  const openFds = () => fs.readdirSync('/proc/self/fd').length
  // Warm up, so lazily opened descriptors (the worker's addon, libuv internals) are counted.
  await client(port)
  await Promise.all(pending.splice(0))
  const parentBefore = openFds()
  const workerBefore = await mod.fdCount()
  for (let round = 0; round < 10; round++) {
    const texts = await Promise.all(Array.from({ length: 100 }, () => client(port)))
    t.true(texts.every((text) => text === 'bye'))
    await Promise.all(pending.splice(0))
  }
  t.is(await mod.fdCount(), workerBefore)
  t.is(openFds(), parentBefore)
})
