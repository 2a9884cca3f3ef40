'use strict'

const test = require('ava')
const fs = require('node:fs')
const path = require('node:path')
const invoke = require('..')
const { freshPool, scratchDir } = require('./helpers/pools')
const { waitFor, runNode } = require('./helpers/processes')

async function setup(t, options = { limit: 1 }) {
  const dir = scratchDir(t, 'stream')
  const pool = freshPool(t, { onError: () => {}, ...options })
  const streams = await invoke.require('./fixtures/streams', { pool })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const progress = path.join(dir, 'progress.json')
  const read = () => (fs.existsSync(progress) ? JSON.parse(fs.readFileSync(progress, 'utf8')) : { produced: 0 })
  return { pool, streams, echo, progress, read }
}

async function collect(iterable) {
  const items = []
  for await (const item of iterable) items.push(item)
  return items
}

test('an async generator method gives an async iterable of its items, in order', async (t) => {
  const { streams } = await setup(t)
  t.deepEqual(await collect(await streams.count(100)), Array.from({ length: 100 }, (_, i) => i))
  t.deepEqual(await collect(await streams.empty()), [])
})

test('a method that returns an async iterable streams it; items are structured clones', async (t) => {
  const { streams } = await setup(t)
  const items = await collect(await streams.records([{ a: 1 }, { b: [2] }]))
  t.deepEqual(items, [new Map([['a', 1]]), new Map([['b', [2]]])])
})

test('the worker pauses when the parent does not read (bounded buffering)', async (t) => {
  const { streams, echo, progress, read } = await setup(t)
  const stream = await streams.tracked(progress)
  // The worker may run 64 items ahead of the reader (STREAM_WINDOW, lib/protocol.js).
  await waitFor(() => read().produced >= 64, 10000, 'the worker to fill its window')
  // Round trips through the same worker give an unbounded producer every chance to run ahead.
  for (let i = 0; i < 5; i++) await echo.sleep(20)
  t.true(read().produced <= 65, `produced ${read().produced} items unread`)
  // Reading frees room, and the worker goes on.
  for (let i = 0; i < 100; i++) await stream.next()
  await waitFor(() => read().produced >= 150, 10000, 'the worker to go on')
  await stream.return()
})

test('break stops the generator in the worker (its finally runs) and frees the slot', async (t) => {
  const { streams, echo, progress, read } = await setup(t, { limit: 1, maxPerChild: 1 })
  let seen = 0
  for await (const item of await streams.tracked(progress)) {
    seen = item.produced
    if (seen === 5) break
  }
  await waitFor(() => read().finished === true, 10000, "the generator's finally block")
  // With one worker taking one call at a time, this would wait forever on a leaked slot.
  t.is(await echo.add(1, 2), 3)
})

test('an error thrown by the generator comes out of the loop with its type, after the items before it', async (t) => {
  const { streams } = await setup(t)
  const items = []
  const error = await t.throwsAsync(async () => {
    for await (const item of await streams.failAfter(3)) items.push(item)
  })
  t.deepEqual(items, [0, 1, 2])
  t.true(error instanceof RangeError)
  t.is(error.message, 'stopped after 3')
})

test('an item that cannot be sent ends the stream with a TypeError', async (t) => {
  const { streams } = await setup(t)
  const items = []
  await t.throwsAsync(
    async () => {
      for await (const item of await streams.unsendable()) items.push(item)
    },
    { instanceOf: TypeError, message: /streamed item is a function/ },
  )
  t.deepEqual(items, [1])
})

test('a cancel token ends a stream mid-way with Cancel, and the worker sees its signal', async (t) => {
  const { streams, echo } = await setup(t, { limit: 1, maxPerChild: 1 })
  const controller = new AbortController()
  const items = []
  const error = await t.throwsAsync(async () => {
    for await (const item of await streams({ cancelToken: controller.signal }).untilAborted()) {
      items.push(item)
      if (item === 3) controller.abort()
    }
  })
  t.true(error instanceof invoke.Cancel)
  t.true(items.length >= 4)
  t.is(await echo.add(2, 2), 4, 'the generator stopped and its slot is free')
})

test('a worker that dies mid-stream ends the stream with Retry (items were delivered: no retry)', async (t) => {
  const { streams, echo, progress, read } = await setup(t)
  const pid = await echo.pid()
  const stream = await streams.tracked(progress)
  await stream.next()
  await waitFor(() => read().produced >= 2, 10000, 'some items')
  process.kill(pid, 'SIGKILL')
  const error = await t.throwsAsync(async () => {
    for await (const item of stream) void item
  })
  t.true(error instanceof invoke.Retry, String(error))
  t.regex(error.message, /while streaming/)
})

test('a script that stops reading a stream still exits by itself', async (t) => {
  const run = await runNode([path.join(__dirname, 'fixtures', 'stream-abandoned.js')])
  t.false(run.killed, 'the unread stream held the process open')
  t.deepEqual(JSON.parse(run.stdout), { value: 0, done: false })
})
