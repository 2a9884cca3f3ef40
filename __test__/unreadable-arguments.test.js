'use strict'
// Arguments and map items that throw when read (a getter, a Proxy's trap, a revoked Proxy) are a
// refusal to send, like a function among them: the call rejects with ERR_INVOKE_UNSERIALIZABLE
// whose `cause` is what reading threw, and in invoke.map that item alone fails, whatever the chunk
// size. Found by attack: the call rejected with the getter's own error (no code), which map took
// for the method's, failing every item of the chunk.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty } = require('./helpers/fuzz')
const { freshPool } = require('./helpers/pools')

const MAPPED = require.resolve('./fixtures/mapped')

/** Values that throw `thrown` when the encoder reads them (a revoked Proxy throws a TypeError of V8's own). */
const UNREADABLE = {
  getter: (thrown) => ({ ok: 1, get bad() { throw thrown } }),
  proxy: (thrown) => new Proxy({}, { get() { throw thrown }, ownKeys() { throw thrown }, getPrototypeOf() { throw thrown } }),
  nested: (thrown) => ({ list: [1, { get deep() { throw thrown } }] }),
  revoked: () => {
    const { proxy, revoke } = Proxy.revocable({}, {})
    revoke()
    return proxy
  },
}

test('a call whose argument throws when read rejects with ERR_INVOKE_UNSERIALIZABLE, caused by what it threw', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const mapped = await invoke.require(MAPPED, { pool })
  for (const [kind, make] of Object.entries(UNREADABLE)) {
    const thrown = new RangeError(`read ${kind}`)
    const error = await t.throwsAsync(mapped.same(make(thrown)), { instanceOf: TypeError, code: 'ERR_INVOKE_UNSERIALIZABLE' }, kind)
    if (kind !== 'revoked') t.is(error.cause, thrown, kind)
  }
  t.is(await mapped.same(7), 7)
})

test('in invoke.map an item that throws when read fails alone, at any chunk size (generated positions)', async (t) => {
  const pool = freshPool(t, { limit: 2 })
  const mapped = await invoke.require(MAPPED, { pool })
  const arbitrary = fc.record({
    items: fc.array(fc.option(fc.constantFrom(...Object.keys(UNREADABLE)), { freq: 4 }), { minLength: 1, maxLength: 60 }),
    chunk: fc.option(fc.integer({ min: 1, max: 64 })),
    ordered: fc.boolean(),
  })
  await checkProperty(
    t,
    arbitrary,
    async ({ items, chunk, ordered }) => {
      const thrown = new Error('unreadable')
      const sent = items.map((kind, i) => (kind === null ? i : UNREADABLE[kind](thrown)))
      const options = { settle: true, ordered, ...(chunk === null ? {} : { chunk }) }
      const outcomes = []
      for await (const outcome of invoke.map(mapped.same, sent, options)) outcomes.push(outcome)
      if (outcomes.length !== items.length) return `${outcomes.length} outcomes for ${items.length} items`
      const fulfilled = outcomes.filter((o) => o.status === 'fulfilled').map((o) => o.value)
      const expected = items.flatMap((kind, i) => (kind === null ? [i] : []))
      if (JSON.stringify(fulfilled.sort((a, b) => a - b)) !== JSON.stringify(expected)) return `fulfilled ${JSON.stringify(fulfilled)}, expected ${JSON.stringify(expected)}`
      const wrong = outcomes.find((o) => o.status === 'rejected' && o.reason?.code !== 'ERR_INVOKE_UNSERIALIZABLE')
      return wrong === undefined ? null : `an item failed with ${wrong.reason?.stack ?? wrong.reason}`
    },
    { runs: 40, msPerRun: 500 },
  )
})

test('an argument whose trap throws a value that throws when looked at still rejects the call, never throws', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const mapped = await invoke.require(MAPPED, { pool })
  const poisoned = new Proxy(new Error('poisoned'), { get() { throw new Error('again') }, getPrototypeOf() { throw new Error('again') } })
  const call = mapped.same(UNREADABLE.proxy(poisoned))
  const error = await t.throwsAsync(call, { instanceOf: TypeError, code: 'ERR_INVOKE_UNSERIALIZABLE' })
  t.is(error.cause, poisoned)
})
