'use strict'
// Misuse is caught, with a code: a pool passed where options go, invoke.map's, invoke.set's and
// the socket hand-off's bad arguments, and arguments V8 would carry changed (a URL, an
// AbortSignal, a class instance without its methods), named as functions are.

const test = require('ava')
const fc = require('fast-check')
const net = require('node:net')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')
const { testWhere, unixTest, cannotPassSockets } = require('./helpers/platform')

const ARGUMENT_CODES = { ERR_INVALID_ARG_TYPE: TypeError, ERR_INVALID_ARG_VALUE: TypeError, ERR_OUT_OF_RANGE: RangeError }

/** Runs `fn`; passes if it returns, or throws one of the argument errors of the right class. */
function returnsOrArgumentError(fn) {
  try {
    fn()
    return true
  } catch (err) {
    const Class = ARGUMENT_CODES[err?.code]
    if (Class === undefined || !(err instanceof Class)) throw new Error(`threw ${err?.name} ${err?.code}: ${err?.message}`)
    return true
  }
}

/** Option objects near the valid ones: known names with any value, unknown names, non-objects. */
function optionsLike(names) {
  const value = fc.oneof(fc.anything(), fc.double(), fc.integer(), fc.boolean(), fc.constant(undefined))
  return fc.oneof(
    fc.anything(),
    fc.dictionary(fc.constantFrom(...names), value, { maxKeys: names.length }),
    fc.dictionary(fc.oneof(fc.constantFrom(...names), fc.string()), value, { maxKeys: 3 }),
  )
}

test('invoke.require(specifier, pool): a pool in the place of options is refused, not replaced by the global one', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const error = await t.throwsAsync(invoke.require('./fixtures/echo', pool), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.regex(error.message, /\{pool\}/)
})

test('invoke.map: a bad method or items carries ERR_INVALID_ARG_TYPE', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  t.throws(() => invoke.map(() => 1, []), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.map(echo.echo, 42), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.map(echo.echo, [], { chunk: 0 }), { instanceOf: RangeError, code: 'ERR_OUT_OF_RANGE' })
  t.throws(() => invoke.map(echo.echo, [], { bogus: 1 }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
})

test('invoke.map: any options either work or throw an argument error with its code', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  const names = ['concurrency', 'chunk', 'ordered', 'settle', 'signal', 'cancelToken', 'timeout']
  fc.assert(fc.property(optionsLike(names), (options) => returnsOrArgumentError(() => invoke.map(echo.echo, [], options))))
  t.pass()
})

test('invoke.set: a bad handle or options carries its code', (t) => {
  t.throws(() => invoke.set({}), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.set(new net.Socket(), { keepOpen: 'yes' }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_TYPE' })
  t.throws(() => invoke.set(new net.Socket(), { keep: true }), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE' })
  fc.assert(
    fc.property(fc.oneof(fc.anything(), fc.constant(new net.Socket())), optionsLike(['keepOpen']), (handle, options) =>
      returnsOrArgumentError(() => invoke.set(handle, options)),
    ),
  )
})

testWhere(cannotPassSockets())('a socket or server that cannot move rejects its call with ERR_INVALID_ARG_VALUE', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const sockets = await invoke.require('./fixtures/sockets', { pool })
  const method = Object.values(sockets)[0]
  const destroyed = new net.Socket()
  destroyed.destroy()
  await t.throwsAsync(method(destroyed), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE', message: /destroyed/ })
  await t.throwsAsync(method(new net.Socket()), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE', message: /not connected/ })
  await t.throwsAsync(method(net.createServer()), { instanceOf: TypeError, code: 'ERR_INVALID_ARG_VALUE', message: /listening/ })
})

test('arguments V8 would carry changed are refused and named: a URL, an AbortSignal, an instance of a class with methods', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const echo = await invoke.require('./fixtures/echo', { pool })
  class Money {
    constructor(cents) {
      this.cents = cents
    }
    format() {
      return `${this.cents / 100}`
    }
  }
  const refused = [
    [[new URL('https://example.com/')], /arguments\[0\] is an instance of URL/],
    [[{ options: { signal: new AbortController().signal } }], /arguments\[0\]\.options\.signal is an instance of AbortSignal/],
    [[1, [new Money(5)]], /arguments\[1\]\[0\] is an instance of Money, whose method format would not arrive/],
    [[new Map([['price', new Money(1)]])], /arguments\[0\]\.get\(price\) is an instance of Money/],
    [[new Set([new URLSearchParams('a=1')])], /arguments\[0\] \(a Set member\) is an instance of URLSearchParams/],
  ]
  for (const [args, message] of refused) {
    await t.throwsAsync(echo.echo(...args), { instanceOf: TypeError, code: 'ERR_INVOKE_UNSERIALIZABLE', message })
  }
  // What arrives as it was still goes: a class with fields only arrives as its fields.
  class Point {
    constructor(x) {
      this.x = x
    }
  }
  t.deepEqual(await echo.echo({ at: new Point(1), when: new Date(0), bytes: Buffer.from('x') }), {
    at: { x: 1 },
    when: new Date(0),
    bytes: Buffer.from('x'),
  })
})

test('the proxy of a one-function module says how to call it when called with arguments', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const add = await invoke.require('./fixtures/exports-function', { pool })
  t.throws(() => add(1, 2), { code: 'ERR_INVALID_ARG_TYPE', message: /proxy\.default\(\.\.\.args\)/ })
})

test("the README's errors table renders as one table, every code in a row of it", (t) => {
  const { marked } = require('marked')
  const { catalogue } = require('../lib/errors')
  const readme = require('node:fs').readFileSync(require('node:path').join(__dirname, '..', 'README.md'), 'utf8')
  const start = readme.indexOf('### Errors the pool raises')
  const section = readme.slice(start, readme.indexOf('\n### ', start + 1))
  const html = marked.parse(section)
  t.is(html.match(/<table>/g)?.length, 1)
  const rows = [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]).slice(1)
  t.is(rows.length, catalogue.size)
  for (const code of catalogue.keys()) t.true(rows.some((row) => row.includes(`<code>${code}</code>`)), code)
})

unixTest('sends /dev/null as a descriptor; Windows passes only sockets: socket-transfers.test.js')('a handle that arrives broken from a worker rejects its call with ERR_INVOKE_BAD_HANDLE', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const hostile = await invoke.require('./fixtures/hostile-frames', { pool, noRetry: true })
  await t.throwsAsync(hostile.fakeServer(), { instanceOf: TypeError, code: 'ERR_INVOKE_BAD_HANDLE' })
  await t.throwsAsync(hostile.wrongSlot(), { instanceOf: TypeError, code: 'ERR_INVOKE_BAD_HANDLE' })
  t.is((await hostile.echo('still here'))[1], 'still here')
})
