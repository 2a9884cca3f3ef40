'use strict'
// lib/wire.js in this process, no workers: what the parent encodes the worker decodes intact,
// and the other way round, for generated values of every kind the README lists.

const test = require('ava')
const fc = require('fast-check')
const wire = require('../lib/wire')
const { value, jsonValue, errorSpec } = require('./helpers/arbitraries')
const { buildError } = require('./helpers/error-spec')
const { valueDifference, thrownDifference } = require('./helpers/same-value')

const RUNS = { numRuns: 300 }

/** `bytes` inside a larger buffer, as a batch or a socket chunk holds a payload. */
function embedded(bytes, before, after) {
  const buffer = Buffer.alloc(before + bytes.length + after, 0xa5)
  buffer.set(bytes, before)
  return { buffer, start: before, end: before + bytes.length }
}

function asBytes(payload) {
  return typeof payload === 'string' ? Buffer.from(payload) : payload
}

test('a value encoded as a result decodes to its structured clone, from anywhere in a buffer', (t) => {
  fc.assert(
    fc.property(value, fc.nat(16), fc.nat(16), (sent, before, after) => {
      const { buffer, start, end } = embedded(wire.encode(sent, 'result'), before, after)
      const wrong = valueDifference(wire.decode(buffer, start, end), sent)
      if (wrong !== null) throw new Error(wrong)
    }),
    RUNS,
  )
  t.pass()
})

test('a call encodes to the method and arguments the worker decodes, JSON or not', (t) => {
  fc.assert(
    fc.property(fc.string(), fc.array(fc.oneof(value, jsonValue), { maxLength: 4 }), (method, args) => {
      const [gotMethod, gotArgs] = wire.decode(asBytes(wire.encodeCall(method, args)))
      if (gotMethod !== method) throw new Error(`method ${gotMethod} instead of ${method}`)
      const wrong = valueDifference(gotArgs, args)
      if (wrong !== null) throw new Error(wrong)
    }),
    RUNS,
  )
  t.pass()
})

test('a value decoded from lent bytes stays intact when the bytes are reused', (t) => {
  fc.assert(
    fc.property(fc.oneof(value, jsonValue), (sent) => {
      const { buffer, start, end } = embedded(wire.encode(sent, 'result'), 3, 3)
      const got = wire.decode(buffer, start, end, true)
      buffer.fill(0)
      const wrong = valueDifference(got, sent)
      if (wrong !== null) throw new Error(wrong)
    }),
    RUNS,
  )
  t.pass()
})

test('a thrown error decodes with its class, name, message, own properties and cause', (t) => {
  fc.assert(
    fc.property(errorSpec, (spec) => {
      const thrown = buildError(spec)
      const wrong = thrownDifference(wire.decodeThrown(wire.encodeThrown(thrown)), thrown)
      if (wrong !== null) throw new Error(wrong)
    }),
    RUNS,
  )
  t.pass()
})

test('a thrown value that is not an error decodes to a copy of it', (t) => {
  fc.assert(
    fc.property(value, (thrown) => {
      const wrong = thrownDifference(wire.decodeThrown(wire.encodeThrown(thrown)), thrown)
      if (wrong !== null) throw new Error(wrong)
    }),
    RUNS,
  )
  t.pass()
})

test('a function or symbol among the values is a TypeError with code ERR_INVOKE_UNSERIALIZABLE, never a payload', (t) => {
  fc.assert(
    fc.property(value, fc.constantFrom(() => {}, Symbol('s')), fc.nat(3), (around, bad, where) => {
      const sent = [around, around, around, around]
      sent[where] = { bad }
      try {
        wire.encode(sent, 'result')
      } catch (error) {
        if (!(error instanceof TypeError) || error.code !== 'ERR_INVOKE_UNSERIALIZABLE') throw error
        return
      }
      throw new Error('it encoded')
    }),
    RUNS,
  )
  t.pass()
})

test("whatever a worker's encode writes, the parent's decodeAnswer reads: JSON near its budgets stays under the bytes it allows", (t) => {
  const text = fc.string({ unit: 'binary', maxLength: 300 })
  const nearBudgets = fc.dictionary(text, fc.oneof(text, fc.double(), fc.integer()), { maxKeys: 40 })
  fc.assert(
    fc.property(fc.oneof(value, jsonValue, nearBudgets), (sent) => {
      const bytes = asBytes(wire.encode(sent, 'result', true))
      const wrong = valueDifference(wire.decodeAnswer(bytes), sent)
      if (wrong !== null) throw new Error(wrong)
    }),
    RUNS,
  )
  t.pass()
})
