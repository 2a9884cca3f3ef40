'use strict'
// The worker's half of the protocol, in this process with its I/O injected (lib/worker/shim.js):
// what it answers to every frame a parent sends, in any chunking, and that a frame no parent
// sends ends it instead of being ignored.

const test = require('ava')
const fc = require('fast-check')
const path = require('node:path')
const { startShim, parentFrame, load, invoke, cancel, credit } = require('./helpers/shim-harness')
const { FrameKind, HANDLES_FLAG } = require('../lib/protocol')
const { value } = require('./helpers/arbitraries')
const { valueDifference } = require('./helpers/same-value')

const ECHO = path.join(__dirname, 'fixtures', 'echo.js')
const THROWS = path.join(__dirname, 'fixtures', 'throws-at-load.js')
const PARENT_KINDS = new Set([FrameKind.Load, FrameKind.Call, FrameKind.Cancel, FrameKind.Credit])

test('it says it is ready before anything else', async (t) => {
  const w = startShim()
  await w.turn()
  t.deepEqual(
    w.frames.map((f) => f.name),
    ['Ready'],
  )
})

test('a load answers with the export names; a call with its value; a throw with what was thrown', async (t) => {
  const w = startShim()
  w.send(
    Buffer.concat([
      load(1, 1, ECHO),
      invoke(2, 1, 'add', [1, 2]),
      invoke(3, 1, 'fail', ['no']),
      invoke(4, 1, 'missing', []),
    ]),
  )
  await w.turn()
  const [names, sum, thrown, missing] = w.answers()
  t.like(names, { name: 'Resolved', call: 1 })
  t.true(names.value.includes('add') && names.value.includes('echo'))
  t.deepEqual(sum, { name: 'Resolved', call: 2, value: 3 })
  t.like(thrown, { name: 'Rejected', call: 3 })
  t.is(thrown.value.message, 'no')
  t.like(missing, { name: 'Rejected', call: 4 })
  t.true(missing.value instanceof TypeError)
  t.deepEqual(w.exits, [])
})

test('a module that throws at load rejects its load, and each call of it, with that error', async (t) => {
  const w = startShim()
  w.send(Buffer.concat([load(1, 7, THROWS), invoke(2, 7, 'anything', [])]))
  await w.turn()
  const answers = w.answers()
  t.deepEqual(
    answers.map((a) => [a.name, a.call, a.value.message]),
    [
      ['Rejected', 1, 'broken at load time'],
      ['Rejected', 2, 'broken at load time'],
    ],
  )
})

test('a call of a module never loaded here rejects, and the shim goes on', async (t) => {
  const w = startShim()
  w.send(Buffer.concat([invoke(1, 9, 'add', [1, 1]), load(2, 1, ECHO), invoke(3, 1, 'add', [2, 2])]))
  await w.turn()
  const answers = w.answers()
  t.is(answers[0].name, 'Rejected')
  t.regex(answers[0].value.message, /never loaded/)
  t.deepEqual(answers[2], { name: 'Resolved', call: 3, value: 4 })
})

test('Cancel and Credit for calls it does not run change nothing', async (t) => {
  const w = startShim()
  w.send(Buffer.concat([cancel(5, 1), credit(6, 1, 10), load(1, 1, ECHO), invoke(2, 1, 'add', [1, 1])]))
  await w.turn()
  t.deepEqual(
    w.answers().map((a) => a.call),
    [1, 2],
  )
  t.deepEqual(w.exits, [])
})

test('a streamed result goes out a window at a time, and Credit lets the rest go', async (t) => {
  const w = startShim()
  const streams = path.join(__dirname, 'fixtures', 'streams.js')
  w.send(Buffer.concat([load(1, 1, streams), invoke(2, 1, 'count', [100])]))
  for (let i = 0; i < 20; i++) await w.turn()
  const items = () => w.answers().filter((a) => a.name === 'Item').length
  t.is(items(), 64, 'the window (STREAM_WINDOW)')
  w.send(credit(2, 1, 36))
  for (let i = 0; i < 20; i++) await w.turn()
  t.is(items(), 100)
  // It asks the generator whether it is done only with credit to send what it might yield.
  w.send(credit(2, 1, 1))
  for (let i = 0; i < 20; i++) await w.turn()
  t.is(items(), 100)
  t.is(w.answers().at(-1).name, 'Resolved')
})

