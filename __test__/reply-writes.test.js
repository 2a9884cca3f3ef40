'use strict'
// Answers larger than what the channel's socket takes at once (its buffer is set to 4 MiB in
// src/sys/linux.rs, which Linux doubles) leave in parts, and the answers behind them wait their
// turn: every answer arrives whole, to its own call.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')
const { jsonValue } = require('./helpers/arbitraries')
const { checkProperty, within, outcome, resolvedTo } = require('./helpers/fuzz')

const MiB = 1 << 20

const answer = fc.oneof(
  fc.record({ size: fc.integer({ min: 9 * MiB, max: 16 * MiB }), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ value: jsonValue }),
)

test('large answers and the small ones behind them arrive whole, each to its own call', async (t) => {
  const pool = freshPool(t, { limit: 1, minimum: 1 })
  const mod = await invoke.require('./fixtures/big-results', { pool })
  await checkProperty(
    t,
    fc.array(answer, { minLength: 2, maxLength: 6 }),
    async (answers) => {
      const got = await within(
        Promise.all(answers.map((a) => outcome('size' in a ? mod.filled(a.size, a.byte) : mod.echo(a.value)))),
        60000,
        'the answers',
      )
      for (const [i, a] of answers.entries()) {
        if (!('size' in a)) {
          const wrong = resolvedTo(got[i], a.value, `answer ${i}`)
          if (wrong) return wrong
          continue
        }
        const buffer = got[i].value
        if (!Buffer.isBuffer(buffer) || buffer.length !== a.size) return `answer ${i}: not a Buffer of ${a.size} bytes`
        if (buffer.some((byte) => byte !== a.byte)) return `answer ${i}: a byte is not ${a.byte}`
      }
      return null
    },
    { runs: 6, msPerRun: 5000 },
  )
})
