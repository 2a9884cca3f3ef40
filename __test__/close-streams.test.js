'use strict'
// A graceful close() and streamed results: it waits for a stream while it is read, and a stream
// whose worker waits on a reader who reads nothing for `closeReadGrace` ends with
// ERR_INVOKE_POOL_CLOSED after the items it delivered; its worker stops it, or is killed. A
// close with an unread stream held used to wait forever.

const test = require('ava')
const fc = require('fast-check')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { freshPool, watchedPool, scratchDir } = require('./helpers/pools')
const { scaled } = require('./helpers/time')

const STREAMS = require.resolve('./fixtures/streams')
const HOSTILE = require.resolve('./fixtures/hostile-frames')

/** Reads what is left of `stream`: the items, and the error it ends with if any. */
async function drain(stream) {
  const items = []
  try {
    for await (const item of stream) items.push(item)
    return { items }
  } catch (error) {
    return { items, error }
  }
}

test('a stream nobody reads ends with ERR_INVOKE_POOL_CLOSED and the close resolves; its generator stopped', async (t) => {
  t.timeout(scaled(60000))
  const pool = freshPool(t, { limit: 1, closeReadGrace: 50 })
  const streams = await invoke.require(STREAMS, { pool })
  const file = path.join(scratchDir(t, 'close-unread'), 'progress')
  const stream = await streams.tracked(file)
  await pool.close()
  const { items, error } = await drain(stream)
  t.is(items.length, 64, 'the items it had delivered come first')
  t.is(error?.code, 'ERR_INVOKE_POOL_CLOSED')
  t.regex(error.message, /nothing read this stream for 50 ms/)
  t.true(JSON.parse(fs.readFileSync(file, 'utf8')).finished, "the generator's finally ran")
})

test('with the default grace too: a close with an unread stream resolves', async (t) => {
  t.timeout(scaled(60000))
  const pool = freshPool(t, { limit: 1 })
  const streams = await invoke.require(STREAMS, { pool })
  const stream = await streams.count(100)
  await pool.close()
  const { items, error } = await drain(stream)
  t.deepEqual(items, Array.from({ length: 64 }, (_, n) => n))
  t.is(error?.code, 'ERR_INVOKE_POOL_CLOSED')
})

test('streams read while the pool closes are read to their end (generated counts and lengths)', async (t) => {
  t.timeout(scaled(120000))
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 300 }), async (count, length) => {
      const pool = freshPool(t, { limit: 1 })
      const streams = await invoke.require(STREAMS, { pool })
      const opened = await Promise.all(Array.from({ length: count }, () => streams.count(length)))
      const closed = pool.close()
      // Read after close() was called, one stream after another: each is read on, so waited for.
      for (const stream of opened) t.deepEqual(await drain(stream), { items: Array.from({ length }, (_, n) => n) })
      await closed
    }),
    { numRuns: 6 },
  )
})

test('a stream whose generator ignores being stopped: its worker is killed and the close resolves', async (t) => {
  t.timeout(scaled(60000))
  const { pool, errors } = watchedPool(t, { limit: 1, closeReadGrace: 50, cancelGrace: 100 })
  const streams = await invoke.require(STREAMS, { pool })
  const stream = await streams.neverStops()
  await pool.close()
  const { items, error } = await drain(stream)
  t.is(items.length, 64)
  t.is(error?.code, 'ERR_INVOKE_POOL_CLOSED')
  t.true(errors.some((e) => /did not stop a cancelled call/.test(e.message)), errors.map((e) => e.message).join('; '))
})

test('a hostile worker that keeps writing to its stream once told to stop is dropped and the close resolves', async (t) => {
  t.timeout(scaled(60000))
  const { pool } = watchedPool(t, { limit: 1, closeReadGrace: 50 })
  const mod = await invoke.require(HOSTILE, { pool })
  const stream = await mod.keepsWritingWhenStopped()
  await pool.close()
  const { items, error } = await drain(stream)
  t.deepEqual(items, Array(64).fill('item'))
  t.is(error?.code, 'ERR_INVOKE_POOL_CLOSED')
})

test('closeReadGrace is checked like the other times', (t) => {
  t.throws(() => invoke.pool({ closeReadGrace: '1' }), { code: 'ERR_INVALID_ARG_TYPE', message: /closeReadGrace/ })
  t.throws(() => invoke.pool({ closeReadGrace: -1 }), { code: 'ERR_OUT_OF_RANGE', message: /closeReadGrace/ })
  t.notThrows(() => invoke.pool({ closeReadGrace: Infinity, minimum: 0 }).close())
})