test('a frame of a kind no parent sends ends the worker (status 70, said on stderr); nothing after it is read', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc
        .integer({ min: 0, max: 255 })
        .filter((kind) => !PARENT_KINDS.has(kind & ~HANDLES_FLAG) || (kind & HANDLES_FLAG) !== 0),
      fc.nat(),
      fc.uint8Array({ maxLength: 16 }),
      async (kind, call, payload) => {
        if (kind === (FrameKind.Call | HANDLES_FLAG)) return true // descriptors come with calls
        const w = startShim()
        w.send(Buffer.concat([parentFrame(kind, call >>> 0, 1, Buffer.from(payload)), load(1, 1, ECHO)]))
        await w.turn()
        return (
          w.exits.length === 1 &&
          w.exits[0] === 70 &&
          /kind|descriptors/.test(w.warnings.join('')) &&
          w.answers().length === 0
        )
      },
    ),
    { numRuns: 200 },
  )
  t.pass()
})

test('a Credit frame whose payload is not 4 bytes ends the worker', async (t) => {
  for (const size of [0, 3, 5, 8]) {
    const w = startShim()
    w.send(parentFrame(FrameKind.Credit, 1, 1, Buffer.alloc(size)))
    await w.turn()
    t.deepEqual(w.exits, [70], `${size} bytes`)
  }
})

test('a frame shorter than its header ends the worker', async (t) => {
  const w = startShim()
  const bytes = Buffer.alloc(13)
  bytes.writeUInt32LE(3, 0)
  w.send(bytes)
  await w.turn()
  t.deepEqual(w.exits, [70])
  t.regex(w.warnings.join(''), /corrupt frame/)
})

test('whatever the chunking of the parent stream, every call is answered once, with its value', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(value, { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      async (values, cuts) => {
        const w = startShim()
        const stream = Buffer.concat([load(1, 1, ECHO), ...values.map((v, i) => invoke(i + 2, 1, 'echo', [v]))])
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b)
        let from = 0
        for (const at of [...points, stream.length]) {
          w.send(stream.subarray(from, at))
          from = at
        }
        await w.turn()
        const answers = w.answers().filter((a) => a.call !== 1)
        if (answers.length !== values.length) return false
        return answers.every(
          (a, i) => a.name === 'Resolved' && a.call === i + 2 && valueDifference(a.value, values[i]) === null,
        )
      },
    ),
    { numRuns: 100 },
  )
  t.pass()
})

test('any sequence of well-formed parent frames: every call is answered exactly once, nothing else is, and the shim stays up', async (t) => {
  const frame = fc.oneof(
    fc.record({
      kind: fc.constant('call'),
      module: fc.integer({ min: 1, max: 3 }),
      method: fc.constantFrom('add', 'addAsync', 'fail', 'nothing', 'missing'),
    }),
    fc.record({ kind: fc.constant('cancel'), call: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ kind: fc.constant('credit'), call: fc.integer({ min: 1, max: 60 }), items: fc.nat() }),
    fc.record({ kind: fc.constant('load'), module: fc.integer({ min: 1, max: 3 }) }),
  )
  await fc.assert(
    fc.asyncProperty(fc.array(frame, { maxLength: 40 }), async (frames) => {
      const w = startShim()
      const calls = []
      const loaded = new Set()
      let next = 100
      const bytes = frames.map((f) => {
        if (f.kind === 'cancel') return cancel(f.call, 1)
        if (f.kind === 'credit') return credit(f.call, 1, f.items >>> 0)
        const id = next++
        if (f.kind === 'load') {
          // A module id is loaded once, as the parent does.
          if (loaded.has(f.module)) return Buffer.alloc(0)
          loaded.add(f.module)
          calls.push(id)
          return load(id, f.module, ECHO)
        }
        calls.push(id)
        return invoke(id, f.module, f.method, [1, 2])
      })
      w.send(Buffer.concat(bytes))
      for (let i = 0; i < 3; i++) await w.turn()
      const answered = w.answers().map((a) => a.call)
      return (
        w.exits.length === 0 &&
        answered.length === calls.length &&
        [...answered].sort().join() === [...calls].sort().join()
      )
    }),
    { numRuns: 150 },
  )
  t.pass()
})
