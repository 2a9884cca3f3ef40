'use strict'
// Captured output reaches `output` line by line; a line longer than 64 KiB in pieces of 64 KiB
// (never splitting a character). Generated lines around that size, under each driver: the
// pieces join back into what the worker wrote, none is longer than 64 KiB, and a line of exactly
// 64 KiB (or a multiple) is not followed by an empty line that was never written.

const assert = require('node:assert/strict')
const test = require('ava')
const fc = require('fast-check')
const invoke = require('..')
const { poolOnDriver, DRIVERS } = require('./helpers/pools')

const PIECE = 64 * 1024
const CHARACTERS = ['a', 'é', '€', '😀']

/** A line's shape: its size in bytes from a multiple of 64 KiB, and the character of its end. */
const shape = fc.tuple(fc.integer({ min: -4, max: 4 }), fc.integer({ min: 1, max: 2 }), fc.constantFrom(...CHARACTERS))

/** The line of that shape: filler, then a run of the character across the piece boundary. */
function lineOf([offset, pieces, character]) {
  const bytes = pieces * PIECE + offset
  const tail = character.repeat(Math.min(4, Math.floor(bytes / Buffer.byteLength(character))))
  return 'x'.repeat(bytes - Buffer.byteLength(tail)) + tail
}

for (const driver of DRIVERS) {
  test(`${driver}: lines around 64 KiB come in pieces that join back into them, with no empty line added`, async (t) => {
    await fc.assert(
      fc.asyncProperty(fc.array(shape, { minLength: 1, maxLength: 3 }), async (shapes) => {
        const lines = shapes.map(lineOf)
        const heard = []
        const pool = poolOnDriver(t, driver, { output: (piece) => heard.push(piece) })
        const printer = await invoke.require('./fixtures/printer', { pool })
        await printer.raw(lines.map((text) => `${text}\n`).join(''))
        await pool.close()
        assert.ok(heard.every((piece) => Buffer.byteLength(piece) <= PIECE), 'no piece over 64 KiB')
        assert.equal(heard.join(''), lines.join(''), 'the pieces join back into the lines')
        assert.deepEqual(heard.filter((piece) => piece === ''), [], 'no empty line: none was written')
      }),
      // A line of exactly 64 KiB, and one of 128 KiB ending in a whole 4-byte character, always.
      { numRuns: 8, examples: [[[[0, 1, 'a']]], [[[0, 2, '😀']]]] },
    )
    t.pass()
  })
}
