'use strict'
// What a map chunk's message costs. Alone in its file: V8 lets an array literal's allocation
// site learn from what was stored in earlier arrays made there, and a test here that mapped
// numbers that are not small integers would make the chunks' arrays double arrays, nine bytes
// an element.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { checkProperty } = require('./helpers/fuzz')

test('a chunk costs what its items and results do: 1,000 small integers fit a 4 KiB message limit each way', async (t) => {
  // V8 writes an array it holds as having holes key by key: five bytes a small integer instead
  // of two, over the limit here. Arrays made by `new Array(n)` or by `.map()` are such arrays even
  // once filled; the chunk's items were sliced from one as they were, and the worker built its
  // results in one.
  const pool = invoke.pool({ limit: 2, maxMessageSize: 4096 })
  t.teardown(() => pool.close({ force: true }))
  const mod = await invoke.require('./fixtures/mapped', { pool })
  await checkProperty(
    t,
    fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 1000, maxLength: 1000 }),
    async (drawn) => {
      const items = new Array(drawn.length)
      // `| 0`: fast-check's integers are heap numbers, which V8 writes as doubles, nine bytes each.
      for (let i = 0; i < drawn.length; i++) items[i] = drawn[i] | 0
      const got = []
      for await (const square of invoke.map(mod.square, items, { chunk: 1000 })) got.push(square)
      return JSON.stringify(got) === JSON.stringify(items.map((x) => x * x)) ? null : `got ${JSON.stringify(got)}`
    },
    { runs: 20, msPerRun: 300 },
  )
})
