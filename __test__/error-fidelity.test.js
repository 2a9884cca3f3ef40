'use strict'
// A worker's error arrives as thrown: its message untouched when parts of it cannot cross (named
// in droppedProperties alone), and a syntax error names its file and line whatever the module system.

const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { freshPool } = require('./helpers/pools')

test('an error with a toJSON class field arrives with its message exactly as thrown', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const mod = await invoke.require('./fixtures/throws-with-functions', { pool })
  const error = await t.throwsAsync(mod.throwSerializable('went wrong'))
  t.is(error.message, 'went wrong')
  t.deepEqual(error.droppedProperties, ['toJSON'])
  t.false('toJSON' in error)
})

test('any message, any function-valued properties: the message arrives exactly, the properties are named in droppedProperties', async (t) => {
  t.timeout(60000)
  const pool = freshPool(t, { limit: 1 })
  const mod = await invoke.require('./fixtures/throws-with-functions', { pool })
  const key = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 8 })
    .filter((k) => !['message', 'stack', 'name', 'cause', 'errors', 'code'].includes(k))
  await fc.assert(
    fc.asyncProperty(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uniqueArray(key, { maxLength: 4 }),
      async (message, keys) => {
        const error = await mod.throwWith(message, keys).then(
          () => null,
          (e) => e,
        )
        return (
          error instanceof TypeError &&
          error.message === message &&
          (keys.length === 0
            ? error.droppedProperties === undefined
            : JSON.stringify(error.droppedProperties) === JSON.stringify(keys))
        )
      },
    ),
    { numRuns: 60 },
  )
  t.pass()
})

for (const [fixture, kind, line, text] of [
  ['syntax-error.mjs', 'an ES module', 3, 'export const broken = ;'],
  ['syntax-error.js', 'a CommonJS module', 3, 'const broken = ;'],
  // Only where Node does not strip types itself (Node 20; 22.18+, 24 and 26 load this file).
  ...(process.features.typescript ? [] : [['typed-without-loader.ts', 'a .ts file without a loader', 2, 'export const typed: number = 1']]),
]) {
  test(`a syntax error in ${kind} rejects with a SyntaxError whose stack names the file and line`, async (t) => {
    const pool = freshPool(t, { limit: 1 })
    const error = await t.throwsAsync(invoke.require(`./fixtures/${fixture}`, { pool }), { instanceOf: SyntaxError })
    t.true(error.stack.includes(`${fixture}:${line}\n${text}\n`), error.stack)
    // The pool is fine afterwards.
    const echo = await invoke.require('./fixtures/echo', { pool })
    t.is(await echo.add(1, 2), 3)
  })
}

test('a SyntaxError a module throws while running keeps its own stack: no location is made up for it', async (t) => {
  const pool = freshPool(t, { limit: 1 })
  const error = await t.throwsAsync(invoke.require('./fixtures/throws-syntax-error-at-run', { pool }), {
    instanceOf: SyntaxError,
  })
  t.regex(error.stack, /^SyntaxError: /)
  t.regex(error.stack, /JSON\.parse/)
})
