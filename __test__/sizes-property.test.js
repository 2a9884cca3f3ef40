'use strict'
// Strings and Buffers at every length around every size constant in the code, multi-byte
// characters straddling each boundary, in every position a value has (see helpers/fuzz.js for
// INVOKE_FUZZ_RUNS). The constants:
//   13        frame header (HEADER_LEN, lib/protocol.js, src/protocol/frame.rs)
//   512       first read of a call's JSON text (STACK_TEXT, src/call_function.rs)
//   4096      most string characters sent as JSON (JSON_MAX_TEXT, lib/wire.js)
//   16384     Latin-1 strings from here on travel raw (RAW_MIN, lib/wire.js)
//   65536     parent's read room (READ_CHUNK, src/protocol/decoder.rs), a batch payload's own Buffer
//             (OWN_BUFFER) and the reused batch Buffer (REUSED_BYTES, src/driver/js_callback.rs),
//             a worker's socket reads, captured output pieces (MAX_LINE, src/driver/worker_output.rs)
//   8 MiB     most room reserved ahead of a large frame (MAX_RESERVE, src/protocol/decoder.rs)
//   256, 8    most nodes and depth sent as JSON (JSON_MAX_NODES, JSON_MAX_DEPTH, lib/wire.js)
//   819       batch entries the reused index holds (REUSED_INDEX / 20 bytes, js_callback.rs)
//   maxMessageSize, a pool option: the encoded arguments, result, thrown error or item.

const test = require('ava')
const { scaled } = require('./helpers/time')
const fc = require('fast-check')
const invoke = require('..')
const wire = require('../lib/wire')
const { CHARS, textOf, bufferOf } = require('./helpers/texts')
const { jsonValue } = require('./helpers/arbitraries')
const { show } = require('./helpers/same-value')
const { checkProperty, within, outcome, resolvedTo } = require('./helpers/fuzz')
const { waitFor } = require('./helpers/processes')

const BOUND = 30_000
const SIZES = [13, 512, 4096, 16384, 65536]
// 1024 is the smallest maxMessageSize.
const MESSAGE_SIZES = [1024, 5000, 20000, 70000]

const pools = []
/** A one-worker pool with the mirror module; `reports` is what its onError heard. */
async function open(options) {
  const reports = []
  const pool = invoke.pool({ limit: 1, onError: (error) => reports.push(error), ...options })
  pools.push(pool)
  const mirror = await invoke.require('./fixtures/mirror', { pool })
  return { pool, mirror, reports, pid: await mirror.pid() }
}
test.after.always(() => Promise.all(pools.map((pool) => pool.close({ force: true }))))

const spec = (lengths, spread) =>
  fc.record({
    length: fc.tuple(fc.constantFrom(...lengths), fc.integer({ min: -spread, max: spread })).map(([at, delta]) => Math.max(0, at + delta)),
    pad: fc.integer({ min: 0, max: 3 }),
    char: fc.constantFrom(...CHARS),
    measure: fc.constantFrom('units', 'bytes'),
    seed: fc.nat(255),
  })

const sameText = (got, text, what) => {
  if ('error' in got) return `${what} rejected: ${got.error?.stack ?? got.error}`
  return got.value === text ? null : `${what}: ${show(got.value)} instead of ${show(text)}`
}

async function streamed(mirror, s, copies) {
  const items = []
  for await (const item of await mirror.streamText(s, copies)) items.push(item)
  return items
}

test('strings and Buffers around every size constant arrive intact, in every position', async (t) => {
  const { mirror, pid, reports } = await open({})
  await checkProperty(
    t,
    fc.tuple(spec(SIZES, 24), fc.integer({ min: 1, max: 16 })),
    async ([s, copies]) => {
      const text = textOf(s)
      const bytes = bufferOf(s)
      const [echoed, args, built, thrown, items, buffer, ...batch] = await within(
        Promise.all([
          outcome(mirror.echo(text)),
          outcome(mirror.echoArgs(text, 'between', text)),
          outcome(mirror.text(s)),
          outcome(mirror.throwText(s).then(() => 'resolved', (error) => error.message)),
          outcome(streamed(mirror, s, copies)),
          outcome(mirror.echo(bytes)),
          // Replies that arrive together, filling the batch buffers.
          ...Array.from({ length: copies }, () => outcome(mirror.text(s))),
        ]),
        BOUND,
        'the calls',
      )
      return (
        sameText(echoed, text, 'echo') ||
        resolvedTo(args, [text, 'between', text], 'echoArgs') ||
        sameText(built, text, 'a result built in the worker') ||
        sameText(thrown, text, "a thrown error's message") ||
        resolvedTo(items, Array(copies).fill(text), 'stream') ||
        resolvedTo(buffer, bytes, 'a Buffer') ||
        batch.map((got, i) => sameText(got, text, `batched reply ${i}`)).find(Boolean) ||
        ((await mirror.pid()) === pid ? null : 'the worker was replaced')
      )
    },
    { runs: 300 },
  )
  t.deepEqual(reports, [])
})

