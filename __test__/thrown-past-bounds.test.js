'use strict'
// An honest worker's thrown value past the rebuilt bounds (16 levels) arrives, however deep: the
// levels within them rebuilt, the rest as V8 clones them, and what V8 cannot clone (a chain too
// deep for its serializer, a cause that is a function) as one named stand-in. Found by attack: the
// worker sent its stand-in as an error description one level past the bound, which the parent
// refuses as forged (ERR_INVOKE_BAD_ANSWER), so a 3,000-deep cause chain or an 18th cause that is
// a function failed as a "broken answer" from a worker of this library.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { THROWN_MAX_DEPTH } = require('../lib/wire')
const { checkProperty } = require('./helpers/fuzz')
const { freshPool } = require('./helpers/pools')

const LEFT_OUT = /left out/

test('a cause chain of any length, ending in anything, arrives as an error chain (generated lengths and ends)', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const mod = await invoke.require('./fixtures/throws-deep-chain', { pool })
  const arbitrary = fc.record({
    length: fc.oneof(fc.integer({ min: 1, max: THROWN_MAX_DEPTH + 4 }), fc.integer({ min: 2000, max: 6000 })),
    end: fc.constantFrom('none', 'function', 'symbol', 'method', 'proxy'),
  })
  await checkProperty(
    t,
    arbitrary,
    async ({ length, end }) => {
      const got = await mod.throwChain({ length, end }).then(
        () => 'it resolved',
        (error) => error,
      )
      if (!(got instanceof Error)) return `it ended with ${String(got)}`
      if (got.code === 'ERR_INVOKE_BAD_ANSWER') return `refused as forged: ${got.message}`
      const chain = []
      for (let e = got; e instanceof Error && chain.length <= length + 1; e = e.cause) chain.push(e)
      // Each level down to where V8 stopped cloning keeps its message and class.
      for (let depth = 0; depth < chain.length; depth++) {
        const e = chain[depth]
        if (LEFT_OUT.test(e.message)) {
          if (depth <= THROWN_MAX_DEPTH && end === 'none') return `a stand-in at depth ${depth} for a chain V8 clones`
          return null
        }
        const i = length - 1 - depth
        // The chain's uncloneable end arrives as what stands for it (described within the bounds).
        if (i < 0) return end === 'none' ? `${e.constructor.name}: ${e.message} past the chain's end` : null
        if (e.message !== String(i)) return `depth ${depth}: message ${e.message}, expected ${i}`
        const expected = i === 0 ? Error : i % 2 ? TypeError : RangeError
        if (e.constructor !== expected) return `depth ${depth}: ${e.constructor.name}, expected ${expected.name}`
      }
      if (chain.length < length) return `${chain.length} levels arrived of ${length}, no stand-in for the rest`
      return null
    },
    { runs: 40, msPerRun: 500 },
  )
})
