'use strict'
// invoke.map over sources that pause (a socket, a queue, a file being written): the items at hand
// are worked on and their results arrive while the source waits, and stopping is prompt whatever
// the source or a chunk is doing. Every wait here is a rendezvous (the test opens the source's
// next burst once it has the results of the last one), never a sleep; `within` only turns a hang
// into a failure with its seed.

const test = require('ava')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty, within } = require('./helpers/fuzz')
const { waitFor } = require('./helpers/processes')

function setup(t) {
  const pool = invoke.pool({ limit: 2 })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'invoke-parallel-map-live-'))
  t.teardown(async () => {
    await pool.close({ force: true })
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return { pool, dir, load: () => invoke.require('./fixtures/mapped', { pool }) }
}

function deferred() {
  let resolve
  const promise = new Promise((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/**
 * An async iterator that gives `bursts[0]` items (0, 1, 2, …) at once, then waits in next()
 * until `open(1)`, gives `bursts[1]` more, and so on; after the last burst it ends if `ends`,
 * else waits forever (a live stream with nothing more to say). `returned` resolves when its
 * return() is called, which also ends a next() that waits.
 */
function liveSource(bursts, { ends = false } = {}) {
  const gates = bursts.map((_, i) => (i === 0 ? { promise: Promise.resolve(), resolve() {} } : deferred()))
  const returned = deferred()
  let burst = 0
  let given = 0
  let next = 0
  let closed = false
  const source = {
    returned: returned.promise,
    /** Set once next() said done: an iterator that ended needs no return(). */
    ended: false,
    open: (i) => gates[i]?.resolve(),
    [Symbol.asyncIterator]() {
      return this
    },
    async next() {
      for (;;) {
        if (closed) return { done: true, value: undefined }
        if (burst < bursts.length && given < bursts[burst]) {
          given++
          return { done: false, value: next++ }
        }
        burst++
        given = 0
        const gate = burst < bursts.length ? gates[burst].promise : ends ? null : new Promise(() => {})
        if (gate === null) {
          source.ended = true
          return { done: true, value: undefined }
        }
        await Promise.race([gate, returned.promise])
      }
    },
    return() {
      closed = true
      returned.resolve()
      return Promise.resolve({ done: true, value: undefined })
    },
  }
  return source
}

test('a source with 10 items ready and then a next() that waits: all 10 results arrive, and return() closes it', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  const source = liveSource([10])
  const results = invoke.map(mod.square, source)
  const seen = []
  await within(
    (async () => {
      for await (const square of results) {
        seen.push(square)
        if (seen.length === 10) break
      }
    })(),
    20000,
    'ten results',
  )
  t.deepEqual(seen, Array.from({ length: 10 }, (_, i) => i * i))
  await within(source.returned, 20000, "the source's return()")
})

test("return() while next() waits on the source resolves at once and calls the source's return()", async (t) => {
  const { load } = setup(t)
  const mod = await load()
  const source = liveSource([3])
  const results = invoke.map(mod.square, source)[Symbol.asyncIterator]()
  for (let i = 0; i < 3; i++) t.deepEqual(await within(results.next(), 20000, 'a result'), { value: i * i, done: false })
  const waiting = results.next()
  t.deepEqual(await within(results.return(), 20000, 'return()'), { value: undefined, done: true })
  t.deepEqual(await within(waiting, 20000, 'the waiting next()'), { value: undefined, done: true })
  await within(source.returned, 20000, "the source's return()")
  t.deepEqual(await results.next(), { value: undefined, done: true })
})

test("return() during a long chunk resolves at once, and the worker's signal() aborts that chunk", async (t) => {
  const { dir, load } = setup(t)
  const mod = await load()
  const items = [{ value: 0, from: 0, dir }]
  const results = invoke.map(mod.holdFrom, items)[Symbol.asyncIterator]()
  const waiting = results.next()
  await waitFor(() => fs.existsSync(path.join(dir, '0.started')), 20000, 'the chunk to start')
  t.deepEqual(await within(results.return(), 20000, 'return()'), { value: undefined, done: true })
  t.deepEqual(await within(waiting, 20000, 'the waiting next()'), { value: undefined, done: true })
  await waitFor(() => fs.existsSync(path.join(dir, '0.aborted')), 20000, "the worker's signal to abort")
  t.pass()
})

test('a source that throws after pausing: the results of the items before it, then its error', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  const source = (async function* () {
    yield 1
    yield 2
    await new Promise((resolve) => setImmediate(resolve))
    throw new RangeError('the source broke')
  })()
  const seen = []
  const error = await t.throwsAsync(async () => {
    for await (const square of invoke.map(mod.square, source)) seen.push(square)
  })
  t.is(error.message, 'the source broke')
  t.deepEqual(seen, [1, 4])
})

test('a source that throws as it starts, or gives no iterator, rejects the iteration instead of throwing from map()', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  const throwing = { [Symbol.asyncIterator]() { throw new RangeError('no iterator today') } }
  const results = invoke.map(mod.square, throwing)
  await t.throwsAsync(async () => {
    for await (const _ of results);
  }, { instanceOf: RangeError, message: 'no iterator today' })
  const notAnIterator = { [Symbol.iterator]: () => 5 }
  await t.throwsAsync(async () => {
    for await (const _ of invoke.map(mod.square, notAnIterator));
  }, { instanceOf: TypeError })
})

/** A run: bursts of items with a pause after each, the consumer stopping after `stopAt` results (or never). */
const runs = fc.record({
  bursts: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
  ends: fc.boolean(),
  stopAt: fc.option(fc.nat(120), { nil: undefined }),
  // Stop while a next() waits, or between two.
  stopWhileWaiting: fc.boolean(),
  ordered: fc.boolean(),
  chunk: fc.option(fc.integer({ min: 1, max: 16 }), { nil: undefined }),
  concurrency: fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
  method: fc.constantFrom('square', 'later'),
})

test('generated live sources: every result of each burst arrives before the next burst is let out; return() at any point is prompt', async (t) => {
  const { load } = setup(t)
  const mod = await load()
  await checkProperty(
    t,
    runs,
    async ({ bursts, ends, stopAt, stopWhileWaiting, ordered, chunk, concurrency, method }) => {
      const source = liveSource(bursts, { ends })
      const total = bursts.reduce((a, b) => a + b, 0)
      const expect = (i) => (method === 'square' ? i * i : i)
      const results = invoke.map(mod[method], source, { ordered, chunk, concurrency })[Symbol.asyncIterator]()
      const seen = []
      let burst = 0
      let burstEnd = bursts[0]
      const stop = stopAt === undefined ? Infinity : Math.min(stopAt, total)
      // Past the last burst a live source waits forever: stop there if nothing else stops first.
      const last = ends ? total : Math.min(stop, total)
      while (seen.length < Math.min(stop, last)) {
        const step = await within(results.next(), 20000, `result ${seen.length} (burst ${burst})`)
        if (step.done) return `done after ${seen.length} results`
        seen.push(step.value)
        if (seen.length === burstEnd && burst + 1 < bursts.length) {
          burst++
          burstEnd += bursts[burst]
          source.open(burst)
        }
      }
      if (ends && stop >= total) {
        const end = await within(results.next(), 20000, 'the end')
        if (!end.done) return `a result past the end: ${end.value}`
      } else {
        const waiting = stopWhileWaiting ? results.next() : null
        const returned = await within(results.return(), 20000, 'return()')
        if (!returned.done) return 'return() did not say done'
        if (waiting !== null) {
          // Asked before return(): a result already at hand is still its answer.
          const step = await within(waiting, 20000, 'the next() that waited')
          if (!step.done) seen.push(step.value)
        }
        if (!source.ended) await within(source.returned, 20000, "the source's return()")
      }
      const wanted = Array.from({ length: seen.length }, (_, i) => expect(i))
      const got = ordered ? seen : [...seen].sort((a, b) => a - b)
      if (!ordered) {
        // Unordered, the results so far are those of the items given so far, each once.
        const given = new Set(Array.from({ length: burstEnd }, (_, i) => expect(i)))
        if (new Set(seen).size !== seen.length || !seen.every((v) => given.has(v))) return `saw ${JSON.stringify(seen)}`
        return null
      }
      return JSON.stringify(got) === JSON.stringify(wanted) ? null : `saw ${JSON.stringify(seen)}`
    },
    { runs: 100, msPerRun: 400 },
  )
})
