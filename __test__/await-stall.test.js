'use strict'
// Calls that wait for a later call (a barrier, an event bus, streams opened before any is read):
// under adaptive dispatch a worker holds 32 calls that await until one comes back, and the call
// that would release them waited in the parent forever. Now a stall (calls queued only by that
// bound, nothing progressing for a few ms) grows the bound, and every such call settles.

const test = require('ava')
const fc = require('fast-check')
const net = require('node:net')
const invoke = require('..')
const { freshPool, scratchDir } = require('./helpers/pools')
const { scaled } = require('./helpers/time')
const { waitFor } = require('./helpers/processes')
const { localSocketPath } = require('./helpers/platform')

const RENDEZVOUS = require.resolve('./fixtures/rendezvous')
const BUS = require.resolve('./fixtures/bus')
const BARRIER = require.resolve('./fixtures/barrier')
const STREAMS = require.resolve('./fixtures/streams')

/** A server that answers every connection with `size` once `size` have connected. */
async function rendezvousServer(t, size) {
  const dir = scratchDir(t, 'rendezvous')
  const socketPath = localSocketPath(dir)
  const waiting = []
  const server = net.createServer((socket) => {
    waiting.push(socket)
    if (waiting.length === size) for (const s of waiting.splice(0)) s.end(String(size))
  })
  await new Promise((resolve) => server.listen(socketPath, resolve))
  t.teardown(() => server.close())
  return socketPath
}

const sizes = fc.oneof(fc.constantFrom(31, 32, 33, 63, 64, 65, 128, 129, 130, 257), fc.integer({ min: 1, max: 300 }))

test('calls that each wait until all have arrived settle, on one worker or two (generated sizes)', async (t) => {
  t.timeout(scaled(240000))
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(1, 2), sizes, async (limit, size) => {
      const pool = freshPool(t, { limit, minimum: limit })
      const mod = await invoke.require(RENDEZVOUS, { pool })
      const socketPath = await rendezvousServer(t, size)
      const got = await Promise.all(Array.from({ length: size }, () => mod.arrive(socketPath)))
      t.deepEqual(got, Array(size).fill(size))
      await pool.close()
    }),
    { numRuns: 12 },
  )
})

test('a barrier of 33 and of 129 in one worker opens (limit 1, maxPerChild 64 and 0)', async (t) => {
  t.timeout(scaled(60000))
  for (const [size, maxPerChild] of [[33, 0], [33, 64], [129, 0], [129, 200]]) {
    const pool = freshPool(t, { limit: 1, maxPerChild })
    const barrier = await invoke.require(BARRIER, { pool })
    const waits = Array.from({ length: size }, () => barrier.wait())
    t.is(await barrier.open(), size)
    t.deepEqual(await Promise.all(waits), Array(size).fill(size))
    await pool.close()
  }
})

test('waitFor calls whose set comes after them, in a mix of keys and setters, all wake (generated)', async (t) => {
  // A bus lives in one worker: its waiters and their set share it (limit 1).
  t.timeout(scaled(240000))
  const plan = fc.record({
    // Waiters per key, each key set once after all the waiters of every key.
    waiters: fc.array(fc.oneof(fc.constantFrom(31, 32, 33, 65), fc.integer({ min: 0, max: 80 })), { minLength: 1, maxLength: 3 }),
    order: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
  })
  await fc.assert(
    fc.asyncProperty(plan, async ({ waiters, order }) => {
      const pool = freshPool(t, { limit: 1 })
      const bus = await invoke.require(BUS, { pool })
      const woken = waiters.map((count, key) => Array.from({ length: count }, () => bus.waitFor(`k${key}`)))
      const keys = waiters.map((_, key) => key).sort((a, b) => order[a] - order[b])
      const set = await Promise.all(keys.map((key) => bus.set(`k${key}`, key * 10)))
      t.deepEqual(set, keys.map((key) => waiters[key]))
      for (const [key, wakes] of woken.entries()) t.deepEqual(await Promise.all(wakes), Array(waiters[key]).fill(key * 10))
      await pool.close()
    }),
    { numRuns: 8 },
  )
})

test('more than 32 streams opened before any is read all start and read to the end (generated counts)', async (t) => {
  t.timeout(scaled(240000))
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.constantFrom(32, 33, 129), fc.integer({ min: 1, max: 150 })), async (count) => {
      const pool = freshPool(t, { limit: 1 })
      const streams = await invoke.require(STREAMS, { pool })
      // Each past the 64-item window, so none ends before it is read.
      const opened = await Promise.all(Array.from({ length: count }, () => streams.count(100)))
      for (const stream of opened.reverse()) {
        let read = 0
        for await (const item of stream) t.is(item, read++)
        t.is(read, 100)
      }
      await pool.close()
    }),
    { numRuns: 6 },
  )
})

test('200 calls that await something no call provides all start before any comes back', async (t) => {
  // The first 32 on each worker, then, with nothing progressing, the rest (the core's tests
  // check the rounds: 32, then fourfold per stall). Each call waits on a connection to the test's
  // server, idle: calls that polled for a file kept their worker's loop busy under wine (a file
  // check costs there what a whole call costs natively), and a busy worker is not stalled.
  t.timeout(scaled(60000))
  const pool = freshPool(t, { limit: 2, minimum: 2 })
  const mod = await invoke.require(RENDEZVOUS, { pool })
  const waiting = []
  const server = net.createServer((socket) => waiting.push(socket))
  const socketPath = localSocketPath(scratchDir(t, 'stall'))
  await new Promise((resolve) => server.listen(socketPath, resolve))
  t.teardown(() => server.close())
  const calls = Array.from({ length: 200 }, () => mod.arriveWithPid(socketPath))
  for (const call of calls) call.catch(() => {})
  await waitFor(() => waiting.length === 200, 30000, 'all 200 calls to start')
  t.is(pool.stats().running, 200)
  for (const socket of waiting) socket.end('go')
  t.is(new Set(await Promise.all(calls)).size, 2)
})