test('values around maxMessageSize arrive, or reject that call with ERR_INVOKE_MESSAGE_TOO_LARGE, and the worker stays', async (t) => {
  const mirrors = new Map()
  for (const size of MESSAGE_SIZES) mirrors.set(size, await open({ maxMessageSize: size }))
  const tooLarge = (got, what) =>
    got.error?.code === 'ERR_INVOKE_MESSAGE_TOO_LARGE' && got.error.message.includes(what)
      ? null
      : `${what}: expected ERR_INVOKE_MESSAGE_TOO_LARGE, got ${got.error?.stack ?? show(got.value)}`
  await checkProperty(
    t,
    fc.tuple(fc.constantFrom(...MESSAGE_SIZES), fc.integer({ min: -24, max: 24 })).chain(([max, delta]) =>
      spec([max + delta], 0).map((s) => ({ max, s })),
    ),
    async ({ max, s }) => {
      const { mirror, pid } = mirrors.get(max)
      const text = textOf(s)
      const bytes = bufferOf(s)
      const [built, buffer, args, items, thrown] = await within(
        Promise.all([
          outcome(mirror.text(s)),
          outcome(mirror.bytes(s)),
          outcome(mirror.len(text)),
          outcome(streamed(mirror, s, 1)),
          outcome(mirror.throwText(s)),
        ]),
        BOUND,
        'the calls',
      )
      const call = wire.encodeCall('len', [text])
      const argsSize = typeof call === 'string' ? Buffer.byteLength(call) : call.length
      const size = wire.encode(text).length
      const wrong =
        (size > max ? tooLarge(built, 'result') : sameText(built, text, 'result')) ||
        (wire.encode(bytes).length > max ? tooLarge(buffer, 'result') : resolvedTo(buffer, bytes, 'a Buffer')) ||
        (argsSize > max ? tooLarge(args, 'arguments') : resolvedTo(args, text.length, 'arguments')) ||
        (size > max ? tooLarge(items, 'streamed item') : resolvedTo(items, [text], 'stream')) ||
        // A thrown error's size depends on its stack: either outcome, but exactly one of them.
        (thrown.error?.message === text || thrown.error?.code === 'ERR_INVOKE_MESSAGE_TOO_LARGE'
          ? null
          : `thrown: ${thrown.error?.stack}`)
      if (wrong) return `maxMessageSize ${max}: ${wrong}`
      return (await mirror.pid()) === pid ? null : `maxMessageSize ${max}: the worker was replaced`
    },
    { runs: 300 },
  )
  t.deepEqual([...mirrors.values()].flatMap((m) => m.reports), [])
})

test('values around the JSON node and depth limits arrive intact', async (t) => {
  const { mirror } = await open({})
  const nested = (depth, leaf) => (depth === 0 ? leaf : [nested(depth - 1, leaf)])
  await checkProperty(
    t,
    fc.oneof(
      fc.integer({ min: 250, max: 262 }).chain((n) => fc.array(jsonValue, { minLength: n, maxLength: n })),
      fc.tuple(fc.integer({ min: 5, max: 11 }), jsonValue).map(([depth, leaf]) => nested(depth, leaf)),
    ),
    async (value) => {
      const got = await within(outcome(mirror.echo(value)), BOUND, 'the call')
      return resolvedTo(got, value, 'echo')
    },
    { runs: 150 },
  )
})

test('strings and Buffers around 8 MiB (the most reserved ahead of a frame) arrive intact', async (t) => {
  const { mirror } = await open({})
  await checkProperty(
    t,
    spec([8 << 20], 16),
    async (s) => {
      const text = textOf(s)
      const [echoed, buffer] = await within(Promise.all([outcome(mirror.echo(text)), outcome(mirror.bytes(s))]), BOUND * 2, 'the calls')
      return sameText(echoed, text, 'echo') || resolvedTo(buffer, bufferOf(s), 'a Buffer')
    },
    { runs: 4, msPerRun: 5000 },
  )
})

test('a batch of more replies than the reused batch index holds settles every call with its own value', async (t) => {
  t.timeout(60_000)
  const { mirror } = await open({})
  const values = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `é${i}` : i % 3 === 1 ? i : { i }))
  const back = await Promise.all(values.map((value) => mirror.echo(value)))
  t.deepEqual(back, values)
})

test('captured output lines arrive whole, however a long line is cut into pieces', async (t) => {
  const lines = []
  const { mirror } = await open({ output: (line, source) => source.stream === 'stdout' && lines.push(line) })
  let marker = 0
  await checkProperty(
    t,
    spec([65536, 2 * 65536], 8),
    async (s) => {
      const end = `end ${++marker}`
      lines.length = 0
      await within(mirror.printText(s, end), BOUND, 'the call')
      await waitFor(() => lines.includes(end), BOUND, `the line "${end}"`)
      const got = lines.slice(0, lines.indexOf(end)).join('')
      const text = textOf(s).toWellFormed()
      return got === text ? null : `a line of ${text.length} units arrived as ${show(got)}`
    },
    { runs: 60, msPerRun: 1000 },
  )
})
