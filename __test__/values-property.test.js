'use strict'
// Generated values of every kind the README lists cross as arguments, results, thrown values,
// thrown errors' fields and stream items, and arrive as structuredClone would copy them (see
// helpers/fuzz.js for INVOKE_FUZZ_RUNS and replaying a failure).

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { value, jsonValue, errorSpec } = require('./helpers/arbitraries')
const { buildError } = require('./helpers/error-spec')
const { thrownDifference } = require('./helpers/same-value')
const { checkProperty, within, outcome, resolvedTo } = require('./helpers/fuzz')

const BOUND = 20_000

let pool
let mirror
const reports = []

test.before(async () => {
  pool = invoke.pool({ limit: 2, onError: (error) => reports.push(error) })
  mirror = await invoke.require('./fixtures/mirror', { pool })
})
test.after.always(() => pool.close({ force: true }))
test.afterEach(async (t) => {
  t.deepEqual(reports, [], 'no worker broke the protocol or crashed')
})

function rejectedWith(got, thrown, what) {
  if (!('error' in got)) return `${what} resolved`
  const wrong = thrownDifference(got.error, thrown)
  return wrong && `${what}: ${wrong}`
}

/** The first argument comes back as the result, and all of them as an array. */
async function echoedIntact(args) {
  const [echoed, all] = await within(Promise.all([outcome(mirror.echo(args[0])), outcome(mirror.echoArgs(...args))]), BOUND, 'the calls')
  return resolvedTo(echoed, args[0], 'echo') || resolvedTo(all, args, 'echoArgs')
}

test('values arrive intact as arguments and as results', async (t) => {
  await checkProperty(t, fc.array(value, { minLength: 1, maxLength: 4 }), echoedIntact, { runs: 400 })
})

test('values JSON carries, in mixed scripts, arrive intact as arguments and as results', async (t) => {
  await checkProperty(t, fc.array(jsonValue, { minLength: 1, maxLength: 6 }), echoedIntact, { runs: 400 })
})

/** Where an uncloneable value can sit, next to `data`, and how the error names that place. */
const PLACES = [
  [(data, poison) => ({ nested: [data, poison] }), '.nested[1]'],
  [(data, poison) => new Set([data, poison]), ' (a Set member)'],
  [(data, poison) => new Map([[poison, data]]), ' (a Map key)'],
  [(data, poison) => new Map([['key', data], ['bad', poison]]), '.get(bad)'],
  [(data, poison) => [data, , poison], '[2]'],
]

test('a function or symbol among the arguments or in the result rejects that call with a TypeError saying where', async (t) => {
  const unserializable = (got, where, what) =>
    got.error instanceof TypeError && got.error.code === 'ERR_INVOKE_UNSERIALIZABLE' && got.error.message.includes(where)
      ? null
      : `${what}: expected a TypeError naming ${where}, got ${got.error?.stack ?? 'a result'}`
  await checkProperty(
    t,
    fc.tuple(value, fc.constantFrom('function', 'symbol'), fc.constantFrom(...PLACES)),
    async ([data, kind, [place, where]]) => {
      const poison = kind === 'symbol' ? Symbol('bad') : function bad() {}
      const [args, result] = await within(
        Promise.all([outcome(mirror.echoArgs(data, place(data, poison))), outcome(mirror.withUncloneable(data, kind))]),
        BOUND,
        'the calls',
      )
      return (
        unserializable(args, `arguments[1]${where} is a ${kind}`, 'arguments') ||
        unserializable(result, `result.bad is a ${kind}`, 'result')
      )
    },
    { runs: 200 },
  )
})

test('thrown values arrive as they were thrown', async (t) => {
  await checkProperty(
    t,
    value,
    async (thrown) => rejectedWith(await within(outcome(mirror.throwValue(thrown)), BOUND, 'the call'), thrown, 'throwValue'),
    { runs: 300 },
  )
})

test("thrown errors arrive with their class, name, message, fields and causes", async (t) => {
  await checkProperty(
    t,
    errorSpec,
    async (spec) => rejectedWith(await within(outcome(mirror.throwError(spec)), BOUND, 'the call'), buildError(spec), 'throwError'),
    { runs: 300 },
  )
})

test('stream items arrive intact and in order', async (t) => {
  await checkProperty(
    t,
    fc.array(value, { maxLength: 80 }),
    async (items) => {
      const got = await within(
        outcome(
          (async () => {
            const received = []
            for await (const item of await mirror.stream(items)) received.push(item)
            return received
          })(),
        ),
        BOUND,
        'the stream',
      )
      return resolvedTo(got, items, 'stream')
    },
    { runs: 150 },
  )
})
