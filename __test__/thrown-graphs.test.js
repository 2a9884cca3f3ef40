'use strict'
// Thrown values as graphs, in this process (lib/wire.js): errors reached twice through `cause`
// and `errors` arrive as one error, cycles as cycles; a description no worker makes (too deep,
// too many errors, a sparse array, a field that is not text) is refused at once with code
// ERR_INVOKE_BAD_ANSWER, however much work its bytes claim.

const test = require('ava')
const v8 = require('node:v8')
const fc = require('fast-check')
const wire = require('../lib/wire')
const { THROWN_MAX_DEPTH, THROWN_MAX_ERRORS } = wire
const invoke = require('..')
const { graphs, buildGraph, Custom } = require('./helpers/error-graph')
const { checkProperty } = require('./helpers/fuzz')

/** Graphs of at most THROWN_MAX_DEPTH errors: every path stays within the depth. */
const withinDepth = graphs(THROWN_MAX_DEPTH)

/** What differs between the graph sent and the one that arrived, walked together: null if nothing. */
function graphDifference(sent, got) {
  const pairs = new Map()
  const taken = new Map()
  const walk = (a, b, where) => {
    if (pairs.has(a)) return pairs.get(a) === b ? null : `${where}: reached twice, arrived as two errors`
    if (taken.has(b)) return `${where}: two errors arrived as one`
    pairs.set(a, b)
    taken.set(b, a)
    if (!(b instanceof Error)) return `${where}: not an Error`
    const native = a instanceof Custom ? 'Error' : a.constructor.name
    if (b.constructor.name !== native) return `${where}: ${b.constructor.name} instead of ${native}`
    if (b.message !== a.message || b.name !== a.name || b.code !== a.code) return `${where}: another name, message or code`
    if (('cause' in a) !== ('cause' in b)) return `${where}: cause ${'cause' in a ? 'lost' : 'added'}`
    if ('cause' in a) {
      const wrong = walk(a.cause, b.cause, `${where}.cause`)
      if (wrong !== null) return wrong
    }
    if (a instanceof AggregateError) {
      if (!Array.isArray(b.errors) || b.errors.length !== a.errors.length) return `${where}.errors: another length`
      for (let i = 0; i < a.errors.length; i++) {
        const wrong = walk(a.errors[i], b.errors[i], `${where}.errors[${i}]`)
        if (wrong !== null) return wrong
      }
    }
    return null
  }
  return walk(sent, got, 'thrown')
}

test('errors reached twice arrive as one error and cycles as cycles, for generated graphs', (t) => {
  fc.assert(
    fc.property(withinDepth, (specs) => {
      const sent = buildGraph(specs)
      const wrong = graphDifference(sent, wire.decodeThrown(wire.encodeThrown(sent)))
      if (wrong !== null) throw new Error(wrong)
    }),
    { numRuns: 300 },
  )
  t.pass()
})

test('through a real worker too: a thrown graph arrives with its sharing and cycles', async (t) => {
  const pool = invoke.pool({ limit: 1 })
  t.teardown(() => pool.close({ force: true }))
  const mod = await invoke.require('./fixtures/throws-graph', { pool })
  await checkProperty(
    t,
    withinDepth,
    async (specs) => {
      const got = await mod.throwGraph(specs).then(
        () => null,
        (error) => error,
      )
      return got === null ? 'it resolved' : graphDifference(buildGraph(specs), got)
    },
    { runs: 60, msPerRun: 200 },
  )
})

test('an error shared at every level of a deep AggregateError costs one error per level each way', (t) => {
  // Each level's errors are [inner, inner]: 2^depth paths, depth distinct errors.
  let inner = new Error('leaf')
  for (let level = 0; level < THROWN_MAX_DEPTH; level++) inner = new AggregateError([inner, inner], `level ${level}`)
  const bytes = wire.encodeThrown(inner)
  t.true(bytes.length < 2048 * THROWN_MAX_DEPTH, `${bytes.length} bytes`)
  const got = wire.decodeThrown(bytes)
  let depth = 0
  for (let e = got; e instanceof AggregateError; e = e.errors[0], depth++) t.is(e.errors[0], e.errors[1])
  t.is(depth, THROWN_MAX_DEPTH)
})

