'use strict'

const test = require('ava')
const invoke = require('..')

let echo
let pool

test.before(async () => {
  pool = invoke.pool({ limit: 2 })
  echo = await invoke.require('./fixtures/echo', { pool })
})
test.after.always(() => pool.close({ force: true }))

test('structured-clone values survive the round trip', async (t) => {
  const cyclic = { name: 'loop' }
  cyclic.self = cyclic
  const value = {
    map: new Map([['a', 1], [2, { b: 3 }]]),
    set: new Set([1, 'two']),
    date: new Date('2020-02-02T02:02:02Z'),
    regexp: /ab+c/gi,
    big: 123456789012345678901234567890n,
    typed: new Float64Array([1.5, -2.5]),
    bytes: new Uint8Array([1, 2, 3]),
    nested: [undefined, null, NaN, -0, Infinity],
    cyclic,
  }
  const back = await echo.echo(value)
  t.deepEqual(back.map, value.map)
  t.deepEqual(back.set, value.set)
  t.is(back.date.getTime(), value.date.getTime())
  t.is(back.regexp.source, 'ab+c')
  t.is(back.regexp.flags, 'gi')
  t.is(back.big, value.big)
  t.deepEqual([...back.typed], [1.5, -2.5])
  t.true(back.typed instanceof Float64Array)
  t.deepEqual([...back.bytes], [1, 2, 3])
  t.true(Number.isNaN(back.nested[2]))
  t.true(Object.is(back.nested[3], -0))
  t.is(back.nested[0], undefined)
  t.is(back.cyclic.self, back.cyclic)
})

test('a Buffer comes back with its bytes', async (t) => {
  const big = Buffer.alloc(1 << 20, 7)
  const back = await echo.echo(big)
  t.is(back.length, big.length)
  t.true(Buffer.from(back).equals(big))
})

test('small binary results stay intact while later results arrive', async (t) => {
  // Small replies are handed over in memory the pool reuses for the next ones: what a caller
  // keeps must be its own.
  const kept = []
  for (let i = 0; i < 20; i++) {
    kept.push(await echo.echo({ bytes: Buffer.alloc(16, i), words: new Uint32Array([i, i + 1]) }))
  }
  await Promise.all(Array.from({ length: 50 }, (_, i) => echo.echo(Buffer.alloc(32, 255 - i))))
  kept.forEach(({ bytes, words }, i) => {
    t.true(Buffer.from(bytes).equals(Buffer.alloc(16, i)), `bytes of reply ${i}`)
    t.deepEqual([...words], [i, i + 1], `words of reply ${i}`)
  })
})

test('large strings arrive exactly, whatever characters they hold and wherever they sit', async (t) => {
  const strings = await invoke.require('./fixtures/strings', { pool })
  const ascii = 'abcdefgh'.repeat(40_000)
  const latin1 = 'àéîõü ÿ\u00a0\u0000'.repeat(30_000)
  const wide = `${'x'.repeat(100_000)}€😀`
  const unpaired = `${'y'.repeat(50_000)}\ud800`
  // Compared with ===: a diff of strings this long would take the test runner minutes to print.
  for (const [name, text] of Object.entries({ ascii, latin1, wide, unpaired })) {
    t.true((await echo.echo(text)) === text, `${name}, as the value`)
    t.true((await echo.echo({ nested: [text] })).nested[0] === text, `${name}, inside an object`)
  }
  // Several large arguments among small ones keep their places.
  t.deepEqual(await strings.describe(1, ascii, { a: 2 }, latin1, wide, 'short', null), [
    1,
    [ascii.length, 'abc', 'fgh'],
    { a: 2 },
    [latin1.length, 'àéî', 'ÿ\u00a0\u0000'],
    [wide.length, 'xxx', wide.slice(-3)],
    [5, 'sho', 'ort'],
    null,
  ])
  t.true((await strings.join(ascii, latin1, { separator: '|' })) === `${ascii}|${latin1}`)
})

test('a function in the arguments rejects that call with a TypeError naming where it is', async (t) => {
  const error = await t.throwsAsync(echo.echo({ list: [1, () => 2] }), { instanceOf: TypeError })
  t.regex(error.message, /arguments\[0\]\.list\[1\] is a function/)
  t.is(error.code, 'ERR_INVOKE_UNSERIALIZABLE')
  await t.throwsAsync(echo.echo(Symbol('s')), { instanceOf: TypeError, message: /symbol/ })
  t.is(await echo.add(1, 1), 2, 'the pool is unaffected')
})

test('a function or symbol in the result rejects that call with a TypeError', async (t) => {
  const fn = await t.throwsAsync(echo.giveFunction(), { instanceOf: TypeError })
  t.regex(fn.message, /result\.nested\.fn is a function \(handler\)/)
  const sym = await t.throwsAsync(echo.giveSymbol(), { instanceOf: TypeError })
  t.regex(sym.message, /result\[1\] is a symbol/)
  t.is(await echo.add(2, 2), 4)
})

for (const name of ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError']) {
  test(`a thrown ${name} arrives as a ${name} with its properties and a marked worker stack`, async (t) => {
    const error = await t.throwsAsync(echo.throwNative(name, `a ${name}`))
    t.true(error instanceof globalThis[name])
    t.is(error.constructor, globalThis[name])
    t.is(error.name, name)
    t.is(error.message, `a ${name}`)
    t.is(error.code, 'E_TEST')
    t.deepEqual(error.detail, { n: 1 })
    t.regex(error.stack, /echo\.js/)
    t.regex(error.stack, /<invoke-parallel worker, pid \d+>/)
    if (name === 'AggregateError') {
      t.is(error.errors.length, 1)
      t.true(error.errors[0] instanceof TypeError)
    }
  })
}

test('an error cause arrives rebuilt', async (t) => {
  const error = await t.throwsAsync(echo.throwWithCause())
  t.is(error.message, 'outer')
  t.true(error.cause instanceof RangeError)
  t.is(error.cause.message, 'root cause')
})

test('other classes arrive as Error with their name and message', async (t) => {
  const error = await t.throwsAsync(echo.throwCustom())
  t.is(error.constructor, Error)
  t.is(error.name, 'CustomError')
  t.is(error.message, 'custom happened')
})

test('thrown non-errors arrive as they were', async (t) => {
  t.is(await echo.throwString().catch((e) => e), 'just a string')
  t.deepEqual(await echo.rejectPlain().catch((e) => e), { reason: 'plain object' })
})

test('values JSON would alter still arrive exactly (shared references, -0, holes, undefined, class instances)', async (t) => {
  const shared = { n: 1 }
  class Point {
    constructor(x) {
      this.x = x
    }
  }
  const value = { pair: [shared, shared], zero: -0, holes: [1, , 3], gap: [undefined], point: new Point(2), nan: NaN }
  const back = await echo.echo(value)
  t.is(back.pair[0], back.pair[1])
  t.true(Object.is(back.zero, -0))
  t.false(1 in back.holes)
  t.is(back.holes.length, 3)
  t.deepEqual(back.gap, [undefined])
  t.deepEqual(back.point, { x: 2 })
  t.true(Number.isNaN(back.nan))
  t.deepEqual(await echo.echo({ plain: ['json', 1, true, null, { deep: 'ok' }] }), { plain: ['json', 1, true, null, { deep: 'ok' }] })
})

test('errors passed as values arrive as plain Errors: a Retry is not translated across', async (t) => {
  const back = await echo.echo(new invoke.Retry('worker gone', { pid: 1 }))
  t.true(back instanceof Error)
  t.false(back instanceof invoke.Retry)
  t.is(back.message, 'worker gone')
})