test('past the bounds the worker sends what V8 clones: a chain longer than the depth keeps every message and native class', (t) => {
  let thrown = new Error('0')
  for (let i = 1; i < 3 * THROWN_MAX_DEPTH; i++) thrown = new (i % 2 ? TypeError : RangeError)(String(i), { cause: thrown })
  const chain = []
  for (let e = wire.decodeThrown(wire.encodeThrown(thrown)); e !== undefined; e = e.cause) chain.push(e)
  t.is(chain.length, 3 * THROWN_MAX_DEPTH)
  chain.forEach((e, depth) => {
    const i = 3 * THROWN_MAX_DEPTH - 1 - depth
    t.is(e.message, String(i))
    t.is(e.constructor, i === 0 ? Error : i % 2 ? TypeError : RangeError)
  })
})

test('an AggregateError of more errors than the bound arrives whole: those past it as V8 clones them', (t) => {
  const thrown = new AggregateError(
    Array.from({ length: THROWN_MAX_ERRORS + 50 }, (_, i) => new RangeError(`e${i}`)),
    'many',
  )
  const got = wire.decodeThrown(wire.encodeThrown(thrown))
  t.is(got.errors.length, THROWN_MAX_ERRORS + 50)
  t.true(got.errors.every((e, i) => e instanceof RangeError && e.message === `e${i}`))
})

const error = (fields = {}) => ({ kind: 'error', native: 'Error', name: 'Error', message: 'm', pid: 1, props: {}, ...fields })
const sparse = () => {
  const array = []
  array.length = 2 ** 32 - 1
  return array
}

/** Descriptions only a forger makes, each answered at once with ERR_INVOKE_BAD_ANSWER. */
const forgeries = {
  'nested deeper than the bound': () => {
    let d = error()
    for (let i = 0; i <= THROWN_MAX_DEPTH; i++) d = error({ native: 'AggregateError', errors: [d, d] })
    return d
  },
  'more errors than the bound': () => error({ native: 'AggregateError', errors: Array.from({ length: THROWN_MAX_ERRORS + 1 }, () => error()) }),
  'errors as a sparse array of 2^32 - 1': () => error({ native: 'AggregateError', errors: sparse() }),
  'a message that is a sparse array': () => error({ message: sparse() }),
  'a name that is a sparse array': () => error({ name: sparse() }),
  'a stack that is a sparse array': () => error({ stack: sparse() }),
  'dropped fields as a sparse array': () => error({ dropped: sparse() }),
  'a cause that describes nothing': () => error({ cause: 7 }),
  'fields that are not an object': () => error({ props: 'x' }),
  'no description at all': () => null,
  'one fields object shared by two errors': () => {
    const props = { code: 'x' }
    return error({ native: 'AggregateError', props, errors: [error({ props })] })
  },
  'one errors list shared by two errors': () => {
    const list = [error()]
    return error({ native: 'AggregateError', errors: [error({ native: 'AggregateError', errors: list }), error({ native: 'AggregateError', errors: list })] })
  },
  'one dropped list shared by two errors': () => {
    const dropped = ['f']
    return error({ dropped, cause: error({ dropped }) })
  },
}

for (const [what, forge] of Object.entries(forgeries)) {
  test(`a thrown value with ${what} is refused with ERR_INVOKE_BAD_ANSWER`, (t) => {
    const got = t.throws(() => wire.decodeThrown(v8.serialize(forge())))
    t.is(got.code, 'ERR_INVOKE_BAD_ANSWER')
  })
}

test('a pid that is not a number is left out of the stack, never made text', (t) => {
  const got = wire.decodeThrown(v8.serialize(error({ pid: sparse() })))
  t.regex(got.stack, /pid \?>$/)
})
